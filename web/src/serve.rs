//! `bridge serve`: start the media plane, signaling and HTTP; print where to go;
//! on Ctrl-C / SIGTERM say `bye` to every session, stop the media plane, exit 0.

use crate::cli::ServeArgs;
use crate::http_serve::{HttpLimits, serve};
use crate::router::{AppState, app};
use anyhow::Context;
use bridge_scheduler::accounts::SessionPolicy;
use bridge_scheduler::documents::DocumentStore;
use bridge_sfu::SfuConfig;
use bridge_signaling::{MediaPlane, Signaling, SignalingConfig};
use bridge_token::TokenKey;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use bridge_sfu::{Sfu, SfuHandle};

/// Below this many open files a conference of a province's 221 sites (a few sockets
/// each) and its web pages may run out.
const MIN_OPEN_FILES: u64 = 4096;

/// The WebRTC crates log every dropped packet with its bytes, and the ICE agent
/// warns twice every 200 ms for a connection whose client never sent a candidate:
/// one stuck hall must not flood the log.
const DEFAULT_LOG: &str = "info,rtc=warn,rtc_ice=error,rtc_dtls=error,webrtc=warn";

pub fn main(args: ServeArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG));
    // stdout is for people and for the test harness; logs go to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run(args))
}

/// Whole seconds, as the database stores times (parsed durations are whole seconds).
fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Where media binds and what it announces: the HTTP address decides reachability
/// (loopback stays loopback), unless a public IP is given. The HTTPS port, when there
/// is one, carries ICE-TCP too.
fn sfu_config(args: &ServeArgs, https: Option<SocketAddr>) -> SfuConfig {
    let ip = match args.public_ip {
        Some(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None => args.http.ip(),
    };
    let tcp_port = args.tcp_port.unwrap_or(args.media_port);
    SfuConfig {
        udp_bind: SocketAddr::new(ip, args.media_port),
        tcp_bind: Some(SocketAddr::new(ip, tcp_port)),
        shared_tcp_ports: https.map(|a| a.port()).into_iter().collect(),
        announce_ips: args.public_ip.into_iter().collect(),
        ..SfuConfig::default()
    }
}

/// The address people type: the public IP, else the one the server listens on.
fn public_host(args: &ServeArgs, bound: SocketAddr) -> String {
    let ip = args
        .public_ip
        .or(Some(bound.ip()).filter(|ip| !ip.is_unspecified()))
        .or(Some(args.http.ip()).filter(|ip| !ip.is_unspecified()));
    match ip {
        Some(IpAddr::V6(v6)) => format!("[{v6}]"),
        Some(ip) => ip.to_string(),
        None => "localhost".to_owned(),
    }
}

/// The names the self-signed certificate covers: localhost, loopback, every address
/// the server is reached at, and the `--tls-name`s.
fn self_signed_names(args: &ServeArgs, https: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ips = [Some(https.ip()), Some(args.http.ip()), args.public_ip];
    for ip in ips.into_iter().flatten() {
        if !ip.is_unspecified() {
            names.push(ip.to_string());
        }
    }
    names.extend(args.tls_names.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The certificate HTTPS presents, loaded (or made) before anything listens.
fn certificate(
    args: &ServeArgs,
    https: SocketAddr,
) -> anyhow::Result<(Arc<crate::tls::CertStore>, crate::tls::CertSummary)> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => crate::tls::serve_files(crate::tls::CertFiles {
            cert: cert.clone(),
            key: key.clone(),
        })
        .context("--tls-cert/--tls-key"),
        _ => crate::tls::self_signed(&args.data.dir.join("tls"), &self_signed_names(args, https))
            .context("the self-signed certificate (--tls self-signed)"),
    }
}

async fn run(args: ServeArgs) -> anyhow::Result<()> {
    match crate::http_serve::raise_open_file_limit() {
        Some(n) if n < MIN_OPEN_FILES => tracing::warn!(
            open_files = n,
            "the open-file limit is low for a conference server; raise it (docs/operations.md)"
        ),
        Some(_) => {}
        None => tracing::warn!("could not read or raise the open-file limit"),
    }
    std::fs::create_dir_all(&args.data.dir)
        .with_context(|| format!("creating the data directory {}", args.data.dir.display()))?;
    let key = TokenKey::load_or_create(&args.data.dir)
        .context("loading the token secret")?
        .with_max_lifetime(args.max_token_lifetime);
    // Before anything starts: a bad certificate must stop the server, not the first signature.
    let signer = match &args.signing_p12 {
        Some(path) => {
            let password = std::env::var("BRIDGE_SIGNING_P12_PASSWORD").unwrap_or_default();
            Some(crate::api::load_signer(path, &password).context("--signing-p12")?)
        }
        None => None,
    };
    let db = crate::sched::open(&args.data)
        .await?
        .with_session_policy(SessionPolicy {
            idle: secs(args.session_idle),
            max: secs(args.session_max),
        });
    let accounts = crate::sched::seed_first_run(&db).await?;

    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("listening on {}", args.http))?;
    let http = listener.local_addr()?;
    let https_listener = if args.tls_on() {
        Some(
            tokio::net::TcpListener::bind(args.https_addr())
                .await
                .with_context(|| format!("listening for HTTPS on {}", args.https_addr()))?,
        )
    } else {
        None
    };
    let https = https_listener
        .as_ref()
        .map(|l| l.local_addr())
        .transpose()?;
    let tls = match https {
        Some(addr) => Some(certificate(&args, addr)?),
        None => None,
    };

    let config = sfu_config(&args, https);
    let sfu: SfuHandle = Sfu::start(config.clone())
        .await
        .with_context(|| format!("starting the media plane on {}", config.udp_bind))?;
    let media: Arc<dyn MediaPlane> = Arc::new(sfu.clone());
    let signaling = Signaling::new(SignalingConfig::for_sfu(&config), media, key.clone());
    let attendance = crate::attendance::AttendanceRecorder::start(db.clone()).await;
    let recorder =
        crate::recording::MeetingRecorder::start(db.clone(), sfu.clone(), args.data.dir.clone())
            .await;
    signaling.set_directory(Arc::new(crate::rooms::SchedulerRooms {
        db: db.clone(),
        attendance: Some(attendance),
        recorder: Some(recorder),
    }));

    let tcp = sfu
        .tcp_addr()
        .map_or_else(|| "none".to_owned(), |a| a.to_string());
    let base = args.base_url.clone().unwrap_or_else(|| match https {
        Some(a) if a.port() == 443 => format!("https://{}", public_host(&args, a)),
        Some(a) => format!("https://{}:{}", public_host(&args, a), a.port()),
        None => format!("http://{http}"),
    });
    // Whoever started us may have closed our stdout (`bridge serve | head`): the
    // server goes on, and the logs say so.
    let listening = Listening {
        http,
        udp: sfu.udp_addr(),
        tcp: &tcp,
        https,
        cert: tls.as_ref().map(|(_, summary)| summary),
    };
    if let Err(e) = print_banner(&key, &listening, &base, !accounts.is_empty()) {
        tracing::warn!(error = %e, "could not print the start banner");
    }
    if let Err(e) = print_accounts(&accounts, &base) {
        tracing::warn!(error = %e, "could not print the demo accounts");
    }

    let mut api = crate::api::ApiState::new(db, key.clone(), &base);
    api.documents = Some(
        DocumentStore::open(
            &args.data.dir.join("documents"),
            args.max_upload_mb * 1024 * 1024,
        )
        .context("opening the documents folder")?,
    );
    api.data_dir = Some(args.data.dir.clone());
    api.signer = signer;
    api.signaling = Some(signaling.clone());
    if let Some(url) = &args.smtp_url {
        api.mail = Some(
            bridge_scheduler::mail::MailQueue::start(url, &args.smtp_from)
                .context("configuring SMTP (--smtp-url)")?,
        );
        tracing::info!("invitations are e-mailed through the configured SMTP server");
    }
    let router = app(AppState {
        signaling: signaling.clone(),
    })
    .nest("/api", crate::api::router(api))
    .layer(axum::middleware::from_fn(crate::security::same_origin))
    .layer(axum::middleware::from_fn(crate::security::headers));
    let limits = HttpLimits::default();
    let stopping = signaling.clone();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing every session");
        stopping.shutdown().await;
    };
    match (https_listener, tls) {
        (Some(https_listener), Some((certs, _))) => {
            let host = public_host(&args, http);
            let port = https.map_or(443, |a| a.port());
            // Plain HTTP only sends people to HTTPS; it ends with the process.
            let redirect = crate::listen::redirect_to_https(port, host);
            tokio::spawn(serve(listener, redirect, limits, std::future::pending()));
            let incoming = crate::listen::https(https_listener, certs.server_config(), sfu.clone())
                .context("the HTTPS listener")?;
            serve(incoming, router, limits, shutdown).await;
        }
        _ => serve(listener, router, limits, shutdown).await,
    }
    sfu.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Where the server listens, for the start banner.
struct Listening<'a> {
    http: SocketAddr,
    udp: SocketAddr,
    tcp: &'a str,
    https: Option<SocketAddr>,
    cert: Option<&'a crate::tls::CertSummary>,
}

fn print_banner(
    key: &TokenKey,
    at: &Listening<'_>,
    base: &str,
    first_run: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let Listening { http, udp, tcp, .. } = at;
    // Machine-readable first line: the test harness parses it.
    match at.https {
        Some(https) => writeln!(
            out,
            "listening http={http} udp={udp} tcp={tcp} https={https}"
        )?,
        None => writeln!(out, "listening http={http} udp={udp} tcp={tcp}")?,
    }
    if let Some(cert) = at.cert {
        if !cert.names.is_empty() {
            writeln!(
                out,
                "HTTPS: chứng chỉ tự ký / self-signed certificate for {}",
                cert.names.join(", ")
            )?;
        }
        writeln!(out, "  SHA-256 {}", cert.fingerprint)?;
        if let Some(spki) = &cert.spki_sha256 {
            writeln!(out, "  SPKI SHA-256 (base64) {spki}")?;
        }
    }
    writeln!(
        out,
        "Mở trình duyệt / Open: {}/",
        base.trim_end_matches('/')
    )?;
    // A chair link in every start's output would reach whoever reads the logs: only the
    // first run prints them; `bridge demo-links` prints them again on demand.
    if first_run {
        for line in crate::cli::demo_links(key, base)? {
            writeln!(out, "{line}")?;
        }
    } else {
        writeln!(
            out,
            "Phòng họp thử / Demo room: `bridge demo-links` in liên kết / prints its links"
        )?;
    }
    out.flush()?;
    Ok(())
}

/// The scheduler's pages and, on first run only, the accounts with their passwords.
fn print_accounts(accounts: &[String], base: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Lịch họp / Scheduler: {}/static/login.html  (API: /api/openapi.json)",
        base.trim_end_matches('/')
    )?;
    for line in accounts {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

//! `bridge serve`: start the media plane, signaling and HTTP; print where to go;
//! on Ctrl-C / SIGTERM say `bye` to every session, stop the media plane, exit 0.

use crate::cli::{ServeArgs, join_url, now_unix};
use crate::router::{AppState, app};
use anyhow::Context;
use bridge_scheduler::documents::DocumentStore;
use bridge_sfu::SfuConfig;
use bridge_signaling::{MediaPlane, Signaling, SignalingConfig};
use bridge_token::{Grant, Role, TokenKey};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

use bridge_sfu::{Sfu, SfuHandle};

/// The demo room and its two links, valid this long.
const DEMO_ROOM: &str = "demo";
const DEMO_TTL: Duration = Duration::from_secs(12 * 3600);
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

/// Where media binds and what it announces: the HTTP address decides reachability
/// (loopback stays loopback), unless a public IP is given.
fn sfu_config(args: &ServeArgs) -> SfuConfig {
    let ip = match args.public_ip {
        Some(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        None => args.http.ip(),
    };
    let tcp_port = args.tcp_port.unwrap_or(args.media_port);
    SfuConfig {
        udp_bind: SocketAddr::new(ip, args.media_port),
        tcp_bind: Some(SocketAddr::new(ip, tcp_port)),
        announce_ips: args.public_ip.into_iter().collect(),
        ..SfuConfig::default()
    }
}

async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data.dir)
        .with_context(|| format!("creating the data directory {}", args.data.dir.display()))?;
    let key = TokenKey::load_or_create(&args.data.dir).context("loading the token secret")?;
    // Before anything starts: a bad certificate must stop the server, not the first signature.
    let signer = match &args.signing_p12 {
        Some(path) => {
            let password = std::env::var("BRIDGE_SIGNING_P12_PASSWORD").unwrap_or_default();
            Some(crate::api::load_signer(path, &password).context("--signing-p12")?)
        }
        None => None,
    };
    let db = crate::sched::open(&args.data).await?;
    let accounts = crate::sched::seed_first_run(&db).await?;

    let config = sfu_config(&args);
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

    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("listening on {}", args.http))?;
    let http = listener.local_addr()?;
    let tcp = sfu
        .tcp_addr()
        .map_or_else(|| "none".to_owned(), |a| a.to_string());
    let base = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{http}"));
    // Whoever started us may have closed our stdout (`bridge serve | head`): the
    // server goes on, and the logs say so.
    if let Err(e) = print_banner(&key, http, sfu.udp_addr(), &tcp, &base) {
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
    .nest("/api", crate::api::router(api));
    let stopping = signaling.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing every session");
            stopping.shutdown().await;
        })
        .await
        .context("serving HTTP")?;
    sfu.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

fn print_banner(
    key: &TokenKey,
    http: SocketAddr,
    udp: SocketAddr,
    tcp: &str,
    base: &str,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    // Machine-readable first line: the test harness parses it.
    writeln!(out, "listening http={http} udp={udp} tcp={tcp}")?;
    writeln!(
        out,
        "Mở trình duyệt / Open: {}/",
        base.trim_end_matches('/')
    )?;
    writeln!(
        out,
        "Phòng họp thử / Demo room \"{DEMO_ROOM}\" (links valid 12 h):"
    )?;
    for (name, role) in [
        ("Tỉnh Phú Thọ", Role::Chair),
        ("Xã Thanh Sơn", Role::Member),
    ] {
        let grant = Grant {
            room: DEMO_ROOM.into(),
            name: name.into(),
            role,
            unit: None,
        };
        let token = key.mint(grant, now_unix(), DEMO_TTL)?;
        writeln!(
            out,
            "  {name} ({role}): {}",
            join_url(base, DEMO_ROOM, &token)
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

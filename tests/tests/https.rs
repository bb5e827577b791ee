//! HTTPS as an operator sets it up: a self-signed certificate for a pilot, or PEM files
//! that are renewed while the bridge runs; plain HTTP only redirects. Certificates are
//! made and read by OpenSSL, an independent implementation.

use anyhow::{Context, ensure};
use bridge_e2e::readers;
use bridge_e2e::sched_pages::{PASSWORD, add_user};
use bridge_e2e::server::BridgeServer;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
    let out = readers::openssl(args, stdin.unwrap_or_default())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A certificate for 127.0.0.1 made by OpenSSL; returns its SHA-256 fingerprint.
fn make_cert(cert: &Path, key: &Path, cn: &str) -> anyhow::Result<String> {
    let (cert_s, key_s) = (cert.to_string_lossy(), key.to_string_lossy());
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            &key_s,
            "-out",
            &cert_s,
        ],
        None,
    )?;
    fingerprint_of_file(cert)
}

fn fingerprint_of_file(cert: &Path) -> anyhow::Result<String> {
    let out = openssl(
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            &cert.to_string_lossy(),
        ],
        None,
    )?;
    parse_fingerprint(&out)
}

fn parse_fingerprint(out: &str) -> anyhow::Result<String> {
    out.lines()
        .find_map(|l| {
            l.split_once("Fingerprint=")
                .map(|(_, f)| f.trim().to_owned())
        })
        .with_context(|| format!("no fingerprint in {out:?}"))
}

/// The fingerprint of the certificate the server presents now, as OpenSSL sees it.
fn served_fingerprint(addr: std::net::SocketAddr) -> anyhow::Result<String> {
    let pem = openssl(&["s_client", "-connect", &addr.to_string()], Some(b""))?;
    let out = openssl(
        &["x509", "-noout", "-fingerprint", "-sha256"],
        Some(pem.as_bytes()),
    )?;
    parse_fingerprint(&out)
}

async fn wait_for_fingerprint(
    addr: std::net::SocketAddr,
    want: &str,
    within: Duration,
    what: &str,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    loop {
        let got = served_fingerprint(addr)?;
        if got == want {
            return Ok(start.elapsed());
        }
        ensure!(
            start.elapsed() < within,
            "{what}: still serving {got} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn self_signed_https_serves_the_pages_and_plain_http_redirects() -> anyhow::Result<()> {
    let server =
        BridgeServer::start_with(&["--tls", "self-signed", "--https", "127.0.0.1:0"]).await?;
    let https = server.https.context("no https= in the listening line")?;

    // The certificate kept in the data directory is the one served, and a client that
    // trusts it alone (as a hall told its fingerprint would) verifies the address.
    let cert_file = server.data_dir().join("tls/self-signed-cert.pem");
    ensure!(
        fingerprint_of_file(&cert_file)? == served_fingerprint(https)?,
        "the served certificate is not the one kept in the data directory"
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert_file)?)?;
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = trusting
        .get(format!("https://{https}/static/login.html"))
        .send()
        .await?;
    ensure!(
        page.status() == 200,
        "login page over HTTPS: {}",
        page.status()
    );
    // Not framed by other sites, no join token sent on in Referer, only our scripts.
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    ensure!(
        header("referrer-policy") == "no-referrer",
        "Referrer-Policy"
    );
    let csp = header("content-security-policy");
    ensure!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "CSP: {csp}"
    );

    // Plain HTTP answers every path with a redirect to the same path on HTTPS.
    let plain = trusting
        .get(format!("http://{}/r/demo?t=abc", server.http))
        .send()
        .await?;
    ensure!(plain.status() == 308, "plain HTTP: {}", plain.status());
    let location = plain
        .headers()
        .get("location")
        .context("no Location")?
        .to_str()?;
    ensure!(
        location == format!("https://127.0.0.1:{}/r/demo?t=abc", https.port()),
        "redirected to {location}"
    );
    let health = trusting
        .get(format!("http://{}/healthz", server.http))
        .send()
        .await?;
    ensure!(
        health.status() == 308,
        "plain HTTP serves /healthz: {}",
        health.status()
    );

    // A page of another origin (a sibling host of the same site, whose requests would
    // carry the SameSite=Strict cookie) may not change anything.
    add_user(&server, "vp.thu", "secretary", "25")?;
    let forged = trusting
        .post(format!("https://{https}/api/auth/login"))
        .header("origin", "https://tin.phutho.gov.vn")
        .json(&serde_json::json!({"username": "vp.thu", "password": PASSWORD}))
        .send()
        .await?;
    ensure!(
        forged.status() == 403,
        "cross-origin POST: {}",
        forged.status()
    );

    // A session cookie made over HTTPS (from the page itself) is Secure.
    let login = trusting
        .post(format!("https://{https}/api/auth/login"))
        .header("origin", format!("https://{https}"))
        .json(&serde_json::json!({"username": "vp.thu", "password": PASSWORD}))
        .send()
        .await?;
    ensure!(login.status().is_success(), "login: {}", login.status());
    let cookie = login
        .headers()
        .get("set-cookie")
        .context("no session cookie")?
        .to_str()?;
    ensure!(
        cookie.contains("Secure"),
        "session cookie without Secure: {cookie}"
    );

    // Join links printed by `bridge token` use the HTTPS base.
    let link = server.join_url("demo", "Xã Thanh Sơn", "member");
    ensure!(
        link.starts_with(&format!("https://{https}/r/demo?t=")),
        "{link}"
    );
    Ok(())
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = make_cert(&cert, &key, "first")?;
    let server = BridgeServer::start_with(&[
        "--https",
        "127.0.0.1:0",
        "--tls-cert",
        &cert.to_string_lossy(),
        "--tls-key",
        &key.to_string_lossy(),
    ])
    .await?;
    let https = server.https.context("no https= in the listening line")?;
    ensure!(
        served_fingerprint(https)? == first,
        "the given certificate is not served"
    );

    // Renewed, and the operator (or certbot's deploy hook) sends SIGHUP.
    let second = make_cert(&cert, &key, "second")?;
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP");
    let took = wait_for_fingerprint(https, &second, Duration::from_secs(5), "after SIGHUP").await?;
    eprintln!("renewed certificate served {took:?} after SIGHUP");

    // Renewed again, nobody signals: the files' change is noticed by itself.
    let third = make_cert(&cert, &key, "third")?;
    let took = wait_for_fingerprint(
        https,
        &third,
        Duration::from_secs(20),
        "after a file change",
    )
    .await?;
    eprintln!("renewed certificate served {took:?} after the files changed");

    // A broken renewal (a key of another certificate) keeps the working one.
    let other = tempfile::tempdir()?;
    make_cert(
        &other.path().join("c.pem"),
        &other.path().join("k.pem"),
        "stray",
    )?;
    std::fs::copy(other.path().join("k.pem"), &key)?;
    Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    ensure!(server.is_alive(), "a broken renewal stopped the server");
    ensure!(
        served_fingerprint(https)? == third,
        "a broken renewal replaced the certificate"
    );
    Ok(())
}

//! The shared test harness: runs the real `bridge` binary on loopback, on ports the
//! kernel picks, with a throw-away data directory.
//!
//! The binary is the one cargo built next to the test executable
//! (`target/<profile>/bridge`); `BRIDGE_BIN` overrides that. `cargo test -p bridge-e2e`
//! alone does not rebuild it (a test package cannot depend on another package's binary
//! on stable cargo), so run `cargo build -p bridge-web` first, or `cargo test --workspace`.

use anyhow::{Context, anyhow, bail};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to bind and answer /healthz on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One running `bridge serve`, killed and reaped on drop.
pub struct BridgeServer {
    pub http: SocketAddr,
    pub udp: SocketAddr,
    pub tcp: Option<SocketAddr>,
    /// The HTTPS listener (shared with ICE-TCP), when started with TLS.
    pub https: Option<SocketAddr>,
    child: Mutex<Child>,
    data: tempfile::TempDir,
}

impl BridgeServer {
    /// Starts `bridge serve --data TMP --http 127.0.0.1:0 --media-port 0` and waits until
    /// it printed its `listening ...` line and `GET /healthz` answers 200.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// Like [`BridgeServer::start`], with extra arguments appended to `bridge serve`.
    pub async fn start_with(extra_args: &[&str]) -> anyhow::Result<Self> {
        Self::start_with_env(extra_args, &[]).await
    }

    /// The server as a hall on another network meets it: HTTPS with its self-signed
    /// certificate on `ip:443` (media announced on `ip`), and the Chromium switch that
    /// pins that certificate by the public-key hash OpenSSL computes from the file the
    /// server keeps.
    pub async fn start_https_on(ip: std::net::Ipv4Addr) -> anyhow::Result<(Self, String)> {
        let ip = ip.to_string();
        let https = format!("{ip}:443");
        let server = Self::start_with(&[
            "--tls",
            "self-signed",
            "--https",
            &https,
            "--public-ip",
            &ip,
        ])
        .await?;
        let pin = crate::readers::spki_sha256_base64(
            &server.data_dir().join("tls/self-signed-cert.pem"),
        )?;
        Ok((
            server,
            format!("--ignore-certificate-errors-spki-list={pin}"),
        ))
    }

    /// Like [`BridgeServer::start_with`], with environment variables for the server
    /// (a certificate's password, say, which is never a command-line argument).
    pub async fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let bin = bridge_bin()?;
        let data = tempfile::Builder::new().prefix("bridge-e2e-").tempdir()?;
        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .arg("--data")
            .arg(data.path())
            .args(["--http", "127.0.0.1:0", "--media-port", "0"])
            .args(extra_args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let pid = child.id();

        // Both pipes must be drained for the whole life of the server, or it blocks on
        // a full pipe; the lines go to the test's (captured) stderr.
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(out) = child.stdout.take() {
            forward_lines(out, format!("[bridge {pid} out]"), Some(tx));
        }
        if let Some(err) = child.stderr.take() {
            forward_lines(err, format!("[bridge {pid} err]"), None);
        }

        // From here on, dropping `server` kills the child.
        let mut server = BridgeServer {
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            udp: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp: None,
            https: None,
            child: Mutex::new(child),
            data,
        };

        let deadline = Instant::now() + START_TIMEOUT;
        let line = wait_for_listening(&rx, deadline, &server)?;
        let (http, udp, tcp) = parse_listening(&line)?;
        server.http = http;
        server.udp = udp;
        server.tcp = tcp;
        server.https = parse_https(&line);

        // Readiness only: a self-signed certificate is the test's to check, not this loop's.
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()?;
        let url = format!("{}/healthz", server.base_url());
        loop {
            if let Ok(resp) = client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                && resp.status() == reqwest::StatusCode::OK
            {
                break;
            }
            if !server.is_alive() {
                bail!("bridge exited before /healthz answered");
            }
            if Instant::now() > deadline {
                bail!("GET {url} did not answer 200 within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// What people open: the HTTPS address when the server has one, else `http_url`.
    pub fn base_url(&self) -> String {
        match self.https {
            Some(https) => format!("https://{https}"),
            None => self.http_url(),
        }
    }

    /// `ws://127.0.0.1:PORT/ws`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.http)
    }

    /// The server's data directory (holds the token secret and the database).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.lock().map(|c| c.id()).unwrap_or(0)
    }

    /// True while the server process has not exited.
    pub fn is_alive(&self) -> bool {
        match self.child.lock() {
            Ok(mut c) => matches!(c.try_wait(), Ok(None)),
            Err(_) => false,
        }
    }

    /// A join token from `bridge token` (default lifetime). Panics if the CLI fails:
    /// this is test set-up, and the message says what went wrong.
    pub fn token(&self, room: &str, name: &str, role: &str) -> String {
        self.token_with_ttl(room, name, role, None)
            .unwrap_or_else(|e| panic!("bridge token failed: {e:#}"))
    }

    /// The join URL `http://127.0.0.1:PORT/r/ROOM?t=TOKEN` that `bridge token` prints.
    pub fn join_url(&self, room: &str, name: &str, role: &str) -> String {
        self.join_url_with_ttl(room, name, role, None)
            .unwrap_or_else(|e| panic!("bridge token failed: {e:#}"))
    }

    /// A token with an explicit `--ttl` (e.g. `"1s"`), for expiry tests.
    pub fn token_with_ttl(
        &self,
        room: &str,
        name: &str,
        role: &str,
        ttl: Option<&str>,
    ) -> anyhow::Result<String> {
        let url = self.join_url_with_ttl(room, name, role, ttl)?;
        token_from_url(&url).ok_or_else(|| anyhow!("no ?t= in join URL {url:?}"))
    }

    /// A token that speaks for an administrative `unit` (its `unit` claim).
    pub fn token_for_unit(
        &self,
        room: &str,
        name: &str,
        role: &str,
        unit: Option<&str>,
    ) -> anyhow::Result<String> {
        let url = self.join_url_for(room, name, role, None, unit)?;
        token_from_url(&url).ok_or_else(|| anyhow!("no ?t= in join URL {url:?}"))
    }

    /// Runs `bridge token --data TMP --room R --name N --role ROLE [--ttl T] --base-url ...`
    /// and returns the last line it printed.
    pub fn join_url_with_ttl(
        &self,
        room: &str,
        name: &str,
        role: &str,
        ttl: Option<&str>,
    ) -> anyhow::Result<String> {
        self.join_url_for(room, name, role, ttl, None)
    }

    fn join_url_for(
        &self,
        room: &str,
        name: &str,
        role: &str,
        ttl: Option<&str>,
        unit: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut cmd = Command::new(bridge_bin()?);
        cmd.arg("token")
            .arg("--data")
            .arg(self.data.path())
            .args(["--room", room, "--name", name, "--role", role])
            .args(["--base-url", &self.base_url()]);
        if let Some(ttl) = ttl {
            cmd.args(["--ttl", ttl]);
        }
        if let Some(unit) = unit {
            cmd.args(["--unit", unit]);
        }
        let out = cmd.stdin(Stdio::null()).output()?;
        if !out.status.success() {
            bail!(
                "bridge token exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("bridge token printed nothing"))
    }
}

impl Drop for BridgeServer {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `bridge` binary: `$BRIDGE_BIN`, else `target/<profile>/bridge` found from the
/// test executable (`target/<profile>/deps/x` or `target/<profile>/examples/x`).
pub fn bridge_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("BRIDGE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent();
    while let Some(d) = dir {
        let candidate = d.join("bridge");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
        if d.file_name().is_some_and(|n| n == "target") {
            break;
        }
    }
    bail!(
        "no `bridge` binary next to {}: run `cargo build -p bridge-web` first or set BRIDGE_BIN",
        exe.display()
    )
}

/// The `t` query parameter of a join URL.
pub fn token_from_url(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("t="))
        .map(str::to_owned)
}

fn forward_lines<R: Read + Send + 'static>(
    pipe: R,
    prefix: String,
    tx: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            eprintln!("{prefix} {line}");
            if let Some(tx) = &tx
                && line.trim_start().starts_with("listening ")
            {
                let _ = tx.send(line);
            }
        }
    });
}

fn wait_for_listening(
    rx: &mpsc::Receiver<String>,
    deadline: Instant,
    server: &BridgeServer,
) -> anyhow::Result<String> {
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => return Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !server.is_alive() {
                    bail!("bridge exited before printing `listening ...`");
                }
                if Instant::now() > deadline {
                    bail!("bridge did not print `listening ...` within {START_TIMEOUT:?}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!("bridge closed stdout before printing `listening ...`")
            }
        }
    }
}

/// The `https=ADDR` of the listening line, when TLS is on.
pub fn parse_https(line: &str) -> Option<SocketAddr> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("https="))
        .and_then(|v| v.parse().ok())
}

/// Parses `listening http=ADDR udp=ADDR tcp=ADDR` (tcp optional).
pub fn parse_listening(line: &str) -> anyhow::Result<(SocketAddr, SocketAddr, Option<SocketAddr>)> {
    let mut http = None;
    let mut udp = None;
    let mut tcp = None;
    for word in line.split_whitespace() {
        let Some((k, v)) = word.split_once('=') else {
            continue;
        };
        let addr = v.parse::<SocketAddr>().ok();
        match k {
            "http" => http = addr,
            "udp" => udp = addr,
            "tcp" => tcp = addr,
            _ => {}
        }
    }
    match (http, udp) {
        (Some(h), Some(u)) => Ok((h, u, tcp)),
        _ => bail!("cannot parse listening line {line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        let (h, u, t) = parse_listening(
            "listening http=127.0.0.1:8080 udp=127.0.0.1:50000 tcp=127.0.0.1:50001",
        )
        .unwrap();
        assert_eq!(h.port(), 8080);
        assert_eq!(u.port(), 50000);
        assert_eq!(t.map(|a| a.port()), Some(50001));
        let (_, _, t) = parse_listening("listening http=127.0.0.1:1 udp=127.0.0.1:2").unwrap();
        assert!(t.is_none());
        assert!(parse_listening("listening http=127.0.0.1:1").is_err());
    }

    #[test]
    fn extracts_the_token_from_a_join_url() {
        assert_eq!(
            token_from_url("http://127.0.0.1:1/r/room?t=abc.def.ghi").as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(
            token_from_url("http://h/r/x?a=1&t=tok").as_deref(),
            Some("tok")
        );
        assert!(token_from_url("http://h/r/x").is_none());
    }
}

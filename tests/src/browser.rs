//! Debian's headless Chromium, driven through ChromeDriver over WebDriver (fantoccini).
//!
//! One browser per test, pages as windows of it (tabs in one browser are much cheaper
//! than one browser per page, see docs/testing.md). ChromeDriver runs as a child
//! on a free loopback port; the browser gets a fresh profile directory. Missing Chromium
//! or ChromeDriver is an error, never a skip: CI installs both (scripts/test).
//! [`Browser::launch_in`] runs both inside a hall's network namespace ([`crate::netns`]).

use crate::netns::HallNet;
use anyhow::{Context, anyhow, bail};
use fantoccini::wd::{Capabilities, WindowHandle};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

const CHROMIUM: &[&str] = &["/usr/lib/chromium/chromium", "/usr/bin/chromium"];
const CHROMEDRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Ports for ChromeDriver inside halls' namespaces, from its own default up: a fresh
/// namespace has every port free, but one hall may get more than one browser.
static NEXT_HALL_DRIVER_PORT: AtomicU16 = AtomicU16::new(9515);

/// Chromium honours only the last `--disable-features`, so every feature goes in this one.
const DISABLED_FEATURES: &str =
    "WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,OptimizationHints";

/// A running Chromium with its ChromeDriver; both are ended on drop.
pub struct Browser {
    pub client: Client,
    closed: bool,
    driver_url: String,
    driver: Child,
    profile: tempfile::TempDir,
}

fn find_binary(candidates: &[&str], what: &str) -> anyhow::Result<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "{what} is not installed (looked for {candidates:?}). The browser tests need \
                 Debian's Chromium and ChromeDriver: `apt-get install -y chromium chromium-driver` \
                 (scripts/test installs them)"
            )
        })
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// The flags of docs/testing.md: headless, fake devices granted without a prompt, loopback
/// ICE candidates allowed and not hidden behind mDNS names, sound without a gesture.
fn chromium_args(profile: &Path, auto_grant_media: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        // Pages in windows behind others must keep decoding and running timers.
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--window-size=1366,768",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if auto_grant_media {
        args.push("--use-fake-ui-for-media-stream".to_owned());
    }
    args.push(format!("--disable-features={DISABLED_FEATURES}"));
    args.push(format!("--user-data-dir={}", profile.display()));
    args
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session that grants camera and
    /// microphone without asking; fails with a clear message if either is missing.
    pub async fn launch() -> anyhow::Result<Self> {
        Self::launch_with(true).await
    }

    /// Like [`Browser::launch`]; with `auto_grant_media` false, camera and microphone
    /// follow the permissions set with [`Browser::set_permission`] per origin.
    pub async fn launch_with(auto_grant_media: bool) -> anyhow::Result<Self> {
        Self::launch_args(auto_grant_media, &[]).await
    }

    /// Like [`Browser::launch_with`], with `extra_chromium_args` after the usual flags
    /// (a certificate pin, say).
    pub async fn launch_args(
        auto_grant_media: bool,
        extra_chromium_args: &[String],
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        Self::start(
            |bin: &Path| Command::new(bin),
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            auto_grant_media,
            extra_chromium_args,
        )
        .await
    }

    /// Like [`Browser::launch`], with ChromeDriver, and so Chromium, inside the hall's
    /// namespace: the browser reaches the server at `net.server_ip`, the test reaches the
    /// driver at `net.hall_ip`. `extra_chromium_args` come after the usual flags (not a
    /// second `--disable-features`: Chromium honours only the last one).
    pub async fn launch_in(net: &HallNet, extra_chromium_args: &[String]) -> anyhow::Result<Self> {
        let driver = |bin: &Path| {
            let mut cmd = net.command(bin);
            // The test's connections come from the root namespace's end of the veth.
            cmd.arg(format!("--allowed-ips={}", net.server_ip))
                .arg("--allowed-origins=*");
            cmd
        };
        let port = NEXT_HALL_DRIVER_PORT.fetch_add(1, Ordering::Relaxed);
        let addr = SocketAddr::from((net.hall_ip, port));
        Self::start(driver, addr, true, extra_chromium_args).await
    }

    /// Starts ChromeDriver (`driver` turns its binary into the command to run) listening on
    /// `addr`'s port, waits until `addr` answers, and opens a Chromium session through it.
    async fn start(
        driver: impl FnOnce(&Path) -> Command,
        addr: SocketAddr,
        auto_grant_media: bool,
        extra_chromium_args: &[String],
    ) -> anyhow::Result<Self> {
        let chromium = find_binary(CHROMIUM, "Chromium")?;
        let driver_bin = find_binary(CHROMEDRIVER, "ChromeDriver")?;
        let profile = tempfile::Builder::new()
            .prefix("bridge-chromium-")
            .tempdir()?;
        let driver = driver(&driver_bin)
            .arg(format!("--port={}", addr.port()))
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", driver_bin.display()))?;
        // Built now so that a failure below still ends the driver (Drop).
        let mut partial = PartialBrowser {
            driver: Some(driver),
        };
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                bail!("ChromeDriver did not listen on {addr} within {DRIVER_START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let mut args = chromium_args(profile.path(), auto_grant_media);
        args.extend_from_slice(extra_chromium_args);
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
            },
        }))?;
        // ChromeDriver is plain HTTP: no TLS connector needed.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://{addr}"))
            .await
            .context("starting a Chromium session through ChromeDriver")?;
        let driver = partial
            .driver
            .take()
            .ok_or_else(|| anyhow!("driver vanished"))?;
        Ok(Browser {
            client,
            closed: false,
            driver_url: format!("http://{addr}/"),
            driver,
            profile,
        })
    }

    /// The window the session started with.
    pub async fn first_window(&self) -> anyhow::Result<WindowHandle> {
        Ok(self.client.window().await?)
    }

    /// Opens `url` in a new window (not a tab, so it counts as visible) and switches to it.
    pub async fn open_window(&self, url: &str) -> anyhow::Result<WindowHandle> {
        let w = self.client.new_window(false).await?;
        self.client.switch_to_window(w.handle.clone()).await?;
        self.client.goto(url).await?;
        Ok(w.handle)
    }

    pub async fn switch(&self, w: &WindowHandle) -> anyhow::Result<()> {
        Ok(self.client.switch_to_window(w.clone()).await?)
    }

    /// Runs `script` (a function body; `return` a value or a Promise) in the current window.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Runs `script` as the body of an async function, so it may `await`.
    pub async fn js(&self, script: &str) -> anyhow::Result<Value> {
        self.eval(&format!("return (async () => {{ {script} }})();"))
            .await
    }

    /// Sets a form field's value as typing would (an `input` event follows).
    pub async fn set_value(&self, selector: &str, value: &str) -> anyhow::Result<()> {
        self.js(&format!(
            "const e = document.querySelector({s}); e.value = {v}; e.dispatchEvent(new Event('input')); return true;",
            s = serde_json::to_string(selector)?,
            v = serde_json::to_string(value)?
        ))
        .await
        .map(|_| ())
    }

    /// Polls `script` in the current window until it returns `true`.
    pub async fn wait_true(
        &self,
        script: &str,
        timeout: Duration,
        what: &str,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script).await?;
            if v == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let page = self.describe().await.unwrap_or_else(|e| format!("({e:#})"));
                bail!("timed out after {timeout:?} waiting for {what}; page state: {page}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A short description of the page for failure messages: URL, bridge state, visible text.
    pub async fn describe(&self) -> anyhow::Result<String> {
        let v = self
            .eval(
                "const b = window.bridge; return JSON.stringify({url: location.href, \
                 state: b && b.state, error: b && b.error, self: b && b.self, \
                 participants: b && b.participants, receiving: b && b.receiving, \
                 text: document.body.innerText.slice(0, 600)});",
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Sets a permission (`camera`, `microphone`) to `granted` or `denied` for the origin
    /// of the current window (WebDriver's permissions extension).
    pub async fn set_permission(&self, name: &str, state: &str) -> anyhow::Result<()> {
        let session = self
            .client
            .session_id()
            .await?
            .ok_or_else(|| anyhow!("no WebDriver session"))?;
        let url = format!("{}session/{session}/permissions", self.driver_url);
        let body = json!({ "descriptor": { "name": name }, "state": state });
        let resp = reqwest::Client::new().post(&url).json(&body).send().await?;
        if !resp.status().is_success() {
            bail!("setting {name} to {state}: {}", resp.text().await?);
        }
        Ok(())
    }

    /// Runs a DevTools protocol command (`Emulation.setDeviceMetricsOverride`,
    /// `Target.getTargets`, …) for the current window through ChromeDriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        self.client
            .issue_cmd(CdpCommand(json!({ "cmd": cmd, "params": params })))
            .await
            .with_context(|| format!("DevTools {cmd}"))
    }

    /// Saves a PNG of the current window.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }

    /// Ends the session (the browser exits), then the driver; the profile directory is
    /// removed once no browser process uses it any more.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let client = self.client.clone();
        client.close().await?;
        self.closed = true;
        Ok(())
    }

    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }
}

/// Runs one browser test on its own runtime while holding the crate's test lock: each
/// test has a server and a browser, and two at once would fight for the 2 cores.
pub fn run_serial<F: std::future::Future<Output = anyhow::Result<()>>>(
    test: F,
) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async {
            // Taken inside the runtime: the lock is async, and an unawaited future of it
            // would hold nothing.
            let _serial = crate::serial().await;
            test.await
        })
}

/// A JSON array's items (none for anything else).
pub fn as_list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Script listing the translation keys whose element shows no translation.
pub const UNTRANSLATED: &str = "return [...document.querySelectorAll('[data-i18n]')]\
    .filter(el => !el.textContent.trim() || el.textContent === el.dataset.i18n)\
    .map(el => el.dataset.i18n);";

/// ChromeDriver's `goog/cdp/execute`: a DevTools protocol command in WebDriver's clothes.
#[derive(Debug)]
struct CdpCommand(Value);

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.0.to_string()))
    }
}

/// The driver before the session exists: killed if launching fails half way.
struct PartialBrowser {
    driver: Option<Child>,
}

impl Drop for PartialBrowser {
    fn drop(&mut self) {
        if let Some(mut d) = self.driver.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After close() the browser is on its way out: give it a moment. A test that
        // failed before close() leaves it running (a killed driver does not end it).
        let grace = if self.closed {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        };
        end_processes_using(self.profile.path(), grace);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Helper processes without the profile flag may still flush a cache file into the
        // directory as they exit: remove it until it stays gone (TempDir only tries once).
        let path = self.profile.path().to_owned();
        for _ in 0..10 {
            let _ = std::fs::remove_dir_all(&path);
            std::thread::sleep(Duration::from_millis(100));
            if !path.exists() {
                break;
            }
        }
    }
}

/// Pids of the Chromium processes running on `profile` (they carry it on their command line).
fn processes_using(profile: &Path) -> Vec<u32> {
    let marker = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == marker.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// Waits up to `grace` for the browser's processes to exit, then kills the rest by pid
/// and waits (briefly) until they are gone.
fn end_processes_using(profile: &Path, grace: Duration) {
    let wait_gone = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while !processes_using(profile).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_gone(grace);
    for pid in processes_using(profile) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    wait_gone(Duration::from_secs(3));
}

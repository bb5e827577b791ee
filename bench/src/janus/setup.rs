//! Janus itself: Debian's `janus` package (installed with apt-get only when asked), a
//! minimal configuration written to a temporary directory, and the process started with
//! that directory and stopped by its PID, also when the run fails (a drop guard).

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Janus's REST API, on loopback (inside the benchmark's network namespace).
pub const API_URL: &str = "http://127.0.0.1:8088/janus";
const HTTP_PORT: u16 = 8088;
/// The Debian package.
pub const PACKAGE: &str = "janus";
/// The only plugin and transport the benchmark needs.
const PLUGIN: &str = "libjanus_videoroom.so";
const TRANSPORT: &str = "libjanus_http.so";
/// How long Janus may take to load and answer `GET /janus/info`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How Janus is configured for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JanusConfig {
    /// `event_loops` in janus.jcfg; `None` keeps Janus's default (a thread per handle).
    pub event_loops: Option<u32>,
}

impl JanusConfig {
    /// For reports: which configuration was measured.
    pub fn label(&self) -> String {
        match self.event_loops {
            None => "default config".to_owned(),
            Some(n) => format!("event_loops = {n}"),
        }
    }

    /// Distinguishes result files of the two configurations of one day and scenario.
    pub fn file_suffix(&self) -> String {
        match self.event_loops {
            None => String::new(),
            Some(n) => format!("-el{n}"),
        }
    }
}

/// The `janus` binary on PATH, if any.
pub fn find_janus() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("janus"))
        .find(|p| p.is_file())
}

/// The error when Janus is missing and the user did not ask us to install it.
pub fn missing_message() -> String {
    format!(
        "Janus is not installed (no `janus` on PATH). Pass --install-janus to let the harness \
         install Debian's `{PACKAGE}` package with apt-get (needs root), or install it yourself."
    )
}

/// Returns the `janus` binary, installing Debian's package first when `install` is set.
/// Must run outside the benchmark's network namespace: that one has no route to a mirror.
pub fn ensure_installed(install: bool) -> anyhow::Result<PathBuf> {
    if let Some(bin) = find_janus() {
        return Ok(bin);
    }
    if !install {
        bail!("{}", missing_message());
    }
    eprintln!("installing Debian's `{PACKAGE}` package with apt-get");
    if !apt_get(&["install", "-y", "--no-install-recommends", PACKAGE])? {
        // A fresh machine may not have package lists yet.
        if !apt_get(&["update"])?
            || !apt_get(&["install", "-y", "--no-install-recommends", PACKAGE])?
        {
            bail!("apt-get could not install `{PACKAGE}` (see its output above)");
        }
    }
    find_janus().with_context(|| format!("`{PACKAGE}` installed, but no `janus` on PATH"))
}

fn apt_get(args: &[&str]) -> anyhow::Result<bool> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status()
        .context("running apt-get (Debian's package manager) to install Janus")?;
    Ok(status.success())
}

/// Janus's module folders and the modules in them (file names ending in `.so`, the ones
/// Janus would load).
#[derive(Debug, Clone, Default)]
pub struct Modules {
    pub root: PathBuf,
    pub plugins: Vec<String>,
    pub transports: Vec<String>,
    pub loggers: Vec<String>,
    pub events: Vec<String>,
}

impl Modules {
    /// Finds Debian's module root, `/usr/lib/<triplet>/janus`, and lists it.
    pub fn discover() -> anyhow::Result<Self> {
        let mut roots: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
            .context("listing /usr/lib")?
            .filter_map(Result::ok)
            .map(|e| e.path().join("janus"))
            .collect();
        roots.push(PathBuf::from("/usr/lib/janus"));
        let root = roots
            .into_iter()
            .find(|r| r.join("plugins").join(PLUGIN).exists())
            .with_context(|| {
                format!("no Janus module folder with plugins/{PLUGIN} under /usr/lib")
            })?;
        let list = |sub: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(root.join(sub))
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|n| n.ends_with(".so"))
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        Ok(Modules {
            plugins: list("plugins"),
            transports: list("transports"),
            loggers: list("loggers"),
            events: list("events"),
            root,
        })
    }
}

/// jcfg strings are double-quoted without escapes worth relying on: refuse odd paths.
fn quoted(s: &str) -> anyhow::Result<String> {
    if s.contains(['"', '\\', '\n']) {
        bail!("cannot write {s:?} into a Janus config file");
    }
    Ok(format!("\"{s}\""))
}

/// Everything in `all` except `keep`, as a jcfg `disable` list.
fn disable_all_but(all: &[String], keep: &[&str]) -> String {
    all.iter()
        .filter(|m| !keep.contains(&m.as_str()))
        .cloned()
        .collect::<Vec<_>>()
        .join(",")
}

/// The three config files, `(file name, text)`: janus.jcfg, the HTTP transport and the
/// VideoRoom plugin (no static rooms: the benchmark creates its room through the API).
pub fn config_files(
    cfg: &JanusConfig,
    config_dir: &Path,
    modules: &Modules,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let dir = |sub: &str| quoted(&modules.root.join(sub).to_string_lossy());
    let mut main = String::new();
    // Janus's host candidates: only 127.0.0.1 (held by an ifb device in the namespace,
    // because Janus never gathers on an interface flagged as loopback).
    writeln!(main, "general: {{")?;
    writeln!(
        main,
        "\tconfigs_folder = {}",
        quoted(&config_dir.to_string_lossy())?
    )?;
    writeln!(main, "\tplugins_folder = {}", dir("plugins")?)?;
    writeln!(main, "\ttransports_folder = {}", dir("transports")?)?;
    writeln!(main, "\tevents_folder = {}", dir("events")?)?;
    writeln!(main, "\tloggers_folder = {}", dir("loggers")?)?;
    // Errors only: logging is not what is being measured.
    writeln!(main, "\tdebug_level = 2")?;
    writeln!(main, "\tinterface = \"127.0.0.1\"")?;
    writeln!(main, "\tsession_timeout = 60")?;
    if let Some(n) = cfg.event_loops {
        writeln!(main, "\tevent_loops = {n}")?;
    }
    writeln!(main, "}}")?;
    writeln!(main, "certificates: {{\n}}")?;
    writeln!(
        main,
        "media: {{\n\tipv6 = false\n\trtp_port_range = \"20000-40000\"\n}}"
    )?;
    writeln!(
        main,
        "nat: {{\n\tnice_debug = false\n\tice_enforce_list = \"127.0.0.1\"\n}}"
    )?;
    for (section, all, keep) in [
        ("plugins", &modules.plugins, &[PLUGIN][..]),
        ("transports", &modules.transports, &[TRANSPORT][..]),
        ("loggers", &modules.loggers, &[][..]),
        ("events", &modules.events, &[][..]),
    ] {
        let off = disable_all_but(all, keep);
        writeln!(main, "{section}: {{")?;
        if section == "events" {
            writeln!(main, "\tbroadcast = false")?;
        }
        if !off.is_empty() {
            writeln!(main, "\tdisable = {}", quoted(&off)?)?;
        }
        writeln!(main, "}}")?;
    }
    let http = format!(
        "general: {{\n\tjson = \"plain\"\n\tbase_path = \"/janus\"\n\thttp = true\n\
         \tport = {HTTP_PORT}\n\tip = \"127.0.0.1\"\n\thttps = false\n}}\n\
         admin: {{\n\tadmin_http = false\n\tadmin_https = false\n}}\n\
         cors: {{\n}}\n"
    );
    let videoroom = "general: {\n}\n".to_owned();
    Ok(vec![
        ("janus.jcfg", main),
        ("janus.transport.http.jcfg", http),
        ("janus.plugin.videoroom.jcfg", videoroom),
    ])
}

/// A running Janus, stopped (SIGTERM, then SIGKILL) and reaped on drop.
pub struct JanusProcess {
    child: Child,
    pub pid: u32,
    /// `version_string` from `GET /janus/info`.
    pub version: String,
    log: PathBuf,
    // Kept until Janus is gone: its config lives here.
    _dir: tempfile::TempDir,
}

impl JanusProcess {
    /// Writes the config, starts `janus -C <dir>/janus.jcfg -F <dir>` and waits until its
    /// HTTP API answers.
    pub async fn start(bin: &Path, cfg: &JanusConfig) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("bench-janus-")
            .tempdir()
            .context("creating Janus's config directory")?;
        let modules = Modules::discover()?;
        for (name, text) in config_files(cfg, dir.path(), &modules)? {
            std::fs::write(dir.path().join(name), text)
                .with_context(|| format!("writing {name}"))?;
        }
        let log = dir.path().join("janus.log");
        let out = std::fs::File::create(&log).context("creating janus.log")?;
        let err = out.try_clone()?;
        let child = Command::new(bin)
            .arg("-C")
            .arg(dir.path().join("janus.jcfg"))
            .arg("-F")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        // From here on, dropping `janus` stops the process.
        let mut janus = JanusProcess {
            child,
            pid,
            version: String::new(),
            log,
            _dir: dir,
        };
        janus.version = janus.wait_ready().await?;
        Ok(janus)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "Janus exited ({status}) before its API answered; its log ends:\n{}",
                    self.log_tail(30)
                );
            }
            if let Ok(resp) = http.get(format!("{API_URL}/info")).send().await
                && let Ok(info) = resp.json::<serde_json::Value>().await
                && info["janus"] == "server_info"
            {
                return Ok(info["version_string"]
                    .as_str()
                    .unwrap_or("unknown version")
                    .to_owned());
            }
            if Instant::now() >= deadline {
                bail!(
                    "Janus's API did not answer at {API_URL} within {START_TIMEOUT:?}; its log ends:\n{}",
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last `lines` lines of Janus's output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops Janus: SIGTERM (it shuts down cleanly), SIGKILL after 5 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = Pid::from_raw(self.pid as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = kill(pid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for JanusProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules() -> Modules {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Modules {
            root: PathBuf::from("/usr/lib/x86_64-linux-gnu/janus"),
            plugins: names(&[
                "libjanus_echotest.so",
                "libjanus_videoroom.so",
                "libjanus_sip.so",
            ]),
            transports: names(&["libjanus_http.so", "libjanus_websockets.so"]),
            loggers: names(&["libjanus_jsonlog.so"]),
            events: vec![],
        }
    }

    #[test]
    fn the_config_keeps_only_videoroom_and_http_on_loopback() {
        let cfg = JanusConfig::default();
        let files = config_files(&cfg, Path::new("/tmp/bench-janus-x"), &modules()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "janus.jcfg",
                "janus.transport.http.jcfg",
                "janus.plugin.videoroom.jcfg"
            ]
        );
        let main = &files[0].1;
        assert!(main.contains("configs_folder = \"/tmp/bench-janus-x\""));
        assert!(main.contains("plugins_folder = \"/usr/lib/x86_64-linux-gnu/janus/plugins\""));
        assert!(main.contains("disable = \"libjanus_echotest.so,libjanus_sip.so\""));
        assert!(main.contains("disable = \"libjanus_websockets.so\""));
        assert!(main.contains("disable = \"libjanus_jsonlog.so\""));
        assert!(main.contains("ice_enforce_list = \"127.0.0.1\""));
        assert!(main.contains("ipv6 = false"));
        assert!(main.contains("debug_level = 2"));
        assert!(!main.contains("event_loops"));
        // Braces balance, so Janus's parser sees every section closed.
        assert_eq!(main.matches('{').count(), main.matches('}').count());
        let http = &files[1].1;
        assert!(http.contains("port = 8088") && http.contains("base_path = \"/janus\""));
        assert!(http.contains("admin_http = false"));
    }

    #[test]
    fn event_loops_are_written_when_asked() {
        let cfg = JanusConfig {
            event_loops: Some(2),
        };
        let files = config_files(&cfg, Path::new("/tmp/j"), &modules()).unwrap();
        assert!(files[0].1.contains("\tevent_loops = 2\n"));
        assert_eq!(cfg.file_suffix(), "-el2");
        assert_eq!(JanusConfig::default().file_suffix(), "");
    }

    #[test]
    fn odd_paths_are_refused_not_written() {
        let err =
            config_files(&JanusConfig::default(), Path::new("/tmp/a\"b"), &modules()).unwrap_err();
        assert!(err.to_string().contains("cannot write"), "{err}");
    }

    #[test]
    fn the_missing_janus_message_names_the_flag() {
        assert!(missing_message().contains("--install-janus"));
    }
}

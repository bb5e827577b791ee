//! A "commune hall" on another network address: a network namespace joined to the root
//! namespace (where the test process and the bridge run) by a veth pair, optionally
//! behind a firewall that lets out nothing but TCP to port 443. [`crate::impair`] joins
//! the same kind of namespace by a pair of tun devices instead, through a relay that
//! shapes the link.
//!
//! Addresses come from TEST-NET-2 (198.51.100.0/24), one /30 per hall: the server side is
//! .1 of it, the hall .2. Needs root, as CI has (scripts/test); without it this is an
//! error, never a skip.

use anyhow::{Context, anyhow, bail};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Namespaces are `bhall-PID-N`, root-side links `bhrPID-N`: the pid lets a later run
/// tell a killed run's leftovers from those of a run still going.
const NS_PREFIX: &str = "bhall-";
const LINK_PREFIX: &str = "bhr";
/// Created directly inside the namespace (or moved there and renamed), so the same name
/// in every hall does not clash.
pub(crate) const HALL_LINK: &str = "hall0";
const IFNAMSIZ_MAX: usize = 15;
// TEST-NET-2, not TEST-NET-1: some hosts (CI's among them) have their own uplink in
// 192.0.2.0/24.
const TEST_NET: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 0);
/// Serialises choosing a /30 and assigning it between processes (two test binaries at
/// once), since the kernel accepts one address on two links without complaint.
const LOCK_FILE: &str = "/run/bridge-e2e-netns.lock";
const NEED_ROOT: &str = "the namespace tests need root: CI runs as root; run scripts/test as root";

/// A strict office firewall: out of the hall only new TCP connections to port 443, and
/// into it nothing unsolicited (as a NAT would), so the server cannot open a UDP path
/// towards the hall either. Loopback stays open (Chromium talks to its driver there) and
/// so do replies; WebDriver's connections from the root namespace come in on the hall
/// drivers' ports (9515 and up, see `Browser::launch_in`).
const TCP_443_ONLY: &str = "
table inet hall_firewall {
    chain out {
        type filter hook output priority filter; policy drop;
        oif lo accept
        ct state established,related accept
        tcp dport 443 accept
    }
    chain in {
        type filter hook input priority filter; policy drop;
        iif lo accept
        ct state established,related accept
        tcp dport 9515-9999 accept
    }
}
";

/// The ports the hall's ChromeDriver listens on (`Browser::launch_in` counts up from
/// 9515): the test's own way into the hall, let in by the firewall and carried outside
/// the impairment by [`crate::impair`].
pub const DRIVER_PORTS: std::ops::RangeInclusive<u16> = 9515..=9999;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace with a veth pair to the root namespace; both are deleted on drop.
#[derive(Debug)]
pub struct HallNet {
    /// The root namespace's end of the pair: where the hall reaches the server.
    pub server_ip: Ipv4Addr,
    /// The hall's end, e.g. where the hall's ChromeDriver listens.
    pub hall_ip: Ipv4Addr,
    /// The namespace, as `ip netns` knows it.
    pub name: String,
    link: String,
}

impl HallNet {
    /// Creates the namespace and the veth pair, on a /30 that no link of the machine uses.
    /// Leftovers of killed earlier runs are removed first.
    pub fn create() -> anyhow::Result<HallNet> {
        let (net, ()) = Self::create_joined(|net| {
            ip(&[
                "link", "add", &net.link, "type", "veth", "peer", "name", HALL_LINK, "netns",
                &net.name,
            ])?;
            Ok(())
        })?;
        Ok(net)
    }

    /// Creates the namespace on a free /30 and has `join` make its link to the root
    /// namespace: a device named [`HallNet::link`] in the root namespace and one named
    /// `hall0` inside the namespace, both without addresses. This then gives them the
    /// /30's addresses and brings them up. What `join` returns (devices it holds open,
    /// say) comes back beside the hall. Runs under the harness's lock file, so that two
    /// test processes never take the same /30.
    pub(crate) fn create_joined<T>(
        join: impl FnOnce(&HallNet) -> anyhow::Result<T>,
    ) -> anyhow::Result<(HallNet, T)> {
        if !is_root()? {
            bail!("{NEED_ROOT}");
        }
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NS_PREFIX}{pid}-{n}");
        let link = format!("{LINK_PREFIX}{pid}-{n}");
        if link.len() > IFNAMSIZ_MAX {
            bail!("interface name {link} is longer than {IFNAMSIZ_MAX} characters");
        }

        let lock = File::create(LOCK_FILE).with_context(|| format!("creating {LOCK_FILE}"))?;
        lock.lock()
            .with_context(|| format!("locking {LOCK_FILE}"))?;
        remove_stale()?;
        let (server_ip, hall_ip) = free_slash30()?;

        ip(&["netns", "add", &name]).context(NEED_ROOT)?;
        // From here on, Drop removes whatever part got made.
        let net = HallNet {
            server_ip,
            hall_ip,
            name,
            link,
        };
        let joined = join(&net)?;
        let server_cidr = format!("{server_ip}/30");
        let hall_cidr = format!("{hall_ip}/30");
        ip(&["addr", "add", &server_cidr, "dev", &net.link])?;
        ip(&["link", "set", &net.link, "up"])?;
        net.ip_inside(&["link", "set", "lo", "up"])?;
        net.ip_inside(&["addr", "add", &hall_cidr, "dev", HALL_LINK])?;
        net.ip_inside(&["link", "set", HALL_LINK, "up"])?;
        drop(lock);
        Ok((net, joined))
    }

    /// The root namespace's end of the link (`bhrPID-N`).
    pub fn link(&self) -> &str {
        &self.link
    }

    /// Lets the hall open nothing but TCP connections to port 443 (see [`TCP_443_ONLY`]).
    pub fn firewall_tcp_443_only(&self) -> anyhow::Result<()> {
        run_with_stdin(self.command("nft").args(["-f", "-"]), TCP_443_ONLY)
            .map(|_| ())
            .with_context(|| format!("firewalling hall {}", self.name))
    }

    /// `program` run inside the namespace (`ip netns exec NAME program`); add its arguments.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec"]).arg(&self.name).arg(program);
        cmd
    }

    pub(crate) fn ip_inside(&self, args: &[&str]) -> anyhow::Result<String> {
        ip(&[&["-n", &self.name], args].concat())
    }
}

impl Drop for HallNet {
    fn drop(&mut self) {
        // Deleting one end of a veth deletes both; the namespace may outlive its name
        // while a process still runs in it, but then without a link to anywhere.
        let _ = ip(&["link", "del", &self.link]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn is_root() -> anyhow::Result<bool> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    // "Uid:\treal\teffective\tsaved\tfs": the effective one decides.
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .ok_or_else(|| anyhow!("no Uid line in /proc/self/status"))?;
    Ok(euid == "0")
}

/// The first /30 of TEST-NET-2 none of whose four addresses appears among the machine's
/// addresses and routes (a host may sit in the range itself).
fn free_slash30() -> anyhow::Result<(Ipv4Addr, Ipv4Addr)> {
    let mut used: HashSet<Ipv4Addr> = HashSet::new();
    for listing in [ip(&["-o", "-4", "addr"])?, ip(&["-4", "route"])?] {
        used.extend(
            listing
                .split(|c: char| c.is_whitespace() || c == '/')
                .filter_map(|word| word.parse::<Ipv4Addr>().ok()),
        );
    }
    let base = u32::from(TEST_NET);
    (0..64)
        .map(|block| base + block * 4)
        .find(|start| (0..4).all(|i| !used.contains(&Ipv4Addr::from(start + i))))
        .map(|start| (Ipv4Addr::from(start + 1), Ipv4Addr::from(start + 2)))
        .ok_or_else(|| anyhow!("every /30 of 198.51.100.0/24 is in use on this machine"))
}

/// Deletes namespaces and links of this harness whose process is gone.
fn remove_stale() -> anyhow::Result<()> {
    let dead = |name: &str, prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.split_once('-'))
            .filter(|(_, n)| n.parse::<u32>().is_ok())
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    for line in ip(&["netns", "list"])?.lines() {
        // "NAME" or "NAME (id: 3)".
        let name = line.split_whitespace().next().unwrap_or_default();
        if dead(name, NS_PREFIX) {
            ip(&["netns", "del", name])?;
        }
    }
    for line in ip(&["-o", "link"])?.lines() {
        // "8: bhr123-0@if7: <BROADCAST,...": the name ends at '@' or ':'.
        let Some(field) = line.split_whitespace().nth(1) else {
            continue;
        };
        let name = field.split(['@', ':']).next().unwrap_or_default();
        if dead(name, LINK_PREFIX) {
            // Deleting the namespace above may already have taken the pair with it.
            let _ = ip(&["link", "del", name]);
        }
    }
    Ok(())
}

pub(crate) fn ip(args: &[&str]) -> anyhow::Result<String> {
    run(Command::new("ip").args(args))
}

/// Runs `cmd` to completion: its stdout, or an error naming the command with its stderr.
fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    stdout_of(cmd, out)
}

/// Like [`run`], with `input` as the command's stdin.
fn run_with_stdin(cmd: &mut Command, input: &str) -> anyhow::Result<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {cmd:?}"))?;
    // Taken, so that it is closed (end of input) before waiting.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("no stdin for {cmd:?}"))?;
    let written = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {cmd:?}"))?;
    // A command that failed may have stopped reading: its stderr says more than EPIPE.
    let stdout = stdout_of(cmd, out)?;
    written.with_context(|| format!("writing the input of {cmd:?}"))?;
    Ok(stdout)
}

fn stdout_of(cmd: &Command, out: Output) -> anyhow::Result<String> {
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read};
    use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
    use std::time::{Duration, Instant};

    /// Ends a helper process (a server) however the test ends.
    struct KillOnDrop(std::process::Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Whether a TCP connection from the hall to `addr` is set up within 3 s (a dropped
    /// SYN would otherwise leave bash retrying for minutes).
    fn hall_connects(net: &HallNet, addr: SocketAddr) -> anyhow::Result<bool> {
        let script = format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port());
        let status = net
            .command("timeout")
            .args(["3", "bash", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        Ok(status.success())
    }

    /// Whether a datagram the hall sends to `socket` arrives within 1 s.
    fn hall_udp_arrives(net: &HallNet, socket: &UdpSocket) -> anyhow::Result<bool> {
        let addr = socket.local_addr()?;
        let script = format!("echo hall >/dev/udp/{}/{}", addr.ip(), addr.port());
        // A firewalled send fails (EPERM): what counts is whether anything arrives.
        let _ = net
            .command("bash")
            .args(["-c", &script])
            .stderr(Stdio::null())
            .status()?;
        socket.set_read_timeout(Some(Duration::from_secs(1)))?;
        match socket.recv_from(&mut [0; 64]) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn namespaces() -> anyhow::Result<String> {
        ip(&["netns", "list"])
    }

    #[test]
    fn two_halls_at_once_differ_and_go_away_on_drop() -> anyhow::Result<()> {
        let a = HallNet::create()?;
        let b = HallNet::create()?;
        assert_ne!(a.name, b.name);
        assert_ne!(a.server_ip, b.server_ip);
        assert_ne!(a.hall_ip, b.hall_ip);
        assert_ne!(a.server_ip, a.hall_ip);
        let (a_name, b_name, a_link) = (a.name.clone(), b.name.clone(), a.link.clone());
        let listed = namespaces()?;
        assert!(
            listed.contains(&a_name) && listed.contains(&b_name),
            "{listed}"
        );
        drop(a);
        drop(b);
        let listed = namespaces()?;
        assert!(
            !listed.contains(&a_name) && !listed.contains(&b_name),
            "{listed}"
        );
        let links = ip(&["-o", "link"])?;
        assert!(!links.contains(&format!(" {a_link}@")), "{links}");
        Ok(())
    }

    #[test]
    fn leftovers_of_a_dead_process_are_removed() -> anyhow::Result<()> {
        // A pid that just exited stands for a killed earlier run.
        let mut gone = Command::new("true").spawn()?;
        gone.wait()?;
        let pid = gone.id();
        let (ns, link) = (
            format!("{NS_PREFIX}{pid}-0"),
            format!("{LINK_PREFIX}{pid}-0"),
        );
        ip(&["netns", "add", &ns])?;
        // The peer stays in the root namespace: only deleting the link itself removes it.
        let peer = format!("bhx{pid}");
        ip(&["link", "add", &link, "type", "veth", "peer", "name", &peer])?;
        let _net = HallNet::create()?;
        assert!(!namespaces()?.contains(&ns));
        assert!(
            ip(&["link", "show", &link]).is_err() && ip(&["link", "show", &peer]).is_err(),
            "{link} or {peer} is still there"
        );
        Ok(())
    }

    #[test]
    fn hall_reaches_a_listener_on_the_server_side() -> anyhow::Result<()> {
        let net = HallNet::create()?;
        let listener = TcpListener::bind((net.server_ip, 0))?;
        assert!(hall_connects(&net, listener.local_addr()?)?);
        listener.accept().context("the hall's connection")?;
        Ok(())
    }

    #[test]
    fn firewall_lets_out_only_tcp_to_443() -> anyhow::Result<()> {
        let net = HallNet::create()?;
        let https = TcpListener::bind((net.server_ip, 443)).context("binding port 443")?;
        let other = TcpListener::bind((net.server_ip, 8443))?;
        assert!(hall_connects(&net, https.local_addr()?)?);
        assert!(hall_connects(&net, other.local_addr()?)?);
        net.firewall_tcp_443_only()?;
        assert!(hall_connects(&net, https.local_addr()?)?);
        assert!(!hall_connects(&net, other.local_addr()?)?);
        Ok(())
    }

    #[test]
    fn firewall_lets_in_only_the_drivers_ports() -> anyhow::Result<()> {
        let net = HallNet::create()?;
        net.firewall_tcp_443_only()?;
        // Unsolicited connections in are dropped, as behind a NAT: the attempt times out
        // (nothing listens there, so without the firewall it would be refused at once).
        let closed = SocketAddr::from((net.hall_ip, 7000));
        let err = TcpStream::connect_timeout(&closed, Duration::from_millis(700))
            .expect_err("an unsolicited connection into the hall passed the firewall");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::TimedOut,
            "not dropped: {err}"
        );
        // ...except WebDriver's, on the ports the hall's drivers listen on.
        let addr = SocketAddr::from((net.hall_ip, 9999));
        // Perl, not bash, to listen: perl-base is essential on Debian.
        let script = format!(
            "use IO::Socket::INET; my $l = IO::Socket::INET->new(LocalAddr => '{addr}', \
             Listen => 1, ReuseAddr => 1) or die $!; print {{$l->accept}} \"hall\\n\";"
        );
        let _server = KillOnDrop(net.command("perl").args(["-e", &script]).spawn()?);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut stream = loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => return Err(e).context("reaching the hall"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        let mut reply = String::new();
        stream
            .read_to_string(&mut reply)
            .context("the hall's reply")?;
        assert_eq!(reply, "hall\n");
        Ok(())
    }

    #[test]
    fn firewall_drops_udp() -> anyhow::Result<()> {
        let net = HallNet::create()?;
        let socket = UdpSocket::bind((net.server_ip, 0))?;
        assert!(
            hall_udp_arrives(&net, &socket)?,
            "UDP lost without a firewall"
        );
        net.firewall_tcp_443_only()?;
        assert!(!hall_udp_arrives(&net, &socket)?, "UDP passed the firewall");
        Ok(())
    }

    /// What a page in the hall's Chromium says about itself and about getUserMedia.
    const PAGE_REPORT: &str = "let media;
        try {
            const s = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
            media = s.getTracks().map(t => t.kind + ':' + t.readyState).join(',');
            s.getTracks().forEach(t => t.stop());
        } catch (e) { media = 'error: ' + e; }
        return {url: location.href, secure: window.isSecureContext, media,
                text: document.body ? document.body.innerText.slice(0, 60) : null};";

    /// The question behind the hall tests rather than a regression test: does Chromium in
    /// the hall take a self-signed server whose key it was told (by SPKI hash) as a secure
    /// context, with getUserMedia, also behind the firewall?
    #[test]
    #[ignore = "starts Chromium: cargo test -p bridge-e2e --lib netns -- --ignored --nocapture"]
    fn chromium_in_the_hall_trusts_a_pinned_self_signed_server() -> anyhow::Result<()> {
        let net = HallNet::create()?;
        let dir = tempfile::tempdir()?;
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let ip = net.server_ip;
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", &format!("/CN={ip}")])
            .args(["-addext", &format!("subjectAltName=IP:{ip}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert))?;
        let spki = run(Command::new("bash").arg("-c").arg(format!(
            "set -o pipefail; openssl x509 -pubkey -noout -in {} | openssl pkey -pubin \
             -outform der | openssl dgst -sha256 -binary | base64",
            cert.display()
        )))?;
        let server = Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("{ip}:443"),
            ])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        let _server = KillOnDrop(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((ip, 443)).is_err() {
            if Instant::now() > deadline {
                bail!("openssl s_server did not listen on {ip}:443");
            }
            std::thread::sleep(Duration::from_millis(50));
        }

        let flag = format!("--ignore-certificate-errors-spki-list={}", spki.trim());
        tokio::runtime::Runtime::new()?.block_on(async {
            let browser = crate::browser::Browser::launch_in(&net, &[flag]).await?;
            let url = format!("https://{ip}/");
            browser.client.goto(&url).await?;
            let open = browser.js(PAGE_REPORT).await?;
            println!("open: {open}");
            net.firewall_tcp_443_only()?;
            browser.client.goto(&format!("{url}?firewalled")).await?;
            let walled = browser.js(PAGE_REPORT).await?;
            println!("behind the firewall: {walled}");
            browser.close().await?;
            for report in [open, walled] {
                assert_eq!(report["secure"], true, "{report}");
                assert_eq!(report["media"], "audio:live,video:live", "{report}");
            }
            Ok(())
        })
    }
}

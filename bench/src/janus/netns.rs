//! The private network namespace a Janus run needs on loopback.
//!
//! Janus (libnice) never gathers ICE candidates on an interface flagged as loopback, so
//! on a plain loopback it offers no usable candidate. In a fresh namespace (`unshare
//! --net`) with `lo` up plus an `ifb` device holding only 127.0.0.1/32, Janus gathers
//! and announces 127.0.0.1, and the kernel still delivers the traffic through loopback;
//! the namespace has no route anywhere else. The whole benchmark process re-executes
//! itself inside such a namespace, so Janus, our `bridge` and every client share it.

use anyhow::{Context, bail};
use std::process::Command;

/// Set in the environment of the re-executed benchmark: "we are inside the namespace".
pub const ENV: &str = "BRIDGE_BENCH_NETNS";
/// The ifb device that holds 127.0.0.1/32.
pub const DEVICE: &str = "jlo0";

/// True in the re-executed process.
pub fn inside() -> bool {
    std::env::var_os(ENV).is_some_and(|v| v == "1")
}

/// Runs this executable again, with the same arguments, under `unshare --net`; returns
/// its exit code. Needs root (creating a network namespace and an ifb device).
pub fn reexec() -> anyhow::Result<i32> {
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "the Janus comparison must run as root: it runs the benchmark in a private network \
             namespace (`unshare --net`) with an ifb device holding 127.0.0.1, because Janus \
             never gathers ICE candidates on a loopback interface. Run as root, or use \
             --peer bridge."
        );
    }
    let exe = std::env::current_exe().context("finding this executable to re-run it")?;
    eprintln!("entering a private network namespace (unshare --net) for Janus");
    let status = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(&exe)
        .args(std::env::args_os().skip(1))
        .env(ENV, "1")
        .status()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                anyhow::anyhow!("`unshare` not found: install util-linux")
            }
            _ => anyhow::Error::new(e).context("running unshare --net"),
        })?;
    Ok(status.code().unwrap_or(1))
}

/// Interface names in `ip -o link show` output ("1: lo: <LOOPBACK,UP> ...",
/// "5: veth0@if4: ..."): the name without its `@peer` part.
pub fn link_names(ip_o_link: &str) -> Vec<String> {
    ip_o_link
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!("`ip` not found: install iproute2"),
            _ => anyhow::Error::new(e).context("running ip"),
        })?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Inside the fresh namespace: `lo` up, the ifb device with 127.0.0.1/32 up, IPv6 off.
/// Refuses to touch a namespace that has other interfaces (that would be the host's).
pub fn configure() -> anyhow::Result<()> {
    let names = link_names(&ip(&["-o", "link", "show"])?);
    if let Some(other) = names.iter().find(|n| *n != "lo" && *n != DEVICE) {
        bail!(
            "{ENV}=1 but this network namespace has interface {other}: not a fresh `unshare \
             --net` namespace, refusing to add 127.0.0.1 to it (unset {ENV})"
        );
    }
    ip(&["link", "set", "lo", "up"])?;
    if !names.iter().any(|n| n == DEVICE) {
        ip(&["link", "add", DEVICE, "type", "ifb"])
            .context("adding the ifb device (is the ifb kernel module available?)")?;
        ip(&["addr", "add", "127.0.0.1/32", "dev", DEVICE])?;
    }
    ip(&["link", "set", DEVICE, "up"])?;
    // /proc/sys/net is per namespace; the file is absent when the kernel has no IPv6.
    for f in ["all", "default"] {
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{f}/disable_ipv6"), "1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::link_names;

    #[test]
    fn interface_names_come_from_ip_link() {
        let out = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n\
                   2: jlo0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN\n\
                   7: veth0@if6: <BROADCAST,MULTICAST> mtu 1500\n";
        assert_eq!(link_names(out), ["lo", "jlo0", "veth0"]);
        assert!(link_names("").is_empty());
        assert!(link_names("garbage without separators").is_empty());
    }
}

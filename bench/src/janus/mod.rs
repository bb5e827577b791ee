//! The same fan-out scenarios against Janus (Debian's `janus` package, VideoRoom plugin),
//! configured and started by the harness on loopback, in the same run as ours.
//!
//! - [`setup`]: install (only when asked), a minimal config in a temporary directory,
//!   start and stop by PID;
//! - [`netns`]: the private network namespace Janus needs on loopback;
//! - [`api`]: Janus's REST API (sessions, handles, long-poll, trickle);
//! - [`peer`]: publisher and subscribers built from the test client's WebRTC parts;
//! - [`run`]: the measured scenario, giving the same [`crate::report::Report`] as ours;
//! - [`compare`]: the ratio line and the comparison file.

pub mod api;
pub mod compare;
pub mod netns;
pub mod peer;
pub mod run;
pub mod setup;

pub use run::run_janus;
pub use setup::JanusConfig;

use std::path::PathBuf;

/// Where the process stands after [`enter_namespace`].
pub enum Entered {
    /// This process re-executed itself in a namespace; that child ran the benchmark and
    /// exited with this code, which the caller should exit with.
    Parent(i32),
    /// This process is the one inside the namespace, configured; Janus's binary.
    Inside(PathBuf),
}

/// Called first thing when a run involves Janus. Outside the namespace: installs Janus
/// if `install` (the namespace has no route to a package mirror), then re-executes the
/// benchmark under `unshare --net`. Inside: configures the namespace.
pub fn enter_namespace(install: bool) -> anyhow::Result<Entered> {
    if netns::inside() {
        netns::configure()?;
        let bin = setup::find_janus().ok_or_else(|| anyhow::anyhow!(setup::missing_message()))?;
        return Ok(Entered::Inside(bin));
    }
    setup::ensure_installed(install)?;
    Ok(Entered::Parent(netns::reexec()?))
}

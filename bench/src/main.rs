//! `bridge-bench`: the benchmarks of docs/performance.md.
//!
//!   bridge-bench fanout --subscribers 10 [--window 10] [--warmup 3] [--out bench/results]
//!   bridge-bench storm --subscribers 50
//!   bridge-bench fanout --subscribers 50 --peer both [--janus-event-loops 2] [--install-janus]
//!   bridge-bench conference [--sites 220] [--window 10] [--warmup 5]
//!   bridge-bench floor
//!
//! Runs the `bridge` binary of the same build profile (`cargo build --release` first,
//! then `cargo run --release -p bridge-bench -- …`), or the one `BRIDGE_BIN` names.

use bridge_bench::fanout::{FanoutOptions, run};
use bridge_bench::floor;
use bridge_bench::janus::{self, Entered, JanusConfig};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Benchmarks of the meeting bridge")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One publisher (≈1 Mbit/s VP8 + Opus) to N subscribers.
    Fanout(Run),
    /// Fan-out where every subscriber asks for a keyframe at once, mid-window.
    Storm(Run),
    /// The Phú Thọ conference: a simulcast chair and N sites (units-phu-tho.csv).
    Conference(ConferenceRunArgs),
    /// SRTP protect + UDP send per packet: the floor our per-packet cost is compared to.
    Floor {
        #[arg(long, default_value_t = 200_000)]
        packets: usize,
        #[arg(long, default_value_t = 50)]
        destinations: usize,
    },
}

#[derive(clap::Args)]
struct Run {
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    window: u64,
    /// Seconds after everyone receives, before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The server(s) measured: ours, Janus, or both in the same run (ours first).
    #[arg(long, value_enum, default_value_t = Peer::Bridge)]
    peer: Peer,
    /// Janus's `event_loops` (default: Janus's own, a thread per handle).
    #[arg(long)]
    janus_event_loops: Option<u32>,
    /// Install Debian's `janus` package with apt-get if it is missing.
    #[arg(long)]
    install_janus: bool,
}

#[derive(clap::Args)]
struct ConferenceRunArgs {
    /// Sites besides the chair (1..=220).
    #[arg(long, default_value_t = 220)]
    sites: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    window: u64,
    /// Seconds after every view is set, before measuring.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Peer {
    Bridge,
    Janus,
    Both,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Janus needs a private network namespace on loopback: the whole process re-runs
    // itself inside one (see bridge_bench::janus::netns) before anything else starts.
    let janus_bin = match &cli.cmd {
        Cmd::Fanout(r) | Cmd::Storm(r) if r.peer != Peer::Bridge => {
            match janus::enter_namespace(r.install_janus)? {
                Entered::Parent(code) => std::process::exit(code),
                Entered::Inside(bin) => Some(bin),
            }
        }
        _ => None,
    };
    if !matches!(cli.cmd, Cmd::Floor { .. }) {
        let bin = bridge_e2e::server::bridge_bin()?;
        eprintln!("server under test: {}", bin.display());
    }
    match cli.cmd {
        Cmd::Floor {
            packets,
            destinations,
        } => {
            let f = floor::measure(packets, destinations)?;
            println!("{}", serde_json::to_string_pretty(&f)?);
        }
        Cmd::Fanout(r) => fanout(r, false, janus_bin).await?,
        Cmd::Storm(r) => fanout(r, true, janus_bin).await?,
        Cmd::Conference(r) => conference(r).await?,
    }
    Ok(())
}

async fn conference(r: ConferenceRunArgs) -> anyhow::Result<()> {
    use bridge_bench::conference::{self, ConferenceOptions};
    let opts = ConferenceOptions {
        sites: r.sites,
        warmup: Duration::from_secs(r.warmup),
        window: Duration::from_secs(r.window),
        ..Default::default()
    };
    let run = conference::run(&opts).await?;
    let mut report = run.report;
    let f = floor::measure(100_000, r.sites + 1)?;
    report.floor_us = Some(f.floor_us);
    report.multiple_of_floor = Some(report.server_us_per_packet / f.floor_us);
    let (json, md) = report.write(&r.out)?;
    let details = conference::write_details(&r.out, &report, &run.details)?;
    println!("{}", report.markdown());
    eprintln!(
        "written: {}, {} and {}",
        json.display(),
        md.display(),
        details.display()
    );
    Ok(())
}

async fn fanout(r: Run, storm: bool, janus_bin: Option<PathBuf>) -> anyhow::Result<()> {
    let opts = FanoutOptions {
        subscribers: r.subscribers,
        warmup: Duration::from_secs(r.warmup),
        window: Duration::from_secs(r.window),
        keyframe_storm: storm,
        ..Default::default()
    };
    let f = floor::measure(100_000, r.subscribers.max(1))?;
    let with_floor = |mut report: bridge_bench::report::Report| {
        report.floor_us = Some(f.floor_us);
        report.multiple_of_floor = Some(report.server_us_per_packet / f.floor_us);
        report
    };
    // With `both`, a failed run of one server still lets the other be measured and
    // written; the failure is reported and makes the exit status non-zero at the end.
    let mut failed: Option<anyhow::Error> = None;
    let ours = match r.peer {
        Peer::Bridge => Some(with_floor(run(&opts).await?)),
        Peer::Both => match run(&opts).await {
            Ok(report) => Some(with_floor(report)),
            Err(e) => {
                eprintln!("our server's run failed: {e:#}");
                failed = Some(e.context("our server's run"));
                None
            }
        },
        Peer::Janus => None,
    };
    let janus = match (&janus_bin, r.peer) {
        (Some(bin), Peer::Janus | Peer::Both) => {
            // Let the machine settle after our run (its clients' sockets, the server's exit).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let cfg = JanusConfig {
                event_loops: r.janus_event_loops,
            };
            Some((with_floor(janus::run_janus(&opts, bin, &cfg).await?), cfg))
        }
        _ => None,
    };
    match (ours, janus) {
        (Some(ours), Some((janus, cfg))) => {
            println!("{}\n\n{}", ours.markdown(), janus.markdown());
            let path = janus::compare::write(&r.out, &ours, &janus, &cfg)?;
            println!("{}", janus::compare::line(&ours, &janus, &cfg));
            eprintln!(
                "written under {}: both reports and {}",
                r.out.display(),
                path.display()
            );
        }
        (Some(report), None) => {
            let (json, md) = report.write(&r.out)?;
            println!("{}", report.markdown());
            eprintln!("written: {} and {}", json.display(), md.display());
        }
        (None, Some((report, cfg))) => {
            let json = janus::compare::write_janus(&r.out, &report, &cfg)?;
            println!("{}", report.markdown());
            eprintln!("written: {} and its .md", json.display());
        }
        (None, None) => anyhow::bail!("nothing was measured"),
    }
    failed.map_or(Ok(()), Err)
}

//! `bridge-bench`: the benchmarks of docs/performance.md.
//!
//!   bridge-bench fanout --subscribers 10 [--window 10] [--warmup 3] [--out bench/results]
//!   bridge-bench storm --subscribers 50
//!   bridge-bench floor
//!
//! Runs the `bridge` binary of the same build profile (`cargo build --release` first,
//! then `cargo run --release -p bridge-bench -- …`), or the one `BRIDGE_BIN` names.

use bridge_bench::fanout::{FanoutOptions, run};
use bridge_bench::floor;
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
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
        Cmd::Fanout(r) => fanout(r, false).await?,
        Cmd::Storm(r) => fanout(r, true).await?,
    }
    Ok(())
}

async fn fanout(r: Run, storm: bool) -> anyhow::Result<()> {
    let opts = FanoutOptions {
        subscribers: r.subscribers,
        warmup: Duration::from_secs(r.warmup),
        window: Duration::from_secs(r.window),
        keyframe_storm: storm,
        ..Default::default()
    };
    let mut report = run(&opts).await?;
    let f = floor::measure(100_000, r.subscribers.max(1))?;
    report.floor_us = Some(f.floor_us);
    report.multiple_of_floor = Some(report.server_us_per_packet / f.floor_us);
    let (json, md) = report.write(&r.out)?;
    println!("{}", report.markdown());
    eprintln!("written: {} and {}", json.display(), md.display());
    Ok(())
}

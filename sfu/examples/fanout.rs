//! Rough measurement (not a test): server CPU per forwarded packet with one
//! publisher (~1 Mbit/s synthetic VP8 + Opus) and N subscribers, all in this
//! process on loopback. Only the media loop's own thread is charged, read from
//! /proc/self/task/*/stat. Usage: cargo run --release -p bridge-sfu --example fanout -- [N] [SECONDS]

#[path = "../tests/common/mod.rs"]
mod common;

use bridge_sfu::*;
use common::{Client, Options, Publish, wait_until};
use std::time::{Duration, Instant};

/// utime + stime of the thread named `sfu-media`, in clock ticks.
fn media_thread_ticks() -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        let (name_end, rest) = (stat.rfind(')')?, &stat[stat.rfind(')')? + 2..]);
        if !stat[..name_end].ends_with("(sfu-media") {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        return Some(utime + stime);
    }
    None
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let secs: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let sfu = Sfu::start(SfuConfig {
        udp_bind: "127.0.0.1:0".parse().unwrap(),
        tcp_bind: None,
        ..SfuConfig::default()
    })
    .await
    .unwrap();
    // 5000 bytes x 25 fps = 1 Mbit/s of video payload.
    let publisher = Client::join_with(
        &sfu,
        "bench",
        "pub",
        Options {
            publish: Some(Publish { frame_bytes: 5000 }),
            ..Options::default()
        },
    )
    .await;
    let mut subs = Vec::new();
    for i in 0..n {
        subs.push(Client::join_with(&sfu, "bench", &format!("sub{i}"), Options::default()).await);
    }
    let ok = wait_until(Duration::from_secs(30), || {
        subs.iter().all(|s| s.received(&publisher, "video") > 50)
    })
    .await;
    assert!(ok, "subscribers are not receiving");
    let s0 = sfu.stats().await;
    let t0 = media_thread_ticks().expect("media thread");
    let w0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let t1 = media_thread_ticks().expect("media thread");
    let s1 = sfu.stats().await;
    let wall = w0.elapsed().as_secs_f64();
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let cpu = (t1 - t0) as f64 / ticks_per_sec;
    let fwd = s1.packets_forwarded - s0.packets_forwarded;
    let inn = s1.packets_in - s0.packets_in;
    let mbit = (s1.bytes_forwarded - s0.bytes_forwarded) as f64 * 8.0 / wall / 1e6 / n as f64;
    println!(
        "subscribers={n} window={wall:.1}s packets_in={inn} forwarded={fwd} ({:.0}/s) \
         payload_per_subscriber={mbit:.2} Mbit/s media_thread_cpu={cpu:.2}s ({:.0}% of a core) \
         cpu_per_forwarded_packet={:.2} us retransmissions={} keyframe_requests={}",
        fwd as f64 / wall,
        cpu / wall * 100.0,
        cpu / fwd.max(1) as f64 * 1e6,
        s1.retransmissions,
        s1.keyframe_requests_sent,
    );
    for s in subs {
        sfu.leave(&s.id).await;
        s.close().await;
    }
    sfu.leave(&publisher.id).await;
    publisher.close().await;
    sfu.shutdown().await;
}

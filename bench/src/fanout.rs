//! Fan-out 1→N through the real `bridge` binary: one publisher (≈1 Mbit/s synthetic VP8
//! with its send time in every frame, plus Opus) and N receiving sites, all real WebRTC
//! clients (DTLS-SRTP, ICE, RTCP) in this process. The server's own CPU time comes from
//! /proc, forwarded packets from its `/healthz` counters.

use crate::procstat::{cpu_micros, rss_kib};
use crate::report::{Report, percentile};
use anyhow::{Context, bail};
use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::recv::Kind;
use bridge_e2e::server::BridgeServer;
use std::time::{Duration, Instant};

const ROOM: &str = "u-25";

#[derive(Debug, Clone)]
pub struct FanoutOptions {
    pub subscribers: usize,
    pub warmup: Duration,
    pub window: Duration,
    pub video_bps: u32,
    /// Every subscriber asks for a keyframe at once, mid-window (the storm scenario).
    pub keyframe_storm: bool,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        FanoutOptions {
            subscribers: 10,
            warmup: Duration::from_secs(3),
            window: Duration::from_secs(10),
            video_bps: 1_000_000,
            keyframe_storm: false,
        }
    }
}

/// `(packets_forwarded, bytes_forwarded)` from the server's health counters.
async fn forwarded(http: &reqwest::Client, server: &BridgeServer) -> anyhow::Result<(u64, u64)> {
    let h: serde_json::Value = http
        .get(format!("{}/healthz", server.http_url()))
        .send()
        .await?
        .json()
        .await?;
    let sfu = &h["sfu"];
    Ok((
        sfu["packets_forwarded"]
            .as_u64()
            .context("packets_forwarded")?,
        sfu["bytes_forwarded"].as_u64().context("bytes_forwarded")?,
    ))
}

pub async fn run(opts: &FanoutOptions) -> anyhow::Result<Report> {
    let server = BridgeServer::start().await?;
    let pid = server.pid();
    let rss_idle = rss_kib(pid)? as f64;
    let http = reqwest::Client::new();

    let publisher = Client::join(
        &server,
        ROOM,
        "Tỉnh Phú Thọ (chủ trì)",
        ClientOptions {
            tone_hz: Some(440.0),
            video_bps: Some(opts.video_bps),
            keyframe_every: None,
            stamp_send_time: true,
            ..Default::default()
        },
    )
    .await?;
    let mut subs = Vec::with_capacity(opts.subscribers);
    for i in 0..opts.subscribers {
        let name = format!("Điểm cầu {:03}", i + 1);
        subs.push(Client::join(&server, ROOM, &name, ClientOptions::silent()).await?);
    }
    let all_video = Duration::from_secs(30 + opts.subscribers as u64 / 5);
    wait_until(all_video, "every subscriber receiving video", || {
        subs.iter().all(|s| s.first_video_at().is_some())
    })
    .await?;
    let mut joins: Vec<f64> = subs
        .iter()
        .filter_map(|s| s.first_video_at().map(|t| t.duration_since(s.opened_at)))
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();

    tokio::time::sleep(opts.warmup).await;
    for s in &subs {
        s.reset_loss();
    }
    let kf0 = publisher.keyframe_requests();
    let (cpu0, (pk0, by0), t0) = (
        cpu_micros(pid)?,
        forwarded(&http, &server).await?,
        Instant::now(),
    );
    if opts.keyframe_storm {
        tokio::time::sleep(opts.window / 2).await;
        for s in &subs {
            s.request_keyframe(&publisher.id).await?;
        }
        tokio::time::sleep(opts.window - opts.window / 2).await;
    } else {
        tokio::time::sleep(opts.window).await;
    }
    let (cpu1, (pk1, by1), secs) = (
        cpu_micros(pid)?,
        forwarded(&http, &server).await?,
        t0.elapsed().as_secs_f64(),
    );
    let rss_loaded = rss_kib(pid)? as f64;
    let packets = pk1.saturating_sub(pk0);
    if packets == 0 {
        bail!("the server forwarded nothing in the window");
    }

    let mut losses: Vec<f64> = subs
        .iter()
        .map(|s| {
            let v = s.stream(&publisher.id, Kind::Video);
            v.map_or(100.0, |v| 100.0 * v.lost as f64 / v.expected.max(1) as f64)
        })
        .collect();
    let mut delays: Vec<f64> = subs
        .iter()
        .flat_map(|s| s.delays_us(&publisher.id))
        .map(|us| f64::from(us) / 1e3)
        .collect();
    let cpu_us = cpu1.saturating_sub(cpu0) as f64;
    let participants = opts.subscribers + 1;
    let report = Report {
        scenario: if opts.keyframe_storm {
            format!("keyframe-storm-{}", opts.subscribers)
        } else {
            format!("fanout-{}", opts.subscribers)
        },
        server: "bridge".into(),
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        subscribers: opts.subscribers,
        window_s: secs,
        forwarded_pps: packets as f64 / secs,
        forwarded_mbps: by1.saturating_sub(by0) as f64 * 8.0 / secs / 1e6,
        server_cpu_percent: 100.0 * cpu_us / (secs * 1e6),
        server_us_per_packet: cpu_us / packets as f64,
        loss_worst_pct: losses.iter().copied().fold(0.0, f64::max),
        loss_median_pct: percentile(&mut losses, 50.0).unwrap_or(0.0),
        delay_p50_ms: percentile(&mut delays, 50.0),
        delay_p99_ms: percentile(&mut delays, 99.0),
        join_p50_ms: percentile(&mut joins, 50.0).unwrap_or(0.0),
        join_p90_ms: percentile(&mut joins, 90.0).unwrap_or(0.0),
        join_max_ms: joins.iter().copied().fold(0.0, f64::max),
        rss_idle_mib: rss_idle / 1024.0,
        rss_loaded_mib: rss_loaded / 1024.0,
        rss_per_participant_kib: (rss_loaded - rss_idle) / participants as f64,
        keyframe_requests_at_publisher: publisher.keyframe_requests() - kf0,
        floor_us: None,
        multiple_of_floor: None,
        notes: vec![format!(
            "Load generator: {} webrtc-rs clients in one process on the same 2 cores as the server, \
             so figures include that contention.",
            participants
        )],
    };
    for s in subs {
        s.leave(Duration::from_secs(2)).await.ok();
    }
    publisher.leave(Duration::from_secs(2)).await.ok();
    Ok(report)
}

//! Fan-out 1→N through the real `bridge` binary: one publisher (≈1 Mbit/s synthetic VP8
//! with its send time in every frame, plus Opus) and N receiving sites, all real WebRTC
//! clients (DTLS-SRTP, ICE, RTCP) in this process. The server's own CPU time comes from
//! /proc, forwarded packets from its `/healthz` counters.

use crate::measure::{self, Counters, Memory, Samples, Window};
use crate::report::Report;
use anyhow::bail;
use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::recv::Kind;
use bridge_e2e::server::BridgeServer;
use std::time::Duration;

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

/// The publisher of every fan-out, ours and Janus's alike: a tone and stamped video
/// at `video_bps`, keyframes only when asked for.
pub fn publisher_options(video_bps: u32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(440.0),
        video_bps: Some(video_bps),
        keyframe_every: None,
        stamp_send_time: true,
        ..Default::default()
    }
}

pub async fn run(opts: &FanoutOptions) -> anyhow::Result<Report> {
    let server = BridgeServer::start().await?;
    let mem = Memory::idle(&server)?;
    let http = reqwest::Client::new();

    let publisher = Client::join(
        &server,
        ROOM,
        "Tỉnh Phú Thọ (chủ trì)",
        publisher_options(opts.video_bps),
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
    let joins: Vec<f64> = subs
        .iter()
        .filter_map(|s| s.first_video_at().map(|t| t.duration_since(s.opened_at)))
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();

    tokio::time::sleep(opts.warmup).await;
    for s in &subs {
        s.reset_loss();
    }
    let kf0 = publisher.keyframe_requests();
    let c0 = Counters::read(&http, &server).await?;
    if opts.keyframe_storm {
        tokio::time::sleep(opts.window / 2).await;
        for s in &subs {
            s.request_keyframe(&publisher.id).await?;
        }
        tokio::time::sleep(opts.window - opts.window / 2).await;
    } else {
        tokio::time::sleep(opts.window).await;
    }
    let w = Window::between(&c0, &Counters::read(&http, &server).await?);
    let mem = mem.loaded(&server)?;
    if w.packets == 0 {
        bail!("the server forwarded nothing in the window");
    }

    let losses: Vec<f64> = subs
        .iter()
        .map(|s| {
            let v = s.stream(&publisher.id, Kind::Video);
            v.map_or(100.0, |v| 100.0 * v.lost as f64 / v.expected.max(1) as f64)
        })
        .collect();
    let delays_ms: Vec<f64> = subs
        .iter()
        .flat_map(|s| s.delays_us(&publisher.id))
        .map(|us| f64::from(us) / 1e3)
        .collect();
    let participants = opts.subscribers + 1;
    let scenario = if opts.keyframe_storm {
        format!("keyframe-storm-{}", opts.subscribers)
    } else {
        format!("fanout-{}", opts.subscribers)
    };
    let samples = Samples {
        losses,
        delays_ms,
        joins_ms: joins,
    };
    let mut report = measure::report(scenario, opts.subscribers, participants, &w, samples, mem)?;
    report.keyframe_requests_at_publisher = publisher.keyframe_requests() - kf0;
    report.notes = vec![format!(
        "Load generator: {} webrtc-rs clients in one process on the same 2 cores as the server, \
         so figures include that contention.",
        participants
    )];
    for s in subs {
        s.leave(Duration::from_secs(2)).await.ok();
    }
    publisher.leave(Duration::from_secs(2)).await.ok();
    Ok(report)
}

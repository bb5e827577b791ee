//! The fan-out scenario against Janus's VideoRoom, with the same load and the same
//! report as ours ([`crate::fanout`]): one publisher, N subscribers, warm-up, window.

use super::api::Api;
use super::peer::{JanusPublisher, JanusSubscriber, VIDEOROOM};
use super::setup::{API_URL, JanusConfig, JanusProcess};
use crate::fanout::FanoutOptions;
use crate::procstat::{cpu_micros, rss_kib};
use crate::report::{Report, percentile};
use anyhow::{Context, bail};
use bridge_e2e::client::wait_until;
use bridge_e2e::recv::Kind;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// The VideoRoom room of the benchmark (any free number; Janus starts empty).
const ROOM: u64 = 2525;

/// Runs the fan-out (or keyframe storm) against a Janus started for this run with `cfg`.
/// Must run inside the benchmark's network namespace (see [`super::netns`]).
pub async fn run_janus(
    opts: &FanoutOptions,
    janus_bin: &Path,
    cfg: &JanusConfig,
) -> anyhow::Result<Report> {
    let janus = JanusProcess::start(janus_bin, cfg).await?;
    eprintln!(
        "Janus {} running (pid {}, {})",
        janus.version,
        janus.pid,
        cfg.label()
    );
    let result = measure(opts, &janus, cfg).await;
    if result.is_err() {
        eprintln!("Janus's log ends:\n{}", janus.log_tail(20));
    }
    drop(janus); // stopped by its PID
    result
}

async fn measure(
    opts: &FanoutOptions,
    janus: &JanusProcess,
    cfg: &JanusConfig,
) -> anyhow::Result<Report> {
    let pid = janus.pid;
    let api = Api::new(API_URL)?;

    // The room, created by a handle of its own (as a scheduler would).
    let admin = api.create_session().await?;
    let admin_handle = admin.attach(VIDEOROOM).await?;
    let created = admin
        .request(
            admin_handle,
            json!({
                "request": "create", "room": ROOM, "description": "bench fan-out",
                "publishers": 1, "bitrate": 2_000_000, "audiocodec": "opus",
                "videocodec": "vp8", "record": false, "permanent": false,
            }),
        )
        .await
        .context("creating the VideoRoom room")?;
    if created["videoroom"] != "created" {
        bail!("unexpected answer to the room's creation: {created}");
    }
    let rss_idle = rss_kib(pid)? as f64;

    let publisher = JanusPublisher::join(
        &api,
        ROOM,
        "Tỉnh Phú Thọ (chủ trì)",
        crate::fanout::publisher_options(opts.video_bps),
    )
    .await
    .context("the publisher joining Janus")?;
    let mut subs = Vec::with_capacity(opts.subscribers);
    for i in 0..opts.subscribers {
        subs.push(
            JanusSubscriber::join(&api, ROOM, publisher.feed)
                .await
                .with_context(|| format!("subscriber {} joining Janus", i + 1))?,
        );
    }
    let all_video = Duration::from_secs(30 + opts.subscribers as u64 / 5);
    wait_until(all_video, "every Janus subscriber receiving video", || {
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
    let received = |subs: &[JanusSubscriber]| -> (u64, u64) {
        subs.iter()
            .fold((0, 0), |(p, b), s| (p + s.packets(), b + s.bytes()))
    };
    let kf0 = publisher.keyframe_requests();
    let (cpu0, (pk0, by0), t0) = (cpu_micros(pid)?, received(&subs), Instant::now());
    if opts.keyframe_storm {
        tokio::time::sleep(opts.window / 2).await;
        for s in &subs {
            s.request_keyframe().await?;
        }
        tokio::time::sleep(opts.window - opts.window / 2).await;
    } else {
        tokio::time::sleep(opts.window).await;
    }
    let (cpu1, (pk1, by1), secs) = (
        cpu_micros(pid)?,
        received(&subs),
        t0.elapsed().as_secs_f64(),
    );
    let rss_loaded = rss_kib(pid)? as f64;
    let packets = pk1.saturating_sub(pk0);
    if packets == 0 {
        bail!("the subscribers received nothing through Janus in the window");
    }

    let mut losses: Vec<f64> = subs
        .iter()
        .map(|s| {
            s.stream(Kind::Video)
                .map_or(100.0, |v| 100.0 * v.lost as f64 / v.expected.max(1) as f64)
        })
        .collect();
    let mut delays: Vec<f64> = subs
        .iter()
        .flat_map(|s| s.delays_us())
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
        server: "janus".into(),
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
        notes: vec![
            format!(
                "Janus {} (Debian's package), VideoRoom, {}{}; HTTP REST signaling, one session \
                 per participant; run in a private network namespace with 127.0.0.1 on an ifb \
                 device.",
                janus.version,
                cfg.label(),
                if cfg.event_loops.is_none() {
                    " (a thread per handle)"
                } else {
                    ""
                },
            ),
            "Forwarded packets = RTP packets (audio + video) received by all subscribers: Janus \
             has no forwarding counter we trust, so its CPU is divided by what arrived. Mbit/s \
             counts RTP payload bytes only."
                .to_owned(),
            format!(
                "Load generator: {participants} webrtc-rs clients in one process on the same 2 \
                 cores as Janus, so figures include that contention."
            ),
        ],
    };
    for s in subs {
        s.close().await;
    }
    publisher.close().await;
    let _ = admin.destroy().await;
    Ok(report)
}

//! What every scenario measures the same way: the server's forwarded packets and bytes
//! (its `/healthz` counters), its CPU time and memory (/proc), the load generator's own
//! CPU time, and the figures of a [`Report`] computed from per-subscriber samples.

use crate::procstat::{cpu_micros, rss_kib};
use crate::report::{Report, percentile};
use anyhow::Context;
use bridge_e2e::server::BridgeServer;
use std::time::Instant;

/// `(packets_forwarded, bytes_forwarded)` from the server's health counters.
pub async fn forwarded(
    http: &reqwest::Client,
    server: &BridgeServer,
) -> anyhow::Result<(u64, u64)> {
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

/// The counters at one moment.
pub struct Counters {
    at: Instant,
    server_cpu_us: u64,
    generator_cpu_us: u64,
    packets: u64,
    bytes: u64,
}

impl Counters {
    pub async fn read(http: &reqwest::Client, server: &BridgeServer) -> anyhow::Result<Self> {
        let (packets, bytes) = forwarded(http, server).await?;
        Ok(Counters {
            at: Instant::now(),
            server_cpu_us: cpu_micros(server.pid())?,
            generator_cpu_us: cpu_micros(std::process::id())?,
            packets,
            bytes,
        })
    }
}

/// The difference of two [`Counters`]: one measured window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub secs: f64,
    pub server_cpu_us: f64,
    /// The load generator (this process): on a shared machine its share tells whether
    /// the figures are the server's or the generator's limits.
    pub generator_cpu_us: f64,
    pub packets: u64,
    pub bytes: u64,
}

impl Window {
    pub fn between(a: &Counters, b: &Counters) -> Window {
        Window {
            secs: b.at.duration_since(a.at).as_secs_f64(),
            server_cpu_us: b.server_cpu_us.saturating_sub(a.server_cpu_us) as f64,
            generator_cpu_us: b.generator_cpu_us.saturating_sub(a.generator_cpu_us) as f64,
            packets: b.packets.saturating_sub(a.packets),
            bytes: b.bytes.saturating_sub(a.bytes),
        }
    }

    pub fn generator_cpu_percent(&self) -> f64 {
        100.0 * self.generator_cpu_us / (self.secs * 1e6)
    }
}

/// Per-subscriber and per-join samples of a run.
#[derive(Debug, Default)]
pub struct Samples {
    /// Video loss per subscriber, percent.
    pub losses: Vec<f64>,
    /// One-way delays of stamped frames, ms.
    pub delays_ms: Vec<f64>,
    /// Join times (WebSocket open to first video), ms.
    pub joins_ms: Vec<f64>,
}

/// Server memory before and after the participants came.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub idle_kib: f64,
    pub loaded_kib: f64,
}

impl Memory {
    pub fn idle(server: &BridgeServer) -> anyhow::Result<Self> {
        let kib = rss_kib(server.pid())? as f64;
        Ok(Memory {
            idle_kib: kib,
            loaded_kib: kib,
        })
    }

    pub fn loaded(self, server: &BridgeServer) -> anyhow::Result<Self> {
        Ok(Memory {
            loaded_kib: rss_kib(server.pid())? as f64,
            ..self
        })
    }
}

/// A bridge report with the figures every scenario computes alike; the caller sets
/// the keyframe count and notes.
pub fn report(
    scenario: String,
    subscribers: usize,
    participants: usize,
    w: &Window,
    mut s: Samples,
    mem: Memory,
) -> anyhow::Result<Report> {
    Ok(Report {
        scenario,
        server: "bridge".into(),
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        subscribers,
        window_s: w.secs,
        forwarded_pps: w.packets as f64 / w.secs,
        forwarded_mbps: w.bytes as f64 * 8.0 / w.secs / 1e6,
        server_cpu_percent: 100.0 * w.server_cpu_us / (w.secs * 1e6),
        server_us_per_packet: w.server_cpu_us / w.packets.max(1) as f64,
        loss_worst_pct: s.losses.iter().copied().fold(0.0, f64::max),
        loss_median_pct: percentile(&mut s.losses, 50.0).unwrap_or(0.0),
        delay_p50_ms: percentile(&mut s.delays_ms, 50.0),
        delay_p99_ms: percentile(&mut s.delays_ms, 99.0),
        join_p50_ms: percentile(&mut s.joins_ms, 50.0).unwrap_or(0.0),
        join_p90_ms: percentile(&mut s.joins_ms, 90.0).unwrap_or(0.0),
        join_max_ms: s.joins_ms.iter().copied().fold(0.0, f64::max),
        rss_idle_mib: mem.idle_kib / 1024.0,
        rss_loaded_mib: mem.loaded_kib / 1024.0,
        rss_per_participant_kib: (mem.loaded_kib - mem.idle_kib) / participants.max(1) as f64,
        ..Default::default()
    })
}

/// The machine's load average (1, 5, 15 min), as `uptime` shows it.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

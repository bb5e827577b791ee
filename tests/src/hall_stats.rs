//! What a hall experiences, read from its page's own `getStats()`: audio concealment,
//! the main stage's frame rate and picture size, freezes, the longest stretch without a
//! decoded frame, and the bitrates received. These are the figures a person in the hall
//! notices (gaps in the sound, a stuck picture), measured where they happen rather than
//! inferred from what the server or the link sent; `tests/thin_link.rs` compares them with
//! its thresholds and prints them for docs/performance.md. [`flowing_from`] tells, more
//! simply, whether media from one site flows again (after an outage).
//!
//! The page's own view is kept across rejoins: [`hook_stats`] wraps
//! `RTCPeerConnection.prototype.getStats` so that every connection the page asks for
//! stats is remembered with its last figures, even once the page has closed it.

use crate::browser::Browser;
use serde_json::Value;

/// Installed in a page (idempotent): keeps every peer connection the page asks for
/// stats (the page does so every 2 s, and `window.bridge.inbound()` does too), and
/// every 200 ms records each inbound stream's figures, so that a connection the page
/// closes (a rejoin) keeps its last ones, and the longest stretch in which the page
/// decoded no video frame at all (in a two-site meeting its only remote picture is the
/// other site's camera, on the main stage).
const STATS_HOOK: &str = r#"
if (!window.__thin) {
  const orig = RTCPeerConnection.prototype.getStats;
  const pcs = new Map();
  RTCPeerConnection.prototype.getStats = function (...args) {
    if (!pcs.has(this)) pcs.set(this, pcs.size + 1);
    return orig.apply(this, args);
  };
  const st = { orig, pcs, last: new Map(), who: new Map(),
               frames: 0, frameAt: performance.now(), longest: 0 };
  st.sample = async () => {
    const now = performance.now();
    for (const [pc, n] of pcs) {
      if (pc.connectionState === 'closed') continue;
      const report = await orig.call(pc);
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const key = n + ':' + s.id;
        const who = st.who.get(n + ':' + s.mid);
        st.last.set(key, { key, kind: s.kind, mid: s.mid ?? null,
          participant: who ? who.participant_id : null, source: who ? who.source : null,
          bytes: s.bytesReceived ?? 0, packets: s.packetsReceived ?? 0,
          lost: s.packetsLost ?? 0, frames: s.framesDecoded ?? 0,
          width: s.frameWidth ?? 0, height: s.frameHeight ?? 0,
          freezes: s.freezeCount ?? 0, freezeSecs: s.totalFreezesDuration ?? 0,
          concealed: s.concealedSamples ?? 0, samples: s.totalSamplesReceived ?? 0 });
      });
    }
    let frames = 0;
    for (const r of st.last.values()) if (r.kind === 'video') frames += r.frames;
    if (frames > st.frames) {
      st.longest = Math.max(st.longest, now - st.frameAt);
      st.frames = frames;
      st.frameAt = now;
    }
    return now;
  };
  // Who sends what: the page's own view of its current subscribe connection (the
  // newest one with inbound streams).
  st.map = async () => {
    const shown = await window.bridge.inbound();
    let sub = null;
    for (const [pc, n] of pcs) {
      if (pc.connectionState === 'closed') continue;
      const report = await orig.call(pc);
      let inbound = false;
      report.forEach((s) => { if (s.type === 'inbound-rtp') inbound = true; });
      if (inbound) sub = n;
    }
    if (sub !== null) for (const s of shown) if (s.mid !== null) st.who.set(sub + ':' + s.mid, s);
  };
  st.timer = setInterval(() => st.sample().catch(() => {}), 200);
  st.mapTimer = setInterval(() => st.map().catch(() => {}), 1000);
  window.__thin = st;
}
await window.bridge.inbound();
await window.__thin.map();
return true;
"#;

/// Reads every inbound stream the page has had, with the participant and source the
/// page shows it as; `arguments_reset` true starts a new count of the longest stretch
/// without a decoded frame (a window's start).
const STATS_READ: &str = r#"
const st = window.__thin;
await st.map();
const now = await st.sample();
const longest = Math.max(st.longest, now - st.frameAt);
if (arguments_reset) { st.longest = 0; st.frameAt = now; }
return { at: now, longestGapMs: longest, streams: [...st.last.values()] };
"#;

/// One reading of a page's inbound streams.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The page's clock (`performance.now()`) at the reading, in milliseconds.
    pub at_ms: f64,
    /// The longest stretch without a decoded video frame since the last reset.
    pub longest_gap_ms: f64,
    /// One object per inbound stream, keyed `key` (connection and stats id).
    pub streams: Vec<Value>,
}

impl Reading {
    fn stream(&self, key: &str) -> Option<&Value> {
        self.streams.iter().find(|s| s["key"] == key)
    }
}

fn num(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or(0.0)
}

/// Installs the stats hook in `b`'s current window (again is harmless) and maps its
/// streams to the participants the page shows.
pub async fn hook_stats(b: &Browser) -> anyhow::Result<()> {
    b.js(STATS_HOOK).await.map(|_| ())
}

/// Reads the page's streams; `reset` starts a new longest-gap count (a window's start).
pub async fn read_stats(b: &Browser, reset: bool) -> anyhow::Result<Reading> {
    hook_stats(b).await?;
    let script = STATS_READ.replace("arguments_reset", if reset { "true" } else { "false" });
    let v = b.js(&script).await?;
    Ok(Reading {
        at_ms: num(&v, "at"),
        longest_gap_ms: num(&v, "longestGapMs"),
        streams: v["streams"].as_array().cloned().unwrap_or_default(),
    })
}

/// What the hall experienced between two readings.
#[derive(Debug)]
pub struct Experience {
    /// The window's length.
    pub secs: f64,
    /// Audio samples concealed and received, over every audio stream.
    pub audio_concealed: f64,
    pub audio_samples: f64,
    /// Received bitrates (`bytesReceived`), every stream of the kind.
    pub audio_kbps: f64,
    pub video_kbps: f64,
    /// Frames decoded per second on the main stage, and the size of its busiest stream.
    pub stage_fps: f64,
    pub stage_size: (u64, u64),
    /// The main stage's freezes as the browser counts them, and their total length in s.
    pub freezes: f64,
    pub freeze_secs: f64,
    /// The longest stretch without any decoded video frame, in seconds.
    pub longest_freeze: f64,
}

impl Experience {
    /// The share of received audio samples the page had to conceal (1.0 without audio).
    pub fn concealment(&self) -> f64 {
        if self.audio_samples > 0.0 {
            self.audio_concealed / self.audio_samples
        } else {
            1.0
        }
    }
}

/// Deltas between `a` and `b`. The main stage is the video of `stage_pid`: every video
/// stream the page received from it in the window (a rejoin brings new streams), and
/// those the page could not yet tell the sender of.
pub fn experience(a: &Reading, b: &Reading, stage_pid: &str) -> Experience {
    let secs = (b.at_ms - a.at_ms) / 1000.0;
    let delta = |s: &Value, field: &str| {
        let before = s["key"]
            .as_str()
            .and_then(|k| a.stream(k))
            .map_or(0.0, |old| num(old, field));
        (num(s, field) - before).max(0.0)
    };
    let (mut concealed, mut samples, mut audio_bytes, mut video_bytes) = (0.0, 0.0, 0.0, 0.0);
    let (mut frames, mut freezes, mut freeze_secs) = (0.0, 0.0, 0.0);
    let mut size = (0, 0);
    let mut most_frames = -1.0;
    for s in &b.streams {
        if s["kind"] == "audio" {
            concealed += delta(s, "concealed");
            samples += delta(s, "samples");
            audio_bytes += delta(s, "bytes");
            continue;
        }
        video_bytes += delta(s, "bytes");
        if !(s["participant"] == stage_pid || s["participant"].is_null()) {
            continue;
        }
        let f = delta(s, "frames");
        frames += f;
        freezes += delta(s, "freezes");
        freeze_secs += delta(s, "freezeSecs");
        if f > most_frames {
            most_frames = f;
            size = (
                s["width"].as_u64().unwrap_or(0),
                s["height"].as_u64().unwrap_or(0),
            );
        }
    }
    Experience {
        secs,
        audio_concealed: concealed,
        audio_samples: samples,
        audio_kbps: audio_bytes * 8.0 / secs / 1000.0,
        video_kbps: video_bytes * 8.0 / secs / 1000.0,
        stage_fps: frames / secs,
        stage_size: size,
        freezes,
        freeze_secs,
        longest_freeze: b.longest_gap_ms / 1000.0,
    }
}

/// What `b` receives from the participant named `from` that shows media flowing: frames
/// decoded (video) or packets (audio); None while that participant is not listed.
pub async fn flowing_from(b: &Browser, from: &str, kind: &str) -> anyhow::Result<Option<f64>> {
    let v = b
        .eval(&format!(
            "const o = window.bridge.participants.find(p => p.name === {name}); \
             if (!o) return null; \
             return window.bridge.inbound().then(l => l \
               .filter(s => s.participant_id === o.id && s.kind === {kind}) \
               .reduce((a, s) => a + (s.kind === 'video' ? s.framesDecoded : s.packetsReceived), 0));",
            name = serde_json::to_string(from)?,
            kind = serde_json::to_string(kind)?
        ))
        .await?;
    Ok(v.as_f64())
}

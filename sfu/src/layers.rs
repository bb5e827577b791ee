//! Simulcast layer selection, pure and on the caller's clock.
//!
//! A publisher may send up to three encodings of one video (rids `q`, `h`, `f`: quarter,
//! half and full resolution). Each subscriber receives one of them per video, chosen from
//! what it shows the video as ([`View`]) and what its link carries (the bandwidth
//! estimate of its subscribe connection): [`allocate`]. A subscription changes layer only
//! at a keyframe of the new layer ([`LayerSwitch`]), so the decoder never sees a frame
//! that refers to a picture it does not have; the `Rewriter` keeps sequence numbers and
//! timestamps continuous across the change.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most this many encodings per video.
pub const MAX_LAYERS: usize = 3;
/// Below this estimate a subscriber gets the main stage at the lowest layer only.
pub const THIN_LINK_BPS: u64 = 300_000;
/// Below this estimate a subscriber gets audio only.
pub const AUDIO_ONLY_BPS: u64 = 100_000;
/// A layer is taken up only if its rate fits this many times into what is left: the
/// estimate moves, and a layer that barely fits would be dropped again at once.
const UPGRADE_HEADROOM: f64 = 1.25;
/// What the audio of the (at most three) forwarded speakers needs, kept off the video.
const AUDIO_RESERVE_BPS: u64 = 3 * 40_000;

/// How a subscriber shows one video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// On the main stage: the best layer the link carries.
    #[default]
    High,
    /// A thumbnail: the lowest layer.
    Low,
    /// Not shown: nothing.
    Off,
}

/// The layer index a rid stands for (0 lowest). Chrome and LiveKit name them q/h/f,
/// mediasoup r0/r1/r2; a stream without a rid is layer 0 of a single-layer video.
pub fn layer_of_rid(rid: &str) -> Option<usize> {
    match rid {
        "" | "q" | "l" | "low" | "r0" | "0" => Some(0),
        "h" | "m" | "mid" | "r1" | "1" => Some(1),
        "f" | "high" | "r2" | "2" => Some(2),
        _ => None,
    }
}

/// One video as the allocator sees it for one subscriber.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Want {
    pub view: View,
    /// Measured rate of each layer the publisher has sent (None: no such layer).
    pub rates: [Option<u64>; MAX_LAYERS],
    /// The layer the subscriber receives now, if any.
    pub current: Option<usize>,
}

/// Picks one layer (or none) per video for one subscriber. `estimate` is the subscribe
/// connection's bandwidth estimate in bit/s, `None` when the client reports none (then
/// only the views count). Main-stage videos are served first.
pub fn allocate(estimate: Option<u64>, wants: &[Want]) -> Vec<Option<usize>> {
    let lowest = |w: &Want| w.rates.iter().position(Option::is_some);
    let highest = |w: &Want| w.rates.iter().rposition(Option::is_some);
    let mut out: Vec<Option<usize>> = wants
        .iter()
        .map(|w| match w.view {
            View::Off => None,
            View::Low => lowest(w),
            View::High => highest(w),
        })
        .collect();
    let Some(estimate) = estimate else {
        return out;
    };
    if estimate < AUDIO_ONLY_BPS {
        return vec![None; wants.len()];
    }
    if estimate < THIN_LINK_BPS {
        return wants
            .iter()
            .map(|w| (w.view == View::High).then(|| lowest(w)).flatten())
            .collect();
    }
    let mut left = estimate.saturating_sub(AUDIO_RESERVE_BPS) as f64;
    for pass in [View::High, View::Low] {
        for (i, w) in wants.iter().enumerate() {
            if w.view != pass {
                continue;
            }
            let Some(best) = out[i] else { continue };
            let fits = |l: usize| {
                let rate = w.rates[l].unwrap_or(0) as f64;
                let need = if w.current.is_some_and(|c| l <= c) {
                    rate
                } else {
                    rate * UPGRADE_HEADROOM
                };
                need <= left
            };
            let pick = (0..=best).rev().find(|&l| w.rates[l].is_some() && fits(l));
            // The main stage keeps at least its lowest layer while the link is not thin.
            let pick = pick.or_else(|| (pass == View::High).then(|| lowest(w)).flatten());
            if let Some(l) = pick {
                left -= w.rates[l].unwrap_or(0) as f64;
            }
            out[i] = pick;
        }
    }
    out
}

/// How long the link's estimate must have held a value before the selection counts on
/// it ([`EstimateHold`]): a layer is taken up only once the estimate has carried it,
/// with [`UPGRADE_HEADROOM`], for this long.
pub const HOLD: Duration = Duration::from_secs(2);
/// After the estimate falls, it may not rise again for this long; doubled (up to
/// [`BACKOFF_MAX`]) for each fall soon after the one before: a layer taken up that the
/// link could not carry (a failed trial) is tried again later and later.
pub const BACKOFF_MIN: Duration = Duration::from_secs(4);
pub const BACKOFF_MAX: Duration = Duration::from_secs(64);
/// A fall is a drop of the raw estimate below this share of the one before (GCC's
/// decrease is to 0.85 × the received rate; its increases are a few per cent).
const FALL: f64 = 0.9;
/// While the pacer's queue is congested (the video does not fit), the selection counts
/// on this share of the raw estimate: the subscription moves down at once.
pub const CONGESTED_SHARE: f64 = 0.7;

/// The estimate the layer selection may count on, from the raw one of the subscribe
/// connection (GCC in rtc) and the pacer's congestion, on the caller's clock.
///
/// - Down at once: it is never above the raw estimate.
/// - Up only when held: it is the lowest the raw estimate has been over the last
///   [`HOLD`], so the next layer (with its headroom) must have fitted all that time.
/// - Not up after a fall, for a backoff. rtc's GCC raises its target by time alone
///   (8 % a second, or 12 kbit/s per 200 ms once it has backed off) whatever is sent,
///   so a rise is a permission to try, not a measurement: the layer taken up is the
///   probe, and if the link cannot carry it the estimate falls (or the pacer's queue
///   congests), the layer comes down, and the next try waits longer.
#[derive(Debug, Clone, Default)]
pub struct EstimateHold {
    /// (since, value), values increasing: the sliding minimum over [`HOLD`].
    window: VecDeque<(Instant, u64)>,
    last_raw: Option<u64>,
    was_congested: bool,
    /// No rise above the cap before the instant.
    frozen: Option<(Instant, u64)>,
    backoff: Duration,
    /// When the last freeze ended.
    thawed: Option<Instant>,
    current: Option<u64>,
}

impl EstimateHold {
    /// The last value returned by [`Self::update`].
    pub fn current(&self) -> Option<u64> {
        self.current
    }

    /// Takes the raw estimate (bit/s) and the pacer's congestion at `now`; returns the
    /// estimate to select layers by.
    pub fn update(&mut self, now: Instant, raw: u64, congested: bool) -> u64 {
        let fell = self
            .last_raw
            .is_some_and(|last| (raw as f64) < last as f64 * FALL)
            || (congested && !self.was_congested);
        self.last_raw = Some(raw);
        self.was_congested = congested;

        while self.window.back().is_some_and(|&(_, v)| v > raw) {
            self.window.pop_back();
        }
        // An equal value keeps its first instant: it has held since then.
        if self.window.back().is_none_or(|&(_, v)| v != raw) {
            self.window.push_back((now, raw));
        }
        // The front is the minimum since its instant; it leaves once the next one
        // (the minimum of everything after) reigned over the whole window.
        if let Some(start) = now.checked_sub(HOLD) {
            while self.window.len() > 1 && self.window[1].0 <= start {
                self.window.pop_front();
            }
        }
        let held = self.window.front().map_or(raw, |&(_, v)| v);
        // What the link carries now: the raw estimate, cut while the pacer is congested.
        let now_worth = if congested {
            (raw as f64 * CONGESTED_SHARE) as u64
        } else {
            raw
        };

        if fell {
            match self.frozen {
                // Still falling (one congestion lasts many reports): frozen at the
                // lowest, for the backoff from the last fall; no longer backoff.
                Some((until, cap)) if now < until => {
                    let until = until.max(now + self.backoff);
                    self.frozen = Some((until, cap.min(now_worth)));
                }
                _ => {
                    // A fall soon after the last freeze thawed: the rise it allowed
                    // (a layer taken up) did not fit. Back off longer.
                    let soon = self
                        .thawed
                        .is_some_and(|t| now.saturating_duration_since(t) < self.backoff + HOLD);
                    self.backoff = if soon {
                        (self.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX)
                    } else {
                        BACKOFF_MIN
                    };
                    let cap = self.current.map_or(now_worth, |c| c.min(now_worth));
                    self.frozen = Some((now + self.backoff, cap));
                }
            }
        }
        let mut out = held;
        match self.frozen {
            Some((until, cap)) if now < until => out = out.min(cap),
            Some((until, _)) => {
                self.thawed = Some(until);
                self.frozen = None;
            }
            None => {}
        }
        out = out.min(now_worth);
        self.current = Some(out);
        out
    }
}

/// One subscription's layer: what it forwards now, and what it should move to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerSwitch {
    current: Option<usize>,
    target: Option<usize>,
}

impl LayerSwitch {
    pub fn current(&self) -> Option<usize> {
        self.current
    }

    pub fn target(&self) -> Option<usize> {
        self.target
    }

    /// Forwards `layer` from its next packet on: a single-layer video has nothing to
    /// switch from, and its decoder asks for the keyframe it needs.
    pub fn start(&mut self, layer: Option<usize>) {
        self.current = layer;
        self.target = layer;
    }

    /// Sets where to go. Returns true when a keyframe of the target layer is needed
    /// (the switch waits for one). Stopping happens at once.
    pub fn retarget(&mut self, target: Option<usize>) -> bool {
        self.target = target;
        if target.is_none() {
            self.current = None;
        }
        target.is_some() && target != self.current
    }

    /// A packet of `layer` arrived: should it be forwarded? `keyframe_start` is asked
    /// only when the answer depends on it (this packet could complete a switch).
    pub fn on_packet(&mut self, layer: usize, keyframe_start: impl FnOnce() -> bool) -> bool {
        if self.target == Some(layer) && self.current != self.target && keyframe_start() {
            self.current = self.target;
        }
        self.current == Some(layer)
    }
}

/// Bit rate of one stream over a sliding window, without allocation per packet. The
/// last measured rate is kept while the stream pauses (a layer nobody receives is
/// paused at the publisher, and must still be known to cost what it cost).
#[derive(Debug, Clone, Copy, Default)]
pub struct RateMeter {
    window_start: Option<Instant>,
    bytes: u64,
    rate: Option<u64>,
    last: Option<Instant>,
}

/// A layer asked for that sends nothing this long has been dropped by its publisher.
pub const STALL: Duration = Duration::from_millis(1500);

/// Whether a layer may be chosen for a subscriber. One we paused may (it costs what it
/// cost when last sent, and choosing it resumes it). One we asked for that has sent
/// nothing for [`STALL`] may not: the publisher's browser stopped it on its own, its
/// uplink or CPU could not carry it, and a subscriber left on it would see a frozen
/// picture. `asked_since`: when we last asked the publisher to send it (None: from
/// the start, as every encoding is).
pub fn selectable(
    paused: bool,
    asked_since: Option<Instant>,
    last_packet: Option<Instant>,
    now: Instant,
) -> bool {
    let quiet = |t: Option<Instant>| t.is_none_or(|t| now.saturating_duration_since(t) >= STALL);
    paused || !(quiet(asked_since) && quiet(last_packet))
}

const RATE_WINDOW: Duration = Duration::from_secs(1);

impl RateMeter {
    pub fn add(&mut self, bytes: usize, now: Instant) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            self.rate = Some(self.bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64);
            self.window_start = Some(now);
            self.bytes = 0;
        }
        self.bytes += bytes as u64;
        self.last = Some(now);
    }

    /// When the last packet arrived.
    pub fn last(&self) -> Option<Instant> {
        self.last
    }

    /// The rate of the last full window; before one has passed, a guess from what came
    /// so far (a new layer must be selectable at once).
    pub fn rate(&self) -> u64 {
        self.rate.unwrap_or(self.bytes * 8)
    }
}

/// True when this RTP payload starts a keyframe (VP8, RFC 7741; H.264, RFC 6184).
pub fn is_keyframe_start(mime: &str, payload: &[u8]) -> bool {
    if mime.eq_ignore_ascii_case("video/VP8") {
        vp8_keyframe_start(payload)
    } else if mime.eq_ignore_ascii_case("video/H264") {
        h264_keyframe_start(payload)
    } else {
        false
    }
}

fn vp8_keyframe_start(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    // S bit and partition 0: the first packet of a frame.
    if first & 0x10 == 0 || first & 0x07 != 0 {
        return false;
    }
    let mut i = 1;
    if first & 0x80 != 0 {
        let Some(&x) = p.get(1) else { return false };
        i = 2;
        if x & 0x80 != 0 {
            // PictureID: one or two bytes.
            i += if p.get(i).is_some_and(|b| b & 0x80 != 0) {
                2
            } else {
                1
            };
        }
        if x & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            i += 1; // TID/KEYIDX
        }
    }
    // The VP8 frame tag: P bit 0 means a key frame.
    p.get(i).is_some_and(|b| b & 0x01 == 0)
}

fn h264_keyframe_start(p: &[u8]) -> bool {
    let Some(&first) = p.first() else {
        return false;
    };
    match first & 0x1F {
        // SPS, or an IDR slice on its own.
        7 | 5 => true,
        // STAP-A: any aggregated SPS or IDR.
        24 => {
            let mut i = 1;
            while i + 2 < p.len() {
                let len = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
                if matches!(p[i + 2] & 0x1F, 5 | 7) {
                    return true;
                }
                i += 2 + len;
            }
            false
        }
        // FU-A: the start fragment of an IDR.
        28 => p.get(1).is_some_and(|h| h & 0x80 != 0 && h & 0x1F == 5),
        _ => false,
    }
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;

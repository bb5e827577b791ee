//! Places decoded Opus from several sources on one 20 ms timeline and mixes it.
//!
//! Slot `k` is wall time `[k*20ms, (k+1)*20ms)` since the recording started. A source
//! is anchored when it first appears (or comes back with a new SSRC): its packet at
//! that moment goes to the slot of its arrival, later packets go where their RTP
//! timestamp puts them relative to that anchor, so jitter and reordering do not move
//! audio around. A slot is mixed [`JITTER_SLOTS`] after its time, so late packets
//! still make it; a packet later than that is counted and dropped. Slots nobody
//! filled are silence, so the mix always lasts as long as wall time.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;

use crate::{RecorderStats, SourceId};

pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;
pub const FRAME: Duration = Duration::from_millis(20);
/// How long a slot waits for late packets before it is mixed (200 ms).
pub const JITTER_SLOTS: u64 = 10;
/// A source whose timestamps drift this far (in slots) from its arrivals is re-anchored.
const REANCHOR_SLOTS: i64 = 25;
/// A source with this many late packets in a row is re-anchored: its clock runs slower
/// than ours (drift), which a late network spike alone does not explain.
const LATE_RUN: u32 = 5;
/// At most this many frames (5 s) buffered per source; more are dropped and counted.
pub const MAX_BUFFERED: usize = 250;
/// Loss concealment for at most this many missing frames, then silence.
const MAX_CONCEAL: u32 = 5;
/// A source silent this long (in slots, 10 s) is forgotten, freeing its decoder.
const FORGET_SLOTS: u64 = 500;
/// The limiter's ceiling, about -1.4 dBFS: re-encoding overshoots peaks a little, so
/// the mix stays below full scale to leave the codec room.
const CEILING: f32 = 28_000.0;
/// Largest Opus packet duration (120 ms at 48 kHz).
const MAX_DECODED: usize = 5760;

struct Source {
    ssrc: u32,
    anchor_slot: u64,
    anchor_ts: u32,
    frames: BTreeMap<u64, Bytes>,
    decoder: opus::Decoder,
    /// Samples decoded beyond 20 ms (a 40 or 60 ms packet), played in the next slots.
    carry: Vec<i16>,
    last_slot: u64,
    concealed: u32,
    /// Late packets in a row (see [`LATE_RUN`]).
    late_run: u32,
}

/// The mixing timeline. Pure: packets and time in, 20 ms PCM frames out.
pub struct Mixer {
    sources: HashMap<SourceId, Source>,
    next_slot: u64,
    gain: f32,
    stats: RecorderStats,
    decoded: Vec<i16>,
}

impl Default for Mixer {
    fn default() -> Self {
        Self::new()
    }
}

fn slot_of(t: Duration) -> u64 {
    (t.as_micros() / FRAME.as_micros()) as u64
}

impl Mixer {
    pub fn new() -> Self {
        Mixer {
            sources: HashMap::new(),
            next_slot: 0,
            gain: 1.0,
            stats: RecorderStats::default(),
            decoded: vec![0; MAX_DECODED],
        }
    }

    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// Slots mixed so far (each 20 ms).
    pub fn slots_mixed(&self) -> u64 {
        self.next_slot
    }

    /// Takes one Opus RTP payload. Never fails: a packet that cannot be placed is
    /// counted and dropped.
    pub fn push(
        &mut self,
        source: &SourceId,
        ssrc: u32,
        timestamp: u32,
        payload: Bytes,
        arrival: Duration,
    ) -> Result<(), opus::Error> {
        let arrival_slot = slot_of(arrival).max(self.next_slot);
        let fresh = match self.sources.get(source) {
            Some(s) => s.ssrc != ssrc,
            None => true,
        };
        if fresh {
            let decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?;
            self.sources.insert(
                source.clone(),
                Source {
                    ssrc,
                    anchor_slot: arrival_slot,
                    anchor_ts: timestamp,
                    frames: BTreeMap::new(),
                    decoder,
                    carry: Vec::new(),
                    last_slot: arrival_slot,
                    concealed: 0,
                    late_run: 0,
                },
            );
        }
        let Some(s) = self.sources.get_mut(source) else {
            return Ok(());
        };
        let offset = i64::from(timestamp.wrapping_sub(s.anchor_ts) as i32) / FRAME_SAMPLES as i64;
        let mut slot = s.anchor_slot as i64 + offset;
        let drifted = slot < self.next_slot as i64 && s.late_run + 1 >= LATE_RUN;
        if drifted || (slot - arrival_slot as i64).abs() > REANCHOR_SLOTS {
            // A timestamp jump (or clock drift): trust the arrival time again.
            s.anchor_slot = arrival_slot;
            s.anchor_ts = timestamp;
            slot = arrival_slot as i64;
        }
        if slot < self.next_slot as i64 {
            s.late_run += 1;
            self.stats.late_packets += 1;
            return Ok(());
        }
        s.late_run = 0;
        if s.frames.len() >= MAX_BUFFERED {
            self.stats.overflow_packets += 1;
            return Ok(());
        }
        s.frames.insert(slot as u64, payload);
        Ok(())
    }

    /// Mixes every slot whose jitter wait is over at `now`; `out` gets one 960-sample
    /// frame per slot.
    pub fn advance(&mut self, now: Duration, out: &mut Vec<[i16; FRAME_SAMPLES]>) {
        let ready = slot_of(now).saturating_sub(JITTER_SLOTS);
        self.mix_until(ready, out);
    }

    /// Mixes everything up to `now`, without waiting for late packets (the end).
    pub fn drain(&mut self, now: Duration, out: &mut Vec<[i16; FRAME_SAMPLES]>) {
        self.mix_until(slot_of(now), out);
    }

    fn mix_until(&mut self, end: u64, out: &mut Vec<[i16; FRAME_SAMPLES]>) {
        while self.next_slot < end {
            let slot = self.next_slot;
            let mut sum = [0i32; FRAME_SAMPLES];
            for s in self.sources.values_mut() {
                if let Some(pcm) = source_frame(s, slot, &mut self.decoded, &mut self.stats) {
                    for (acc, v) in sum.iter_mut().zip(pcm.iter()) {
                        *acc += i32::from(*v);
                    }
                }
            }
            self.sources.retain(|_, s| {
                !s.frames.is_empty() || slot.saturating_sub(s.last_slot) < FORGET_SLOTS
            });
            out.push(self.limit(&sum));
            self.next_slot += 1;
        }
    }

    /// Clipping protection: a frame whose sum would clip is scaled down at once, and
    /// the gain recovers slowly (about 1 s) so loud overlaps do not pump.
    fn limit(&mut self, sum: &[i32; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
        let peak = sum.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0) as f32;
        let needed = if peak > CEILING { CEILING / peak } else { 1.0 };
        self.gain = if needed < self.gain {
            needed
        } else {
            (self.gain + 0.02).min(needed)
        };
        let mut frame = [0i16; FRAME_SAMPLES];
        for (o, v) in frame.iter_mut().zip(sum.iter()) {
            *o = (*v as f32 * self.gain).clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        }
        frame
    }
}

/// The source's 20 ms for `slot`: its packet decoded, the rest of a longer packet,
/// concealment for a short loss, or nothing (silence).
fn source_frame(
    s: &mut Source,
    slot: u64,
    buf: &mut [i16],
    stats: &mut RecorderStats,
) -> Option<[i16; FRAME_SAMPLES]> {
    // Frames for earlier slots can only be left by a re-anchor; they are too late now.
    while let Some(entry) = s.frames.first_entry() {
        if *entry.key() >= slot {
            break;
        }
        entry.remove();
        stats.late_packets += 1;
    }
    let decoded = if let Some(packet) = s.frames.remove(&slot) {
        s.last_slot = slot;
        s.concealed = 0;
        s.carry.clear();
        match s.decoder.decode(&packet, buf, false) {
            Ok(n) => Some(n),
            Err(_) => {
                stats.decode_errors += 1;
                s.decoder.decode(&[], buf, false).ok()
            }
        }
    } else if !s.carry.is_empty() {
        let n = s.carry.len().min(buf.len());
        buf[..n].copy_from_slice(&s.carry[..n]);
        s.carry.clear();
        Some(n)
    } else if slot > s.last_slot
        && s.concealed < MAX_CONCEAL
        && slot - s.last_slot <= u64::from(MAX_CONCEAL)
    {
        s.concealed += 1;
        // An empty packet asks the decoder for loss concealment.
        s.decoder.decode(&[], &mut buf[..FRAME_SAMPLES], false).ok()
    } else {
        None
    };
    let n = decoded?;
    let mut frame = [0i16; FRAME_SAMPLES];
    let take = n.min(FRAME_SAMPLES);
    frame[..take].copy_from_slice(&buf[..take]);
    if n > FRAME_SAMPLES {
        s.carry.extend_from_slice(&buf[FRAME_SAMPLES..n]);
    }
    Some(frame)
}

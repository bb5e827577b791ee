//! Places decoded Opus from several sources on one 20 ms timeline and mixes it.
//!
//! Slot `k` is wall time `[k*20ms, (k+1)*20ms)` since the recording started. A source
//! is anchored when it first appears (or comes back with a new SSRC): its packet at
//! that moment goes to the slot of its arrival, later packets go where their RTP
//! timestamp puts them relative to that anchor, so jitter and reordering do not move
//! audio around. A slot is mixed [`JITTER_SLOTS`] after its time, so late packets
//! still make it; a packet later than that is counted and dropped. Slots nobody
//! filled are silence, so the mix always lasts as long as wall time.
//!
//! The jitter wait is a parameter ([`Mixer::with_jitter`]): the recorder waits 200 ms
//! (nobody listens live, a late packet is worth waiting for), the SFU's live mix for
//! audio-only halls about 40 ms (every millisecond is conversational delay). The live
//! mix also needs each source's frame apart ([`Mixer::advance_each`]), to take a
//! hall's own voice out of its mix without decoding anything twice.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;

use crate::{RecorderStats, SourceId};

pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;
pub const FRAME: Duration = Duration::from_millis(20);
/// How long a slot waits for late packets before it is mixed, by default (200 ms).
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

/// One slot's sound, source by source (sources silent in that slot are left out).
pub type SourceFrames = [(SourceId, [i16; FRAME_SAMPLES])];

/// The mixing timeline. Pure: packets and time in, 20 ms PCM frames out.
pub struct Mixer {
    sources: HashMap<SourceId, Source>,
    next_slot: u64,
    /// Slots a slot waits for late packets before it is mixed.
    jitter_slots: u64,
    limiter: Limiter,
    stats: RecorderStats,
    decoded: Vec<i16>,
    /// Each source's frame of the slot being mixed (reused, see `advance_each`).
    slot_frames: Vec<(SourceId, [i16; FRAME_SAMPLES])>,
}

/// Clipping protection for one mixed output: a frame whose sum would clip is scaled
/// down at once, and the gain recovers slowly (about 1 s) so loud overlaps do not pump.
#[derive(Debug, Clone, Copy)]
pub struct Limiter {
    gain: f32,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter { gain: 1.0 }
    }
}

impl Limiter {
    pub fn limit(&mut self, sum: &[i32; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
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

impl Default for Mixer {
    fn default() -> Self {
        Self::new()
    }
}

fn slot_of(t: Duration) -> u64 {
    (t.as_micros() / FRAME.as_micros()) as u64
}

impl Mixer {
    /// The recorder's mixer: slots wait [`JITTER_SLOTS`] (200 ms) for late packets.
    pub fn new() -> Self {
        Self::with_jitter(FRAME * JITTER_SLOTS as u32)
    }

    /// A mixer whose slots wait `jitter` (rounded up to whole 20 ms slots) for late
    /// packets: a slot is mixed between `jitter` and `jitter` + 20 ms after its time.
    pub fn with_jitter(jitter: Duration) -> Self {
        let jitter_slots = jitter.as_micros().div_ceil(FRAME.as_micros()) as u64;
        Mixer {
            sources: HashMap::new(),
            next_slot: 0,
            jitter_slots,
            limiter: Limiter::default(),
            stats: RecorderStats::default(),
            decoded: vec![0; MAX_DECODED],
            slot_frames: Vec::new(),
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
        let ready = slot_of(now).saturating_sub(self.jitter_slots);
        self.mix_until(ready, out);
    }

    /// Like [`Self::advance`], but hands each ready slot's frames apart, one per
    /// source that has sound in it (possibly none), for the caller to mix as it needs.
    pub fn advance_each(&mut self, now: Duration, mut f: impl FnMut(&SourceFrames)) {
        let ready = slot_of(now).saturating_sub(self.jitter_slots);
        self.each_slot(ready, &mut f);
    }

    /// Mixes everything up to `now`, without waiting for late packets (the end).
    pub fn drain(&mut self, now: Duration, out: &mut Vec<[i16; FRAME_SAMPLES]>) {
        self.mix_until(slot_of(now), out);
    }

    fn mix_until(&mut self, end: u64, out: &mut Vec<[i16; FRAME_SAMPLES]>) {
        let mut limiter = self.limiter;
        self.each_slot(end, &mut |frames| {
            let mut sum = [0i32; FRAME_SAMPLES];
            for (_, pcm) in frames {
                for (acc, v) in sum.iter_mut().zip(pcm.iter()) {
                    *acc += i32::from(*v);
                }
            }
            out.push(limiter.limit(&sum));
        });
        self.limiter = limiter;
    }

    /// Decodes every slot before `end` and hands its sources' frames to `f`.
    fn each_slot(&mut self, end: u64, f: &mut dyn FnMut(&SourceFrames)) {
        let mut frames = std::mem::take(&mut self.slot_frames);
        while self.next_slot < end {
            let slot = self.next_slot;
            frames.clear();
            for (id, s) in self.sources.iter_mut() {
                if let Some(pcm) = source_frame(s, slot, &mut self.decoded, &mut self.stats) {
                    frames.push((id.clone(), pcm));
                }
            }
            self.sources.retain(|_, s| {
                !s.frames.is_empty() || slot.saturating_sub(s.last_slot) < FORGET_SLOTS
            });
            f(&frames);
            self.next_slot += 1;
        }
        frames.clear();
        self.slot_frames = frames;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_packet(enc: &mut opus::Encoder, amplitude: f32) -> Bytes {
        let pcm: Vec<i16> = (0..FRAME_SAMPLES)
            .map(|i| ((i as f32 * 0.06).sin() * amplitude * 32767.0) as i16)
            .collect();
        let mut out = vec![0u8; 1500];
        let n = enc.encode(&pcm, &mut out).unwrap();
        out.truncate(n);
        Bytes::from(out)
    }

    #[test]
    fn the_jitter_wait_is_a_parameter() {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                .unwrap();
        let (mut live, mut rec) = (Mixer::with_jitter(FRAME * 2), Mixer::new());
        for m in [&mut live, &mut rec] {
            m.push(
                &"a".into(),
                1,
                0,
                tone_packet(&mut enc, 0.3),
                Duration::from_millis(5),
            )
            .unwrap();
        }
        let mut out = Vec::new();
        live.advance(Duration::from_millis(59), &mut out);
        assert!(out.is_empty());
        live.advance(Duration::from_millis(60), &mut out);
        assert_eq!(out.len(), 1, "slot 0 is mixed 40-60 ms after its time");
        rec.advance(Duration::from_millis(200), &mut out);
        assert_eq!(out.len(), 1, "the recorder still waits 200 ms");
        rec.advance(Duration::from_millis(220), &mut out);
        assert_eq!(out.len(), 2);
        // A partial slot rounds up.
        let m = Mixer::with_jitter(Duration::from_millis(30));
        assert_eq!(m.jitter_slots, 2);
    }

    #[test]
    fn advance_each_hands_the_sources_apart() {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)
                .unwrap();
        let mut m = Mixer::with_jitter(Duration::ZERO);
        m.push(
            &"a".into(),
            1,
            0,
            tone_packet(&mut enc, 0.3),
            Duration::ZERO,
        )
        .unwrap();
        m.push(
            &"b".into(),
            2,
            0,
            tone_packet(&mut enc, 0.3),
            Duration::ZERO,
        )
        .unwrap();
        let mut seen = Vec::new();
        m.advance_each(Duration::from_millis(20), |frames| {
            let mut ids: Vec<String> = frames.iter().map(|(id, _)| id.0.clone()).collect();
            ids.sort();
            seen.push(ids);
        });
        assert_eq!(seen, vec![vec!["a".to_owned(), "b".to_owned()]]);
        // Nothing more arrived: a few slots of concealment, then nobody.
        seen.clear();
        m.advance_each(Duration::from_millis(20 * 10), |frames| {
            seen.push(vec![frames.len().to_string()])
        });
        assert_eq!(seen.len(), 9);
        assert_eq!(seen.last().unwrap(), &vec!["0".to_owned()]);
    }
}

//! The pure forwarding core: no sockets, no clock reads. Every decision takes the
//! current time as a parameter so the unit tests can drive it on a virtual clock.
//!
//! * [`Rewriter`]: per subscriber and forwarded track, maps the publisher's SSRC,
//!   payload type, header-extension ids, sequence numbers and timestamps onto the
//!   subscriber's negotiated values, keeping them continuous across a source switch.
//! * [`KeyframeGate`]: per published track, lets at most one keyframe request per
//!   interval through to the publisher, however many subscribers ask.
//! * [`PacketCache`]: per published track, a ring of recent packets to answer NACKs.
//! * [`NackLimiter`]: per subscription, caps retransmissions of any one packet.

use rtc::rtp;
use std::time::{Duration, Instant};

/// Where a forwarded packet goes on one subscriber's leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutParams {
    pub ssrc: u32,
    pub payload_type: u8,
    /// The subscriber's id for the audio-level extension, if negotiated.
    pub audio_level_id: Option<u8>,
}

/// Rewrites one inbound stream (or a succession of them) onto one outbound stream.
#[derive(Debug, Clone)]
pub struct Rewriter {
    out: OutParams,
    clock_rate: u32,
    /// The publisher's id of the audio-level extension on the current source.
    in_audio_level_id: Option<u8>,
    current: Option<SourceState>,
    last_out_seq: u16,
    last_out_ts: u32,
    last_out_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct SourceState {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
    /// The first outbound sequence number of this source: a NACK for an earlier one
    /// names a packet of the previous source (another layer, say), not this one.
    first_out_seq: u16,
}

impl Rewriter {
    pub fn new(out: OutParams, clock_rate: u32, initial_seq: u16, initial_ts: u32) -> Self {
        Self {
            out,
            clock_rate,
            in_audio_level_id: None,
            current: None,
            last_out_seq: initial_seq.wrapping_sub(1),
            last_out_ts: initial_ts,
            last_out_at: None,
        }
    }

    /// Which inbound extension id carries the audio level (publisher side).
    pub fn set_in_audio_level_id(&mut self, id: Option<u8>) {
        self.in_audio_level_id = id;
    }

    /// Rewrites `header` in place for this subscriber. A packet from a new source
    /// SSRC starts a new mapping that continues right after the last packet sent,
    /// with the timestamp advanced by the wall time since then.
    pub fn rewrite(&mut self, header: &mut rtp::Header, now: Instant) {
        let state = match self.current {
            Some(s) if s.ssrc == header.ssrc => s,
            _ => {
                let elapsed = self
                    .last_out_at
                    .map(|t| now.saturating_duration_since(t))
                    .unwrap_or_default();
                let ticks = (elapsed.as_micros() as u64 * u64::from(self.clock_rate) / 1_000_000)
                    .max(1) as u32;
                let first_seq = self.last_out_seq.wrapping_add(1);
                let first_ts = self.last_out_ts.wrapping_add(ticks);
                let s = SourceState {
                    ssrc: header.ssrc,
                    seq_offset: first_seq.wrapping_sub(header.sequence_number),
                    ts_offset: first_ts.wrapping_sub(header.timestamp),
                    first_out_seq: first_seq,
                };
                self.current = Some(s);
                s
            }
        };
        let seq = header.sequence_number.wrapping_add(state.seq_offset);
        let ts = header.timestamp.wrapping_add(state.ts_offset);
        // Only move "last" forward: a late (reordered) packet must not pull it back.
        if seq_newer(seq, self.last_out_seq) {
            self.last_out_seq = seq;
            self.last_out_ts = ts;
            self.last_out_at = Some(now);
        }
        header.sequence_number = seq;
        header.timestamp = ts;
        header.ssrc = self.out.ssrc;
        header.payload_type = self.out.payload_type;
        self.remap_extensions(header);
    }

    /// The subscriber's copy of `src`: the payload is shared, and the header is built
    /// with only the extension this leg keeps (no copy of the others).
    pub fn forward(&mut self, src: &rtp::Packet, now: Instant) -> rtp::Packet {
        let h = &src.header;
        let extensions = match (self.in_audio_level_id, self.out.audio_level_id) {
            (Some(inn), Some(_)) if h.extension => h
                .extensions
                .iter()
                .filter(|e| e.id == inn)
                .take(1)
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let mut header = rtp::Header {
            version: h.version,
            padding: h.padding,
            extension: !extensions.is_empty(),
            marker: h.marker,
            payload_type: h.payload_type,
            sequence_number: h.sequence_number,
            timestamp: h.timestamp,
            ssrc: h.ssrc,
            csrc: h.csrc.clone(),
            extension_profile: h.extension_profile,
            extensions,
            extensions_padding: 0,
        };
        self.rewrite(&mut header, now);
        rtp::Packet {
            header,
            payload: src.payload.clone(),
        }
    }

    /// Keeps only the audio-level extension, under the subscriber's id: every other
    /// extension id is meaningless (or wrong) on the subscriber's leg.
    fn remap_extensions(&self, header: &mut rtp::Header) {
        if !header.extension {
            return;
        }
        match (self.in_audio_level_id, self.out.audio_level_id) {
            (Some(inn), Some(out)) => {
                header.extensions.retain(|e| e.id == inn);
                for e in &mut header.extensions {
                    e.id = out;
                }
            }
            _ => header.extensions.clear(),
        }
        header.extensions_padding = 0;
        if header.extensions.is_empty() {
            header.extension = false;
            header.extension_profile = 0;
        } else {
            // One-byte header form (RFC 8285); ids 1..=14 fit.
            header.extension_profile = 0xBEDE;
        }
    }

    /// The source stopped being forwarded (muted by the chair, say): the next packet,
    /// whenever it comes, starts a new mapping right after the last one sent, so the
    /// subscriber sees no sequence gap to report as loss and no stale timestamp.
    pub fn pause(&mut self) {
        self.current = None;
    }

    /// Maps a sequence number the subscriber NACKed back to the publisher's, if it
    /// belongs to the current source.
    pub fn source_seq(&self, out_seq: u16) -> Option<(u32, u16)> {
        let s = self.current?;
        if out_seq != s.first_out_seq && !seq_newer(out_seq, s.first_out_seq) {
            return None;
        }
        Some((s.ssrc, out_seq.wrapping_sub(s.seq_offset)))
    }

    pub fn out(&self) -> OutParams {
        self.out
    }
}

/// True when `a` is after `b` in RTP sequence space (RFC 1982 style).
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Aggregates keyframe requests for one published track.
#[derive(Debug, Clone)]
pub struct KeyframeGate {
    interval: Duration,
    last_sent: Option<Instant>,
    pending: bool,
}

impl KeyframeGate {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_sent: None,
            pending: false,
        }
    }

    /// A subscriber asked for a keyframe. Returns true if a request should go to
    /// the publisher now; otherwise it is remembered and released by [`Self::poll`]
    /// once the interval has passed, so a late asker is not left without one.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.may_send(now) {
            self.last_sent = Some(now);
            self.pending = false;
            true
        } else {
            self.pending = true;
            false
        }
    }

    /// Releases a deferred request when its time has come.
    pub fn poll(&mut self, now: Instant) -> bool {
        if self.pending && self.may_send(now) {
            self.pending = false;
            self.last_sent = Some(now);
            true
        } else {
            false
        }
    }

    /// When [`Self::poll`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.pending {
            self.last_sent.map(|t| t + self.interval)
        } else {
            None
        }
    }

    fn may_send(&self, now: Instant) -> bool {
        self.last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= self.interval)
    }
}

/// Recent packets of one published track, by the publisher's sequence number.
pub struct PacketCache {
    slots: Vec<Option<rtp::Packet>>,
}

impl PacketCache {
    /// `capacity` is rounded up to a power of two.
    pub fn new(capacity: usize) -> Self {
        let n = capacity.max(1).next_power_of_two();
        Self {
            slots: (0..n).map(|_| None).collect(),
        }
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) & (self.slots.len() - 1)
    }

    pub fn insert(&mut self, packet: &rtp::Packet) {
        let i = self.index(packet.header.sequence_number);
        // Cloning shares the payload (`Bytes`); only the header is copied.
        self.slots[i] = Some(packet.clone());
    }

    /// The cached packet with this source SSRC and sequence number, if still held.
    pub fn get(&self, ssrc: u32, seq: u16) -> Option<&rtp::Packet> {
        self.slots[self.index(seq)]
            .as_ref()
            .filter(|p| p.header.sequence_number == seq && p.header.ssrc == ssrc)
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

/// Counts retransmissions per outbound sequence number on one subscription, in a
/// fixed table (no allocation per NACK).
pub struct NackLimiter {
    max_per_packet: u8,
    table: Box<[(u16, u8)]>,
}

impl NackLimiter {
    pub fn new(max_per_packet: u8, window: usize) -> Self {
        let n = window.max(1).next_power_of_two();
        Self {
            max_per_packet,
            table: vec![(0u16, 0u8); n].into_boxed_slice(),
        }
    }

    /// Returns true if `seq` may be retransmitted once more (and counts it).
    pub fn allow(&mut self, seq: u16) -> bool {
        let i = usize::from(seq) & (self.table.len() - 1);
        let slot = &mut self.table[i];
        if slot.0 != seq || slot.1 == 0 {
            *slot = (seq, 0);
        }
        if slot.1 >= self.max_per_packet {
            return false;
        }
        slot.1 += 1;
        true
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;

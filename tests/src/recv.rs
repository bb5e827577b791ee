//! What a test client received from the others, per remote participant and kind.

use crate::media::{SeqStats, ToneDecoder, ToneReport, analyse, share_at};
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

/// One remote stream (one participant's audio or video) as received.
pub struct RemoteStream {
    /// What the packets came on: the client's key for (published track, m-line). When it
    /// changes (the participant republished, or its media moved to another subscribe
    /// slot) the sequence accounting starts afresh.
    pub msid_track: String,
    pub packets: u64,
    pub bytes: u64,
    pub first_at: Instant,
    pub last_at: Instant,
    pub seq: SeqStats,
    /// Keyframes seen (VP8 payload descriptor + frame tag), video only.
    pub keyframes: u64,
    pub first_keyframe_at: Option<Instant>,
    pub decoder: Option<ToneDecoder>,
    pub ended: bool,
    /// One-way delays of stamped frames (µs), bounded.
    pub delays_us: Vec<u32>,
    /// Video: the simulcast layer of the latest frame start that carried a mark.
    pub layer: Option<u8>,
}

/// Delay samples kept per stream (~ 30 frames/s for an hour).
const MAX_DELAYS: usize = 100_000;

/// A copy of the counters of one stream, for assertions.
#[derive(Debug, Clone)]
pub struct StreamSnapshot {
    pub packets: u64,
    pub bytes: u64,
    pub first_at: Instant,
    pub last_at: Instant,
    pub lost: u64,
    pub expected: u64,
    pub jumps: u64,
    pub keyframes: u64,
    pub first_keyframe_at: Option<Instant>,
    pub ended: bool,
    pub layer: Option<u8>,
}

pub struct Received {
    streams: HashMap<(String, Kind), RemoteStream>,
    /// Packets that arrived on an m-line the client's mid map does not list (an idle
    /// slot, or a slot whose `slots` message has not arrived yet): audio, video.
    unattributed: [u64; 2],
    /// Decode audio for the tone checks (on unless the client's options say otherwise).
    pub decode_audio: bool,
}

impl Default for Received {
    fn default() -> Self {
        Received {
            streams: HashMap::new(),
            unattributed: [0; 2],
            decode_audio: true,
        }
    }
}

impl Received {
    pub fn record(
        &mut self,
        participant: &str,
        kind: Kind,
        msid_track: &str,
        pkt: &rtc::rtp::Packet,
    ) {
        let now = Instant::now();
        let s = self
            .streams
            .entry((participant.to_owned(), kind))
            .or_insert_with(|| RemoteStream {
                msid_track: msid_track.to_owned(),
                packets: 0,
                bytes: 0,
                first_at: now,
                last_at: now,
                seq: SeqStats::default(),
                keyframes: 0,
                first_keyframe_at: None,
                decoder: None,
                ended: false,
                delays_us: Vec::new(),
                layer: None,
            });
        if s.msid_track != msid_track {
            // The participant republished (a new track), or its media now comes on another
            // m-line (another slot, with its own sequence numbers): count it afresh.
            s.msid_track = msid_track.to_owned();
            s.seq.reset();
        }
        s.ended = false;
        s.packets += 1;
        s.bytes += pkt.payload.len() as u64;
        s.last_at = now;
        s.seq.record(pkt.header.sequence_number);
        match kind {
            Kind::Audio => {
                if s.decoder.is_none() && self.decode_audio {
                    s.decoder = ToneDecoder::new().ok();
                }
                if let Some(d) = s.decoder.as_mut() {
                    d.push(&pkt.payload);
                }
            }
            Kind::Video => {
                if pkt.header.marker
                    && s.delays_us.len() < MAX_DELAYS
                    && let Some(d) = crate::media::stamped_delay_us(&pkt.payload)
                {
                    s.delays_us.push(d);
                }
                if let Some(tag) = vp8_frame_tag_at(&pkt.payload) {
                    if pkt.payload.get(tag).is_some_and(|t| t & 0x01 == 0) {
                        s.keyframes += 1;
                        s.first_keyframe_at.get_or_insert(now);
                    }
                    if let Some(l) = pkt.payload.get(tag..).and_then(crate::media::layer_mark) {
                        s.layer = Some(l);
                    }
                }
            }
        }
    }

    /// Counts a packet that no participant can be credited with.
    pub fn record_unattributed(&mut self, kind: Kind) {
        self.unattributed[usize::from(kind == Kind::Video)] += 1;
    }

    /// Packets not credited to any participant so far: (audio, video).
    pub fn unattributed(&self) -> (u64, u64) {
        (self.unattributed[0], self.unattributed[1])
    }

    pub fn mark_ended(&mut self, participant: &str, kind: Kind) {
        if let Some(s) = self.streams.get_mut(&(participant.to_owned(), kind)) {
            s.ended = true;
        }
    }

    pub fn snapshot(&self, participant: &str, kind: Kind) -> Option<StreamSnapshot> {
        self.streams
            .get(&(participant.to_owned(), kind))
            .map(|s| StreamSnapshot {
                packets: s.packets,
                bytes: s.bytes,
                first_at: s.first_at,
                last_at: s.last_at,
                lost: s.seq.lost(),
                expected: s.seq.expected(),
                jumps: s.seq.jumps,
                keyframes: s.keyframes,
                first_keyframe_at: s.first_keyframe_at,
                ended: s.ended,
                layer: s.layer,
            })
    }

    /// The dominant tone of the last `seconds` of a participant's audio.
    pub fn tone(&self, participant: &str, seconds: f32) -> Option<ToneReport> {
        let d = self
            .streams
            .get(&(participant.to_owned(), Kind::Audio))?
            .decoder
            .as_ref()?;
        let pcm = d.recent(seconds);
        (pcm.len() >= (crate::media::SAMPLE_RATE as f32 * seconds * 0.9) as usize)
            .then(|| analyse(pcm))
    }

    /// Share of the power at `freq` in the last `seconds` of a participant's audio.
    pub fn share_at(&self, participant: &str, freq: f32, seconds: f32) -> Option<f32> {
        let d = self
            .streams
            .get(&(participant.to_owned(), Kind::Audio))?
            .decoder
            .as_ref()?;
        Some(share_at(d.recent(seconds), freq))
    }

    pub fn participants(&self) -> Vec<String> {
        let mut v: Vec<String> = self.streams.keys().map(|(p, _)| p.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Restarts loss accounting on every video stream (after warm-up).
    pub fn reset_loss(&mut self) {
        for ((_, kind), s) in self.streams.iter_mut() {
            if *kind == Kind::Video {
                s.seq.reset();
                s.delays_us.clear();
            }
        }
    }

    pub fn delays_us(&self, participant: &str) -> Vec<u32> {
        self.streams
            .get(&(participant.to_owned(), Kind::Video))
            .map(|s| s.delays_us.clone())
            .unwrap_or_default()
    }

    pub fn first_video_at(&self) -> Option<Instant> {
        self.streams
            .iter()
            .filter(|((_, k), _)| *k == Kind::Video)
            .map(|(_, s)| s.first_at)
            .min()
    }
}

/// True if this RTP payload starts a VP8 keyframe: S bit set, partition 0, and the
/// frame tag's P bit clear (RFC 7741).
pub fn is_vp8_keyframe_start(payload: &[u8]) -> bool {
    vp8_frame_tag_at(payload).is_some_and(|i| payload.get(i).is_some_and(|tag| tag & 0x01 == 0))
}

/// Where the VP8 frame tag is in this RTP payload, if the payload starts a frame (S bit
/// set, partition 0): the payload descriptor's length (RFC 7741 4.2).
pub fn vp8_frame_tag_at(payload: &[u8]) -> Option<usize> {
    let b0 = *payload.first()?;
    if b0 & 0x10 == 0 || b0 & 0x07 != 0 {
        return None;
    }
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *payload.get(1)?;
        i = 2;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits.
            i += if payload.get(i)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    (i < payload.len()).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keyframes_behind_the_vp8_descriptor() {
        // Minimal descriptor, S=1, then a keyframe tag.
        assert!(is_vp8_keyframe_start(&[0x10, 0x10, 0x02, 0x00]));
        // Same with an inter frame tag.
        assert!(!is_vp8_keyframe_start(&[0x10, 0x11, 0x02, 0x00]));
        // Extended descriptor with a 15-bit PictureID.
        assert!(is_vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x10]));
        // Not a partition start.
        assert!(!is_vp8_keyframe_start(&[0x00, 0x10]));
    }
}

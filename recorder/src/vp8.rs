//! VP8 RTP (RFC 7741) reassembled into frames, with `rtc`'s depacketizer.
//!
//! Packets are taken in order; a gap or a frame that does not start at a partition
//! head drops the frame and everything after it until the next keyframe, since a
//! VP8 delta frame cannot be decoded without all the frames before it.

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

/// Largest frame accepted (a 1080p keyframe is well under this).
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// One complete VP8 frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub timestamp: u32,
    pub data: Bytes,
    pub keyframe: bool,
}

impl Frame {
    /// Width and height from a keyframe's header (RFC 6386 9.1), if this is one.
    pub fn dimensions(&self) -> Option<(u16, u16)> {
        if !self.keyframe {
            return None;
        }
        let d = self.data.get(3..10)?;
        if d[..3] != [0x9d, 0x01, 0x2a] {
            return None;
        }
        let w = u16::from_le_bytes([d[3], d[4]]) & 0x3fff;
        let h = u16::from_le_bytes([d[5], d[6]]) & 0x3fff;
        Some((w, h))
    }
}

/// Result of feeding one packet.
#[derive(Debug, Clone, PartialEq)]
pub enum Assembled {
    /// Nothing complete yet.
    Pending,
    Frame(Frame),
    /// A frame was dropped and the stream waits for a keyframe: ask for one (the
    /// caller rate-limits the requests).
    NeedKeyframe,
}

pub struct Assembler {
    timestamp: Option<u32>,
    next_seq: Option<u16>,
    data: BytesMut,
    /// The current frame began with its first partition's head.
    started: bool,
    /// The current frame lost a packet (or is too big): it is dropped at its end.
    broken: bool,
    /// Frames are dropped until a keyframe (at the start, and after any loss).
    need_key: bool,
}

impl Default for Assembler {
    fn default() -> Self {
        Assembler {
            timestamp: None,
            next_seq: None,
            data: BytesMut::new(),
            started: false,
            broken: false,
            need_key: true,
        }
    }
}

impl Assembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the stream (a new SSRC): the next frame must be a keyframe.
    pub fn reset(&mut self) {
        *self = Assembler::default();
    }

    pub fn waiting_for_keyframe(&self) -> bool {
        self.need_key
    }

    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &Bytes,
    ) -> Assembled {
        if let Some(next) = self.next_seq {
            if sequence.wrapping_sub(next) >= 0x8000 {
                // A duplicate or a late packet: its frame was decided already.
                return Assembled::Pending;
            }
            if sequence != next {
                // Lost packets: whatever they carried, later delta frames are damaged.
                self.need_key = true;
                self.broken = true;
            }
        }
        self.next_seq = Some(sequence.wrapping_add(1));
        if self.timestamp != Some(timestamp) {
            if self.started {
                // The previous frame never saw its marker.
                self.need_key = true;
            }
            self.timestamp = Some(timestamp);
            self.data.clear();
            self.started = false;
            self.broken = false;
        }
        let mut depacketizer = Vp8Packet::default();
        match depacketizer.depacketize(payload) {
            Ok(chunk) => {
                if depacketizer.s == 1 && depacketizer.pid == 0 {
                    self.data.clear();
                    self.started = true;
                }
                if !self.started || self.data.len() + chunk.len() > MAX_FRAME_BYTES {
                    self.broken = true;
                }
                if !self.broken {
                    self.data.extend_from_slice(&chunk);
                }
            }
            Err(_) => self.broken = true,
        }
        if !marker {
            return Assembled::Pending;
        }
        let complete = self.started && !self.broken && !self.data.is_empty();
        self.started = false;
        if !complete {
            self.need_key = true;
            return Assembled::NeedKeyframe;
        }
        let data = self.data.split().freeze();
        let keyframe = data[0] & 0x01 == 0;
        if self.need_key && !keyframe {
            return Assembled::NeedKeyframe;
        }
        self.need_key = false;
        Assembled::Frame(Frame {
            timestamp,
            data,
            keyframe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One packet: the RFC 7741 descriptor (S bit on the first) and `body`.
    fn packet(first: bool, body: &[u8]) -> Bytes {
        let mut p = vec![if first { 0x10 } else { 0x00 }];
        p.extend_from_slice(body);
        Bytes::from(p)
    }

    fn keyframe_start() -> Vec<u8> {
        // Frame tag (keyframe, shown), start code, 16x16.
        vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 16, 0, 16, 0]
    }

    #[test]
    fn a_frame_over_the_limit_is_dropped_and_a_keyframe_asked_for() {
        let mut a = Assembler::new();
        let chunk = vec![0u8; 1000];
        let mut seq = 0u16;
        assert_eq!(
            a.push(seq, 1, false, &packet(true, &keyframe_start())),
            Assembled::Pending
        );
        let packets = MAX_FRAME_BYTES / chunk.len() + 1;
        for _ in 0..packets {
            seq += 1;
            assert_eq!(
                a.push(seq, 1, false, &packet(false, &chunk)),
                Assembled::Pending
            );
        }
        seq += 1;
        assert_eq!(
            a.push(seq, 1, true, &packet(false, &chunk)),
            Assembled::NeedKeyframe
        );
        // The next keyframe within the limit goes through, dimensions read.
        let f = a.push(seq + 1, 2, true, &packet(true, &keyframe_start()));
        let Assembled::Frame(f) = f else {
            panic!("{f:?}")
        };
        assert!(f.keyframe);
        assert_eq!(f.dimensions(), Some((16, 16)));
    }

    #[test]
    fn duplicates_are_ignored_and_a_gap_waits_for_a_keyframe() {
        let mut a = Assembler::new();
        let key = packet(true, &keyframe_start());
        assert!(matches!(a.push(10, 1, true, &key), Assembled::Frame(_)));
        assert_eq!(a.push(10, 1, true, &key), Assembled::Pending, "duplicate");
        let delta = packet(true, &[0x11, 0x02, 0x00, 1, 2, 3]);
        assert!(matches!(a.push(11, 2, true, &delta), Assembled::Frame(_)));
        // 12 lost: the delta frame 13 cannot be decoded.
        assert_eq!(a.push(13, 4, true, &delta), Assembled::NeedKeyframe);
        assert_eq!(a.push(14, 5, true, &delta), Assembled::NeedKeyframe);
        assert!(matches!(a.push(15, 6, true, &key), Assembled::Frame(_)));
        assert!(matches!(a.push(16, 7, true, &delta), Assembled::Frame(_)));
    }
}

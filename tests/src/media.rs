//! Synthetic media for the test clients, and the checks on what they receive: a sine
//! tone per participant (Opus), its detection by frequency (Goertzel), fake VP8 frames
//! of realistic sizes, and RTP sequence accounting for loss.

use std::collections::HashSet;
use std::f32::consts::PI;

pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms of 48 kHz mono.
pub const FRAME_SAMPLES: usize = 960;

/// A continuous sine tone, 20 ms at a time, encoded with Opus.
pub struct ToneEncoder {
    enc: opus::Encoder,
    freq: f32,
    phase: f32,
    amplitude: f32,
    pcm: Vec<i16>,
    out: Vec<u8>,
}

impl ToneEncoder {
    pub fn new(freq_hz: f32) -> anyhow::Result<Self> {
        let mut enc =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Audio)?;
        enc.set_bitrate(opus::Bitrate::Bits(48_000))?;
        Ok(ToneEncoder {
            enc,
            freq: freq_hz,
            phase: 0.0,
            amplitude: 0.3,
            pcm: vec![0; FRAME_SAMPLES],
            out: vec![0; 1500],
        })
    }

    /// The next 20 ms frame, Opus-encoded.
    pub fn next_frame(&mut self) -> anyhow::Result<&[u8]> {
        let step = 2.0 * PI * self.freq / SAMPLE_RATE as f32;
        for s in self.pcm.iter_mut() {
            *s = (self.phase.sin() * self.amplitude * i16::MAX as f32) as i16;
            self.phase = (self.phase + step) % (2.0 * PI);
        }
        let n = self.enc.encode(&self.pcm, &mut self.out)?;
        Ok(&self.out[..n])
    }

    /// Sets the tone's amplitude (0..1 of full scale) from the next frame on; 0 is
    /// silence (a pause between talk spurts), whose level is 127.
    pub fn set_amplitude(&mut self, amplitude: f32) {
        self.amplitude = amplitude.clamp(0.0, 1.0);
    }

    /// The audio level (RFC 6464: -dBov, 0 = loudest) of this tone.
    pub fn level_dbov(&self) -> u8 {
        // RMS of a sine is amplitude / sqrt(2).
        let rms = self.amplitude / 2f32.sqrt();
        (-20.0 * rms.log10()).round().clamp(0.0, 127.0) as u8
    }
}

/// Decodes one received Opus stream into mono PCM, keeping the last few seconds.
pub struct ToneDecoder {
    dec: opus::Decoder,
    buf: Vec<i16>,
    pcm: Vec<f32>,
    keep: usize,
    pub frames: u64,
    pub decode_errors: u64,
}

impl ToneDecoder {
    pub fn new() -> anyhow::Result<Self> {
        Ok(ToneDecoder {
            dec: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
            buf: vec![0; FRAME_SAMPLES * 6],
            pcm: Vec::new(),
            keep: SAMPLE_RATE as usize * 2,
            frames: 0,
            decode_errors: 0,
        })
    }

    pub fn push(&mut self, payload: &[u8]) {
        match self.dec.decode(payload, &mut self.buf, false) {
            Ok(n) => {
                self.frames += 1;
                self.pcm
                    .extend(self.buf[..n].iter().map(|&s| s as f32 / i16::MAX as f32));
                if self.pcm.len() > self.keep * 2 {
                    let cut = self.pcm.len() - self.keep;
                    self.pcm.drain(..cut);
                }
            }
            Err(_) => self.decode_errors += 1,
        }
    }

    /// The most recent `seconds` of decoded audio (less if not that much arrived yet).
    pub fn recent(&self, seconds: f32) -> &[f32] {
        let n = ((SAMPLE_RATE as f32 * seconds) as usize).min(self.pcm.len());
        &self.pcm[self.pcm.len() - n..]
    }
}

/// Power of `freq` in `samples` (Goertzel), normalised so a full-scale sine gives ~0.25.
pub fn goertzel_power(samples: &[f32], freq: f32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = 2.0 * PI * freq / SAMPLE_RATE as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = samples.len() as f32;
    p / (n * n)
}

/// What the spectrum of a received stream looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneReport {
    /// The frequency (10 Hz grid, 100..=3000 Hz) with the most power.
    pub peak_hz: f32,
    /// The share of the signal's power (mean square) that the peak carries (a pure tone: ~1).
    pub peak_share: f32,
    /// Mean square of the signal (0 = silence).
    pub energy: f32,
}

/// Finds the dominant tone in `samples` by scanning a 10 Hz grid.
pub fn analyse(samples: &[f32]) -> ToneReport {
    let energy = if samples.is_empty() {
        0.0
    } else {
        samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32
    };
    let mut best = (0.0f32, 0.0f32);
    let mut f = 100.0f32;
    while f <= 3000.0 {
        let p = goertzel_power(samples, f);
        if p > best.1 {
            best = (f, p);
        }
        f += 10.0;
    }
    // A sine of amplitude A has mean square A²/2 and Goertzel power A²/4.
    let share = if energy > 0.0 {
        (best.1 * 2.0 / energy).min(1.0)
    } else {
        0.0
    };
    ToneReport {
        peak_hz: best.0,
        peak_share: share,
        energy,
    }
}

/// Share of the signal's power at `freq` (0..1).
pub fn share_at(samples: &[f32], freq: f32) -> f32 {
    let energy = samples.iter().map(|x| x * x).sum::<f32>() / samples.len().max(1) as f32;
    if energy <= 0.0 {
        return 0.0;
    }
    (goertzel_power(samples, freq) * 2.0 / energy).min(1.0)
}

/// Fake VP8 frames: a valid frame tag (key/inter flag, show_frame, first partition
/// size), the keyframe start code and dimensions, then filler, at sizes that add up to
/// the requested bitrate. Nobody decodes them; the SFU reads the keyframe bit.
pub struct Vp8Source {
    bytes_per_frame: usize,
    frame_no: u64,
    seed: u32,
}

impl Vp8Source {
    pub fn new(bitrate_bps: u32, fps: u32) -> Self {
        Vp8Source {
            bytes_per_frame: (bitrate_bps / 8 / fps.max(1)).max(64) as usize,
            frame_no: 0,
            seed: 0x1234_5678,
        }
    }

    /// The next frame; a keyframe when `key` (keyframes are 3x the size of delta frames).
    pub fn next_frame(&mut self, key: bool) -> Vec<u8> {
        self.frame_no += 1;
        let size = if key {
            self.bytes_per_frame * 3
        } else {
            self.bytes_per_frame
        };
        let mut f = Vec::with_capacity(size);
        let first_part = (size / 4).min(0x7ffff) as u32;
        // Frame tag: bit 0 = 0 for a keyframe, version 0, show_frame = 1, partition size.
        let tag: u32 = (if key { 0 } else { 1 }) | (1 << 4) | (first_part << 5);
        f.extend_from_slice(&tag.to_le_bytes()[..3]);
        if key {
            f.extend_from_slice(&[0x9d, 0x01, 0x2a]);
            f.extend_from_slice(&640u16.to_le_bytes());
            f.extend_from_slice(&480u16.to_le_bytes());
        }
        while f.len() < size {
            // xorshift: cheap incompressible-looking filler.
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 17;
            self.seed ^= self.seed << 5;
            f.push(self.seed as u8);
        }
        f
    }
}

/// Simulcast frames carry their layer as `[LAYER_MARK, LAYER_BASE + layer]` at this
/// offset from the VP8 frame tag (past a keyframe's start code and dimensions), so a
/// receiver sees which encoding it is given although the server rewrites SSRCs. Two
/// bytes, so the random filler of other frames is rarely taken for a mark.
pub const LAYER_MARK_OFFSET: usize = 10;
pub const LAYER_MARK: u8 = 0x5C;
pub const LAYER_BASE: u8 = 0xA0;

/// Writes the layer mark into a frame made by [`Vp8Source`] (at least 64 bytes).
pub fn mark_layer(frame: &mut [u8], layer: u8) {
    if let Some(b) = frame.get_mut(LAYER_MARK_OFFSET..LAYER_MARK_OFFSET + 2) {
        b.copy_from_slice(&[LAYER_MARK, LAYER_BASE + layer]);
    }
}

/// The layer of a frame whose VP8 frame tag starts at `frame` (see [`mark_layer`]).
pub fn layer_mark(frame: &[u8]) -> Option<u8> {
    match frame.get(LAYER_MARK_OFFSET..LAYER_MARK_OFFSET + 2)? {
        [LAYER_MARK, l] => l.checked_sub(LAYER_BASE).filter(|l| *l < 3),
        _ => None,
    }
}

/// Per-stream RTP sequence accounting: packets expected vs received, as an RTCP
/// receiver report computes it (duplicates and retransmissions don't hide a gap twice).
#[derive(Debug, Default, Clone)]
pub struct SeqStats {
    base: Option<u64>,
    max: u64,
    seen: HashSet<u64>,
    /// Arrivals that jumped ahead of the next expected number (loss or reordering).
    pub jumps: u64,
    pub duplicates: u64,
}

impl SeqStats {
    pub fn record(&mut self, seq: u16) {
        // Extend to 64 bits relative to the highest number seen: the signed 16-bit
        // distance handles wrap-around and late packets alike.
        let ext = match self.base {
            None => {
                // Start high enough that early late packets cannot go below zero.
                let ext = (1u64 << 32) | seq as u64;
                self.base = Some(ext);
                self.max = ext;
                self.seen.insert(ext);
                return;
            }
            Some(_) => {
                let delta = seq.wrapping_sub(self.max as u16) as i16 as i64;
                (self.max as i64 + delta) as u64
            }
        };
        if let Some(b) = self.base
            && ext < b
        {
            // Older than the first packet counted: not part of this window.
            return;
        }
        if !self.seen.insert(ext) {
            self.duplicates += 1;
            return;
        }
        if ext > self.max + 1 {
            self.jumps += 1;
        }
        if ext > self.max {
            self.max = ext;
        }
    }

    pub fn received(&self) -> u64 {
        self.seen.len() as u64
    }

    pub fn expected(&self) -> u64 {
        match self.base {
            Some(b) if self.max >= b => self.max - b + 1,
            _ => 0,
        }
    }

    /// Sequence numbers between the first and the highest seen that never arrived.
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received())
    }

    /// Starts counting afresh from the next packet (e.g. after warm-up).
    pub fn reset(&mut self) {
        *self = SeqStats::default();
    }
}

/// Marks the 8 bytes that end a stamped video frame (big-endian unix µs at sending).
pub const SEND_TIME_MAGIC: &[u8; 4] = b"BRTS";

fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Appends the magic and the send time to a frame (it ends the frame's last packet).
pub fn stamp_send_time(frame: &mut Vec<u8>) {
    frame.extend_from_slice(SEND_TIME_MAGIC);
    frame.extend_from_slice(&unix_micros().to_be_bytes());
}

/// The one-way delay (µs) of a packet that ends a stamped frame, if it does; sender and
/// receiver share the clock (one machine).
pub fn stamped_delay_us(payload: &[u8]) -> Option<u32> {
    let n = payload.len();
    if n < 12 || &payload[n - 12..n - 8] != SEND_TIME_MAGIC {
        return None;
    }
    let sent = u64::from_be_bytes(payload[n - 8..].try_into().ok()?);
    let delay = unix_micros().checked_sub(sent)?;
    // Anything over a minute is not a stamp but a coincidence.
    (delay < 60_000_000).then_some(delay as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_survives_opus_and_is_found_by_frequency() {
        let mut enc = ToneEncoder::new(660.0).unwrap();
        let mut dec = ToneDecoder::new().unwrap();
        for _ in 0..50 {
            let f = enc.next_frame().unwrap().to_vec();
            dec.push(&f);
        }
        let r = analyse(dec.recent(0.5));
        assert!((r.peak_hz - 660.0).abs() <= 10.0, "{r:?}");
        assert!(r.peak_share > 0.5, "{r:?}");
        assert!(share_at(dec.recent(0.5), 440.0) < 0.05);
    }

    #[test]
    fn silence_has_no_tone() {
        let r = analyse(&vec![0.0; 24_000]);
        assert_eq!(r.energy, 0.0);
        assert_eq!(r.peak_share, 0.0);
    }

    #[test]
    fn seq_stats_count_gaps_wraps_and_duplicates() {
        let mut s = SeqStats::default();
        for seq in [65_530u16, 65_531, 65_533, 65_534, 65_535, 0, 1, 1, 3] {
            s.record(seq);
        }
        // 65530..=3 is 10 numbers; 65532 and 2 are missing; one duplicate.
        assert_eq!(s.expected(), 10);
        assert_eq!(s.lost(), 2);
        assert_eq!(s.duplicates, 1);
        s.record(65_532); // late retransmission fills the gap
        assert_eq!(s.lost(), 1);
    }

    #[test]
    fn vp8_frames_carry_the_keyframe_bit_and_size() {
        let mut v = Vp8Source::new(1_000_000, 25);
        let k = v.next_frame(true);
        let d = v.next_frame(false);
        assert_eq!(k[0] & 1, 0);
        assert_eq!(&k[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(d[0] & 1, 1);
        assert_eq!(d.len(), 5000);
        assert_eq!(k.len(), 15000);
    }
}

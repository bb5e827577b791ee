//! The conference audio file: the mixer's frames re-encoded to one Opus stream in Ogg.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;

use crate::mixer::{FRAME_SAMPLES, Mixer, SAMPLE_RATE};
use crate::ogg_opus::OggOpusWriter;
use crate::{RecorderError, RecorderStats, SourceId};

/// Output bitrate of the mix: speech in mono, comfortably above what a meeting needs.
const BITRATE: i32 = 32_000;
/// Largest Opus packet we let the encoder produce.
const MAX_PACKET: usize = 1500;

/// One Opus RTP packet as the recorder needs it (plain RTP, after SRTP).
#[derive(Debug, Clone)]
pub struct AudioPacket {
    pub source: SourceId,
    pub ssrc: u32,
    /// Not needed for placement (the timestamp places it); kept for diagnostics.
    pub sequence: u16,
    pub timestamp: u32,
    pub payload: Bytes,
    /// Arrival, as the offset from the start of the recording.
    pub arrival: Duration,
}

/// Mixes every source into one Ogg/Opus file as time advances.
pub struct AudioRecorder<W: Write> {
    mixer: Mixer,
    encoder: opus::Encoder,
    out: Option<OggOpusWriter<W>>,
    frames: Vec<[i16; FRAME_SAMPLES]>,
    packet: Vec<u8>,
    /// The last encoded packet is held back so `finish` can flag it end-of-stream.
    pending: Option<Vec<u8>>,
    frames_written: u64,
}

impl<W: Write> AudioRecorder<W> {
    /// Starts the file (its header pages are written at once, so a full disk shows now).
    pub fn new(out: W) -> Result<Self, RecorderError> {
        let mut encoder =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)?;
        encoder.set_bitrate(opus::Bitrate::Bits(BITRATE))?;
        let pre_skip = u16::try_from(encoder.get_lookahead()?).unwrap_or(312);
        Ok(AudioRecorder {
            mixer: Mixer::new(),
            encoder,
            out: Some(OggOpusWriter::new(out, 1, pre_skip)?),
            frames: Vec::new(),
            packet: vec![0; MAX_PACKET],
            pending: None,
            frames_written: 0,
        })
    }

    /// Takes a packet (no I/O). Fails only if libopus cannot make a decoder for a
    /// new source; the packet is then dropped and the recording goes on.
    pub fn push(&mut self, p: AudioPacket) -> Result<(), RecorderError> {
        self.mixer
            .push(&p.source, p.ssrc, p.timestamp, p.payload, p.arrival)?;
        Ok(())
    }

    /// Mixes and writes what is ready at `now` (call it every ~100 ms).
    pub fn advance(&mut self, now: Duration) -> Result<(), RecorderError> {
        let mut frames = std::mem::take(&mut self.frames);
        self.mixer.advance(now, &mut frames);
        let r = self.write_frames(&frames);
        frames.clear();
        self.frames = frames;
        r
    }

    /// Mixes everything up to `now`, ends the stream and returns the writer.
    pub fn finish(mut self, now: Duration) -> Result<W, RecorderError> {
        let mut frames = Vec::new();
        self.mixer.drain(now, &mut frames);
        self.write_frames(&frames)?;
        let out = self.out.take().ok_or(RecorderError::Stopped)?;
        // An empty recording still gets a (silent) last packet to carry the EOS flag.
        let last = match self.pending.take() {
            Some(p) => p,
            None => self.encode(&[0; FRAME_SAMPLES])?,
        };
        out.finish(&last, FRAME_SAMPLES as u32)
    }

    /// Seconds of audio handed to the file so far.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.frames_written * 20)
    }

    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            frames_written: self.frames_written,
            ..self.mixer.stats()
        }
    }

    fn write_frames(&mut self, frames: &[[i16; FRAME_SAMPLES]]) -> Result<(), RecorderError> {
        for f in frames {
            let packet = self.encode(f)?;
            if let Some(prev) = self.pending.replace(packet) {
                let out = self.out.as_mut().ok_or(RecorderError::Stopped)?;
                if let Err(e) = out.write_packet(&prev, FRAME_SAMPLES as u32) {
                    // Stop this file for good; what is on disk stays readable.
                    self.out = None;
                    return Err(e);
                }
            }
            self.frames_written += 1;
        }
        Ok(())
    }

    fn encode(&mut self, pcm: &[i16; FRAME_SAMPLES]) -> Result<Vec<u8>, RecorderError> {
        let n = self.encoder.encode(pcm, &mut self.packet)?;
        Ok(self.packet[..n].to_vec())
    }
}

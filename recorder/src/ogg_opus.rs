//! Ogg/Opus file writing (RFC 7845) on top of the `ogg` crate's page writer.
//!
//! Crash safety: every page goes straight to the underlying writer (no buffering
//! here), and a page is ended at least every [`PAGE_FRAMES`] packets, so a killed
//! process loses at most that much audio; the file needs no trailer to be read.

use std::io::Write;

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::RecorderError;

/// Samples per second; Opus in Ogg always counts granules at 48 kHz.
pub const GRANULE_RATE: u64 = 48_000;
/// Packets per page: 50 x 20 ms = one second.
pub const PAGE_FRAMES: u32 = 50;

/// Writes Opus packets of a fixed duration into one logical Ogg stream.
pub struct OggOpusWriter<W: Write> {
    pages: PacketWriter<'static, W>,
    serial: u32,
    pre_skip: u16,
    /// Granule position (48 kHz samples, pre-skip included) after the last packet.
    granule: u64,
    in_page: u32,
    bytes: u64,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the OpusHead and OpusTags pages. `pre_skip` is the encoder's lookahead.
    pub fn new(out: W, channels: u8, pre_skip: u16) -> Result<Self, RecorderError> {
        let mut w = OggOpusWriter {
            pages: PacketWriter::new(out),
            serial: rand::random(),
            pre_skip,
            granule: u64::from(pre_skip),
            in_page: 0,
            bytes: 0,
        };
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(channels);
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate (informational)
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family 0: mono or stereo
        w.put(head, PacketWriteEndInfo::EndPage, 0)?;

        let vendor = concat!("bridge-recorder ", env!("CARGO_PKG_VERSION"));
        let mut tags = Vec::with_capacity(16 + vendor.len());
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        w.put(tags, PacketWriteEndInfo::EndPage, 0)?;
        Ok(w)
    }

    /// Appends one packet of `samples` (48 kHz) samples; ends the page every second.
    pub fn write_packet(&mut self, packet: &[u8], samples: u32) -> Result<(), RecorderError> {
        self.granule += u64::from(samples);
        self.in_page += 1;
        let end = if self.in_page >= PAGE_FRAMES {
            self.in_page = 0;
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        self.put(packet.to_vec(), end, self.granule)
    }

    /// Writes the last packet with the end-of-stream flag and flushes.
    pub fn finish(mut self, last: &[u8], samples: u32) -> Result<W, RecorderError> {
        self.granule += u64::from(samples);
        self.put(last.to_vec(), PacketWriteEndInfo::EndStream, self.granule)?;
        let mut out = self.pages.into_inner();
        out.flush()?;
        Ok(out)
    }

    /// Audio written so far (packets handed in, whether or not their page ended).
    pub fn duration_samples(&self) -> u64 {
        self.granule - u64::from(self.pre_skip)
    }

    /// Bytes of packet data handed to the page writer (a close estimate of file size).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn put(
        &mut self,
        data: Vec<u8>,
        end: PacketWriteEndInfo,
        granule: u64,
    ) -> Result<(), RecorderError> {
        self.bytes += data.len() as u64;
        self.pages.write_packet(data, self.serial, end, granule)?;
        Ok(())
    }
}

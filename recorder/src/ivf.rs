//! IVF file writing for VP8, crash-safe.
//!
//! IVF is a 32-byte header then frames, each a 12-byte header (size, 64-bit
//! timestamp) and the frame. Timestamps here are milliseconds (timebase 1/1000), so
//! a variable frame rate keeps its timing. The header's 32-bit length field at offset
//! 24 is rewritten as the file grows ([`IvfWriter::refresh_header`]): FFmpeg's reader
//! takes it as the stream duration in timebase units (and its IVF muxer writes it so),
//! so a file cut short by a kill still reports how long it is.

use std::io::{Seek, SeekFrom, Write};

use crate::RecorderError;

const HEADER_LEN: u16 = 32;

pub struct IvfWriter<W: Write + Seek> {
    out: W,
    width: u16,
    height: u16,
    frames: u64,
    last_pts: Option<u64>,
    bytes: u64,
}

impl<W: Write + Seek> IvfWriter<W> {
    pub fn new(out: W) -> Result<Self, RecorderError> {
        let mut w = IvfWriter {
            out,
            width: 0,
            height: 0,
            frames: 0,
            last_pts: None,
            bytes: u64::from(HEADER_LEN),
        };
        let header = w.header(0);
        w.out.write_all(&header)?;
        Ok(w)
    }

    /// Size shown in the header (the first keyframe's; readers take later keyframes'
    /// own sizes).
    pub fn set_dimensions(&mut self, width: u16, height: u16) {
        if self.width == 0 {
            self.width = width;
            self.height = height;
        }
    }

    /// Appends one frame at `pts_ms`; timestamps must increase (callers ensure it).
    pub fn write_frame(&mut self, pts_ms: u64, frame: &[u8]) -> Result<(), RecorderError> {
        let mut buf = Vec::with_capacity(12 + frame.len());
        buf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        buf.extend_from_slice(&pts_ms.to_le_bytes());
        buf.extend_from_slice(frame);
        // One write per frame, so a kill rarely leaves half a frame behind.
        self.out.write_all(&buf)?;
        self.frames += 1;
        self.last_pts = Some(pts_ms);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Rewrites the header with the duration so far (`duration_ms`), then returns
    /// to the end of the file.
    pub fn refresh_header(&mut self, duration_ms: u64) -> Result<(), RecorderError> {
        let header = self.header(duration_ms);
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&header)?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(())
    }

    pub fn finish(mut self, duration_ms: u64) -> Result<W, RecorderError> {
        self.refresh_header(duration_ms)?;
        Ok(self.out)
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn last_pts(&self) -> Option<u64> {
        self.last_pts
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn header(&self, duration_ms: u64) -> [u8; HEADER_LEN as usize] {
        let mut h = [0u8; HEADER_LEN as usize];
        h[0..4].copy_from_slice(b"DKIF");
        h[4..6].copy_from_slice(&0u16.to_le_bytes()); // version
        h[6..8].copy_from_slice(&HEADER_LEN.to_le_bytes());
        h[8..12].copy_from_slice(b"VP80");
        h[12..14].copy_from_slice(&self.width.to_le_bytes());
        h[14..16].copy_from_slice(&self.height.to_le_bytes());
        h[16..20].copy_from_slice(&1000u32.to_le_bytes()); // timebase denominator
        h[20..24].copy_from_slice(&1u32.to_le_bytes()); // timebase numerator
        h[24..28].copy_from_slice(&(duration_ms.min(u64::from(u32::MAX)) as u32).to_le_bytes());
        h
    }
}

//! Server-side meeting recording from RTP, with no browser involved.
//!
//! - [`AudioRecorder`]: Opus RTP from any number of sources, decoded, placed on one
//!   20 ms timeline (loss, reordering, sources leaving and coming back with new SSRCs),
//!   mixed with a limiter and re-encoded into one Ogg/Opus file ([`mixer`],
//!   [`ogg_opus`]).
//! - [`VideoRecorder`]: the main stage's VP8 RTP reassembled into frames and written
//!   as IVF; it follows one source at a time and switches only at a keyframe ([`vp8`],
//!   [`ivf`]).
//!
//! Both are crash-safe: the Ogg writer ends a page at least every second and the IVF
//! header is rewritten about every second, each written straight to the file, so a
//! killed server loses at most the last second. Time is passed in as the offset from
//! the start of the recording; the caller owns the clock and the files.
#![forbid(unsafe_code)]

mod audio;
mod error;
pub mod ivf;
pub mod mixer;
pub mod ogg_opus;
mod video;
pub mod vp8;

pub use audio::{AudioPacket, AudioRecorder};
pub use error::RecorderError;
pub use video::{VideoPacket, VideoRecorder};

use std::fmt;

/// One media source (a published track); its SSRC may change when it comes back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub String);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SourceId {
    fn from(s: &str) -> Self {
        SourceId(s.to_owned())
    }
}

/// Counters a driver can log or expose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Packets that arrived after their place on the timeline was already written.
    pub late_packets: u64,
    /// Packets dropped because a source's buffer was at its limit.
    pub overflow_packets: u64,
    /// Packets the codec could not decode (concealed instead).
    pub decode_errors: u64,
    /// Output frames (audio: 20 ms frames; video: VP8 frames) written.
    pub frames_written: u64,
    /// Video frames dropped (incomplete, or waiting for a keyframe).
    pub frames_dropped: u64,
}

//! The main-stage video file: one followed source at a time, switched at a keyframe.
//!
//! The driver says which source is on the main stage ([`VideoRecorder::select`]); the
//! recorder keeps writing the current source until the new one delivers a keyframe,
//! so the file never holds a delta frame without its keyframe. Keyframe requests are
//! queued for the driver (at most one a second per source) which sends them to the
//! publisher.

use std::collections::HashMap;
use std::io::{Seek, Write};
use std::time::Duration;

use bytes::Bytes;

use crate::ivf::IvfWriter;
use crate::vp8::{Assembled, Assembler, Frame};
use crate::{RecorderError, RecorderStats, SourceId};

/// Minimum time between two keyframe requests for one source.
const REQUEST_EVERY: Duration = Duration::from_secs(1);
/// How often the IVF header is rewritten (what a kill can lose from the duration).
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// A source whose timestamps stray this far from arrival times is re-anchored.
const REANCHOR_MS: i64 = 2_000;

/// One VP8 RTP packet as the recorder needs it (plain RTP, after SRTP).
#[derive(Debug, Clone)]
pub struct VideoPacket {
    pub source: SourceId,
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
    /// Arrival, as the offset from the start of the recording.
    pub arrival: Duration,
}

struct Follow {
    source: SourceId,
    ssrc: Option<u32>,
    asm: Assembler,
    /// (RTP timestamp, pts in ms) of the frame the timing is measured from.
    anchor: Option<(u32, u64)>,
}

impl Follow {
    fn new(source: SourceId) -> Self {
        Follow {
            source,
            ssrc: None,
            asm: Assembler::new(),
            anchor: None,
        }
    }
}

pub struct VideoRecorder<W: Write + Seek> {
    out: Option<IvfWriter<W>>,
    current: Option<Follow>,
    wanted: Option<Follow>,
    requests: Vec<SourceId>,
    last_request: HashMap<SourceId, Duration>,
    last_refresh: Duration,
    stats: RecorderStats,
}

impl<W: Write + Seek> VideoRecorder<W> {
    pub fn new(out: W) -> Result<Self, RecorderError> {
        Ok(VideoRecorder {
            out: Some(IvfWriter::new(out)?),
            current: None,
            wanted: None,
            requests: Vec::new(),
            last_request: HashMap::new(),
            last_refresh: Duration::ZERO,
            stats: RecorderStats::default(),
        })
    }

    /// The source now on the main stage. Switching waits for its keyframe (one is
    /// requested now).
    pub fn select(&mut self, source: SourceId, now: Duration) {
        if self.current.as_ref().is_some_and(|c| c.source == source) {
            self.wanted = None;
            return;
        }
        if self.wanted.as_ref().is_some_and(|w| w.source == source) {
            return;
        }
        self.wanted = Some(Follow::new(source.clone()));
        self.request(source, now);
    }

    /// The source being written, if any.
    pub fn current(&self) -> Option<&SourceId> {
        self.current.as_ref().map(|c| &c.source)
    }

    /// Keyframe requests to pass to the publishers (drained).
    pub fn take_keyframe_requests(&mut self) -> Vec<SourceId> {
        std::mem::take(&mut self.requests)
    }

    pub fn stats(&self) -> RecorderStats {
        self.stats
    }

    /// Takes one packet; packets of sources neither current nor wanted are ignored.
    /// An error stops the file (later calls return [`RecorderError::Stopped`]).
    pub fn push(&mut self, p: VideoPacket) -> Result<(), RecorderError> {
        let now = p.arrival;
        let is_wanted = self.wanted.as_ref().is_some_and(|w| w.source == p.source);
        let follow = if is_wanted {
            self.wanted.as_mut()
        } else {
            self.current.as_mut().filter(|c| c.source == p.source)
        };
        let Some(follow) = follow else {
            return Ok(());
        };
        if follow.ssrc != Some(p.ssrc) {
            // The source came back (a rejoin): a new stream, from a keyframe.
            follow.ssrc = Some(p.ssrc);
            follow.asm.reset();
            follow.anchor = None;
        }
        match follow
            .asm
            .push(p.sequence, p.timestamp, p.marker, &p.payload)
        {
            Assembled::Pending => Ok(()),
            Assembled::NeedKeyframe => {
                self.stats.frames_dropped += 1;
                self.request(p.source, now);
                Ok(())
            }
            Assembled::Frame(frame) => {
                if is_wanted {
                    // The assembler only lets a stream start at a keyframe.
                    self.current = self.wanted.take();
                }
                self.write(frame, now)
            }
        }
    }

    /// Rewrites the header about every second so a killed server leaves a file whose
    /// duration is right to within that.
    pub fn advance(&mut self, now: Duration) -> Result<(), RecorderError> {
        if now.saturating_sub(self.last_refresh) < REFRESH_EVERY {
            return Ok(());
        }
        self.last_refresh = now;
        let out = self.out.as_mut().ok_or(RecorderError::Stopped)?;
        if out.frames() == 0 {
            return Ok(());
        }
        let r = out.refresh_header(now.as_millis() as u64);
        self.stop_on_error(r)
    }

    /// Writes the final header (duration up to `now`) and returns the writer.
    pub fn finish(mut self, now: Duration) -> Result<W, RecorderError> {
        let out = self.out.take().ok_or(RecorderError::Stopped)?;
        let duration = if out.frames() == 0 {
            0
        } else {
            now.as_millis() as u64
        };
        out.finish(duration)
    }

    /// Frames and bytes written so far.
    pub fn written(&self) -> (u64, u64) {
        self.out
            .as_ref()
            .map_or((0, 0), |o| (o.frames(), o.bytes()))
    }

    fn write(&mut self, frame: Frame, now: Duration) -> Result<(), RecorderError> {
        let out = self.out.as_mut().ok_or(RecorderError::Stopped)?;
        let Some(follow) = self.current.as_mut() else {
            return Ok(());
        };
        let arrival_ms = now.as_millis() as u64;
        let floor = out.last_pts().map_or(0, |p| p + 1);
        let mut pts = match follow.anchor {
            Some((ts, at)) => {
                let delta = i64::from(frame.timestamp.wrapping_sub(ts) as i32) / 90;
                (at as i64 + delta).max(0) as u64
            }
            None => arrival_ms,
        };
        if follow.anchor.is_none() || (pts as i64 - arrival_ms as i64).abs() > REANCHOR_MS {
            pts = arrival_ms;
            follow.anchor = Some((frame.timestamp, arrival_ms.max(floor)));
        }
        let pts = pts.max(floor);
        if let Some((w, h)) = frame.dimensions() {
            out.set_dimensions(w, h);
        }
        let r = out.write_frame(pts, &frame.data);
        if r.is_ok() {
            self.stats.frames_written += 1;
        }
        self.stop_on_error(r)
    }

    fn stop_on_error(&mut self, r: Result<(), RecorderError>) -> Result<(), RecorderError> {
        if r.is_err() {
            self.out = None;
        }
        r
    }

    fn request(&mut self, source: SourceId, now: Duration) {
        let due = self
            .last_request
            .get(&source)
            .is_none_or(|t| now.saturating_sub(*t) >= REQUEST_EVERY || now < *t);
        if due {
            self.last_request.insert(source.clone(), now);
            self.requests.push(source);
        }
    }
}

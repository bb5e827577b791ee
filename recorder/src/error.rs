//! The recorder's errors. An I/O error stops the file it happened on; the caller
//! reports it and the meeting goes on.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The disk (or the quota) is full: the file stops here, what was written stays
    /// readable.
    #[error("the disk is full; the recording stopped: {0}")]
    DiskFull(#[source] io::Error),
    #[error("writing the recording failed: {0}")]
    Io(#[source] io::Error),
    #[error("the Opus codec failed: {0}")]
    Opus(#[from] opus::Error),
    /// The file was already stopped by an earlier error (reported then).
    #[error("the recording was stopped by an earlier error")]
    Stopped,
}

impl From<io::Error> for RecorderError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => RecorderError::DiskFull(e),
            _ => RecorderError::Io(e),
        }
    }
}

//! Errors of the minutes store. Plain scheduler errors (not found, forbidden, stale
//! version, invalid input) pass through as [`SchedError`]; what only documents have
//! (final is read-only, finalized twice, a deadline before the meeting) gets its own
//! variant so the web layer can say exactly that.

use time::Date;

use super::DocKind;
use crate::error::SchedError;

#[derive(Debug, thiserror::Error)]
pub enum MinutesError {
    #[error(transparent)]
    Sched(#[from] SchedError),
    /// Finalize on a record that is already final; nothing changed.
    #[error("the {} is already final (number {seq:02}/{year})", .kind.name())]
    AlreadyFinal { kind: DocKind, seq: u32, year: i32 },
    /// A save on a final record; nothing changed.
    #[error("the {} is final and can no longer be edited", .kind.name())]
    ReadOnly { kind: DocKind },
    /// A task due before the meeting took place.
    #[error("task {position}: deadline {deadline} is before the meeting's date {meeting_date}")]
    DeadlineBeforeMeeting {
        position: usize,
        deadline: Date,
        meeting_date: Date,
    },
    /// A draft the secretary has not shared, asked for by an invited unit.
    #[error("the {} is a draft not shared with the invited units", .kind.name())]
    DraftNotShared { kind: DocKind },
    /// Signing was asked for minutes that are not final yet.
    #[error("the minutes are a draft: finalize them before signing")]
    NotFinal,
    /// The minutes were signed already; the signed PDF is kept as it was issued.
    #[error("the minutes are already signed")]
    AlreadySigned,
    /// A stored body that no longer parses (written by a newer version, or damaged).
    #[error("stored {} version {version} cannot be read: {reason}", .kind.name())]
    Corrupt {
        kind: DocKind,
        version: i64,
        reason: String,
    },
}

impl From<sqlx::Error> for MinutesError {
    fn from(e: sqlx::Error) -> Self {
        MinutesError::Sched(SchedError::Db(e))
    }
}

pub type Result<T, E = MinutesError> = std::result::Result<T, E>;

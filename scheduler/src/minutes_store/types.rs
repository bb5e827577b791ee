//! Values of the minutes store.

use bridge_minutes::{ConclusionNotice, DocNumber, Minutes, TaskStatus};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::SchedError;
use crate::ids::{MeetingId, UnitCode};

/// Which document: the two have separate registers ("07/BB-UBND", "12/TB-UBND").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Minutes,
    Notice,
}

impl DocKind {
    /// The stored value and the notation in the number (ký hiệu).
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Minutes => "BB",
            DocKind::Notice => "TB",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DocKind::Minutes => "minutes",
            DocKind::Notice => "conclusion notice",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocState {
    Draft,
    Final,
}

/// State of one record; `version` 0 means nothing is saved yet (a pre-filled draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocMeta {
    pub meeting: MeetingId,
    pub kind: DocKind,
    pub state: DocState,
    pub version: i64,
    pub number: Option<DocNumber>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finalized_at: Option<OffsetDateTime>,
    /// Username of who finalized.
    pub finalized_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// When the minutes' PDF was signed (minutes only).
    #[serde(with = "time::serde::rfc3339::option")]
    pub signed_at: Option<OffsetDateTime>,
    /// Whether the draft is shown to the invited units ("Chia sẻ dự thảo cho các đơn vị").
    pub shared: bool,
    /// Whether the caller may save and finalize (the UI shows the editor or the reader).
    pub can_edit: bool,
}

/// One saved version in the history list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    pub version: i64,
    /// Username of the author.
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub saved_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinutesRecord {
    pub meta: DocMeta,
    pub minutes: Minutes,
}

/// Identifier of a follow-up task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub uuid::Uuid);

impl TaskId {
    pub fn new_random() -> Self {
        TaskId(uuid::Uuid::new_v4())
    }

    pub fn parse(s: &str) -> crate::Result<Self> {
        uuid::Uuid::parse_str(s)
            .map(TaskId)
            .map_err(|_| SchedError::invalid("task", format!("{s:?} is not a UUID")))
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A task as the editor sends it and the store keeps it: units by code (the document
/// prints their names), the deadline as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeTask {
    /// None for a task added in this save; the store assigns one.
    #[serde(default)]
    pub id: Option<TaskId>,
    pub title: String,
    pub lead_unit: UnitCode,
    #[serde(default)]
    pub supporting_units: Vec<UnitCode>,
    #[serde(with = "iso_date")]
    pub deadline: Date,
    pub status: TaskStatus,
}

/// The notice as edited: the document (its `tasks` are filled from `tasks` when it is
/// rendered, with the units' names) and the tasks with unit codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeDoc {
    pub notice: ConclusionNotice,
    pub tasks: Vec<NoticeTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeRecord {
    pub meta: DocMeta,
    pub doc: NoticeDoc,
}

/// `#[serde(with = "iso_date")]`: a date as `YYYY-MM-DD`, what `<input type=date>` gives.
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::{Date, Month};

    pub fn format(d: Date) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
    }

    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u8 = it.next()?.parse().ok()?;
        let d: u8 = it.next()?.parse().ok()?;
        if !(1900..=9999).contains(&y) {
            return None;
        }
        Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
    }

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| D::Error::custom(format!("{s:?} is not a date (YYYY-MM-DD)")))
    }
}

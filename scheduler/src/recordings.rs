//! Rows describing a meeting's server-side recordings (the recorder itself is in the
//! binary). A row is written when a file is opened (status `recording`), its size is
//! refreshed while recording, and it ends `done` or `failed` with the error text. Rows
//! a killed server left `recording` are closed at the next start ([`Db::unfinished_recordings`]).

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::authz::Principal;
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::MeetingId;
use crate::timefmt::from_unix;

/// Longest error text kept (a disk error's message is short; this bounds odd ones).
const MAX_ERROR_CHARS: usize = 500;

/// The folder of one meeting's recordings inside the data folder.
pub fn meeting_dir(data_dir: &std::path::Path, meeting: MeetingId) -> std::path::PathBuf {
    data_dir.join("recordings").join(meeting.to_string())
}

/// Identifier of one recorded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordingId(pub uuid::Uuid);

impl RecordingId {
    pub fn new_random() -> Self {
        RecordingId(uuid::Uuid::new_v4())
    }

    pub fn parse(s: &str) -> Result<Self> {
        uuid::Uuid::parse_str(s)
            .map(RecordingId)
            .map_err(|_| SchedError::invalid("RecordingId", format!("{s:?} is not a UUID")))
    }
}

impl std::fmt::Display for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RecordingKind {
    /// The conference audio, mixed (Ogg/Opus).
    Audio,
    /// The main stage (VP8 in IVF).
    Video,
}

impl RecordingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingKind::Audio => "audio",
            RecordingKind::Video => "video",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "audio" => Ok(RecordingKind::Audio),
            "video" => Ok(RecordingKind::Video),
            _ => Err(SchedError::invalid("stored recording kind", s)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RecordingStatus {
    Recording,
    Done,
    Failed,
}

impl RecordingStatus {
    fn as_str(self) -> &'static str {
        match self {
            RecordingStatus::Recording => "recording",
            RecordingStatus::Done => "done",
            RecordingStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "recording" => Ok(RecordingStatus::Recording),
            "done" => Ok(RecordingStatus::Done),
            "failed" => Ok(RecordingStatus::Failed),
            _ => Err(SchedError::invalid("stored recording status", s)),
        }
    }
}

/// One recorded file of a meeting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recording {
    pub id: RecordingId,
    pub meeting: MeetingId,
    pub kind: RecordingKind,
    /// File name inside the meeting's recordings folder (e.g. `1-audio.ogg`).
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    pub status: RecordingStatus,
    pub error: Option<String>,
}

/// A new file the recorder opens.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    pub meeting: MeetingId,
    pub kind: RecordingKind,
    pub filename: &'a str,
    pub content_type: &'a str,
}

const COLS: &str =
    "id, meeting_id, kind, filename, content_type, size, started_at, ended_at, status, error";

fn from_row(r: &AnyRow) -> Result<Recording> {
    Ok(Recording {
        id: RecordingId::parse(&r.try_get::<String, _>("id")?)?,
        meeting: MeetingId::parse(&r.try_get::<String, _>("meeting_id")?)?,
        kind: RecordingKind::parse(&r.try_get::<String, _>("kind")?)?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get::<i64, _>("size")?.max(0) as u64,
        started_at: from_unix(r.try_get("started_at")?)?,
        ended_at: r
            .try_get::<Option<i64>, _>("ended_at")?
            .map(from_unix)
            .transpose()?,
        status: RecordingStatus::parse(&r.try_get::<String, _>("status")?)?,
        error: r.try_get("error")?,
    })
}

impl Db {
    /// Whether the meeting is to be recorded (trusted caller: the recorder).
    pub async fn meeting_records(&self, meeting: MeetingId) -> Result<bool> {
        let row = sqlx::query("SELECT record FROM meetings WHERE id = $1 AND cancelled = 0")
            .bind(meeting.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64, _>("record")? != 0,
            None => false,
        })
    }

    /// How many files of `kind` the meeting has (the next pair is numbered after it).
    pub async fn recording_count(&self, meeting: MeetingId, kind: RecordingKind) -> Result<u64> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM recordings WHERE meeting_id = $1 AND kind = $2")
                .bind(meeting.to_string())
                .bind(kind.as_str())
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?;
        Ok(n.max(0) as u64)
    }

    /// Records that a file was opened; its status is `recording`.
    pub async fn start_recording(
        &self,
        new: NewRecording<'_>,
        now: OffsetDateTime,
    ) -> Result<RecordingId> {
        let id = RecordingId::new_random();
        sqlx::query(
            "INSERT INTO recordings (id, meeting_id, kind, filename, content_type, size, \
             started_at, ended_at, status, error) VALUES ($1, $2, $3, $4, $5, 0, $6, NULL, $7, NULL)",
        )
        .bind(id.to_string())
        .bind(new.meeting.to_string())
        .bind(new.kind.as_str())
        .bind(new.filename.to_owned())
        .bind(new.content_type.to_owned())
        .bind(now.unix_timestamp())
        .bind(RecordingStatus::Recording.as_str())
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Refreshes the size of a file being recorded.
    pub async fn recording_progress(&self, id: RecordingId, size: u64) -> Result<()> {
        sqlx::query("UPDATE recordings SET size = $1 WHERE id = $2 AND status = $3")
            .bind(size as i64)
            .bind(id.to_string())
            .bind(RecordingStatus::Recording.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes a file: `done`, or `failed` with the error that stopped it.
    pub async fn end_recording(
        &self,
        id: RecordingId,
        size: u64,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let status = match error {
            Some(_) => RecordingStatus::Failed,
            None => RecordingStatus::Done,
        };
        let error = error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect::<String>());
        sqlx::query(
            "UPDATE recordings SET size = $1, ended_at = $2, status = $3, error = $4 WHERE id = $5",
        )
        .bind(size as i64)
        .bind(now.unix_timestamp())
        .bind(status.as_str())
        .bind(error)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Files still marked `recording`: at startup, those a killed server left open.
    pub async fn unfinished_recordings(&self) -> Result<Vec<Recording>> {
        sqlx::query(&format!(
            "SELECT {COLS} FROM recordings WHERE status = $1 ORDER BY started_at"
        ))
        .bind(RecordingStatus::Recording.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// The meeting's recordings, oldest first, for anyone who may see the meeting.
    pub async fn recordings(
        &self,
        actor: &Principal,
        meeting: MeetingId,
    ) -> Result<Vec<Recording>> {
        let m = self.load_meeting(meeting).await?;
        self.check_view(actor, &m).await?;
        sqlx::query(&format!(
            "SELECT {COLS} FROM recordings WHERE meeting_id = $1 ORDER BY started_at, filename"
        ))
        .bind(meeting.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
    }

    /// One recording, for anyone who may see the meeting.
    pub async fn recording(
        &self,
        actor: &Principal,
        meeting: MeetingId,
        id: RecordingId,
    ) -> Result<Recording> {
        let m = self.load_meeting(meeting).await?;
        self.check_view(actor, &m).await?;
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM recordings WHERE id = $1 AND meeting_id = $2"
        ))
        .bind(id.to_string())
        .bind(meeting.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::not_found("recording", id.to_string()))?;
        from_row(&row)
    }
}

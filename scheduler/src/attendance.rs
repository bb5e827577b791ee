//! Attendance: presence periods recorded from the room events, read back per meeting.
//!
//! The binary writes one row per participant session (`Joined` opens it, `Left` closes
//! it with the speaking time) and one row per time a room was open. A meeting's
//! attendance is read from its own room `m-<id>` and from its invited units' rooms
//! `u-<code>` while the meeting room was open (they are linked in only then); the
//! arithmetic lives in [`summary`].
//!
//! A server that is killed cannot close what is open. Open rows carry `last_seen`,
//! refreshed by a heartbeat ([`Db::attendance_heartbeat`]); on the next start
//! [`Db::close_unfinished_attendance`] closes them at that time, the last moment the
//! server is known to have been alive with them open. This assumes one node writes
//! attendance; several nodes would each need to close only their own rows.

pub mod summary;

use std::time::Duration;

use sqlx::Row;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::authz::Principal;
use crate::db::Db;
use crate::error::Result;
use crate::ids::MeetingId;
use crate::meetings::range::display_time;

pub use summary::{AttendancePeriod, RawPeriod, Span, UnitAttendance};

/// A participant joining a room, as the binary tells it.
#[derive(Debug, Clone)]
pub struct JoinRecord<'a> {
    pub room: &'a str,
    pub participant: &'a str,
    pub name: &'a str,
    /// The unit in the join token.
    pub unit: Option<&'a str>,
    pub role: &'a str,
}

/// Longest display name kept; the token's name is already bounded, this is a backstop.
const MAX_NAME_CHARS: usize = 200;

impl Db {
    /// Opens a presence period.
    pub async fn attendance_joined(&self, r: &JoinRecord<'_>, at: OffsetDateTime) -> Result<()> {
        let at = at.unix_timestamp();
        let meeting = r
            .room
            .strip_prefix("m-")
            .and_then(|id| MeetingId::parse(id).ok())
            .map(|id| id.to_string());
        // In a unit's own room the hall stands for that unit even if its token names none.
        let unit = r
            .unit
            .map(str::to_owned)
            .or_else(|| r.room.strip_prefix("u-").map(str::to_owned));
        let name: String = r.name.chars().take(MAX_NAME_CHARS).collect();
        sqlx::query(
            "INSERT INTO attendance (id, room, meeting_id, unit_code, participant, display_name, \
             role, joined_at, left_at, last_seen, speaking_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $8, 0)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(r.room)
        .bind(meeting)
        .bind(unit)
        .bind(r.participant)
        .bind(name)
        .bind(r.role)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Closes the participant's open period in `room` with its speaking time.
    pub async fn attendance_left(
        &self,
        room: &str,
        participant: &str,
        speaking: Duration,
        at: OffsetDateTime,
    ) -> Result<()> {
        let speaking =
            i64::try_from(speaking.as_millis().saturating_add(500) / 1000).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE attendance SET left_at = $1, last_seen = $1, speaking_seconds = $2 \
             WHERE room = $3 AND participant = $4 AND left_at IS NULL",
        )
        .bind(at.unix_timestamp())
        .bind(speaking)
        .bind(room)
        .bind(participant)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A room opened (its first participant joined).
    pub async fn attendance_room_opened(&self, room: &str, at: OffsetDateTime) -> Result<()> {
        let at = at.unix_timestamp();
        // A session left open (a lost Closed) ends where the new one starts.
        self.attendance_room_closed_at(room, at).await?;
        sqlx::query(
            "INSERT INTO room_sessions (id, room, opened_at, closed_at, last_seen) \
             VALUES ($1, $2, $3, NULL, $3)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(room)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A room closed (its last participant left).
    pub async fn attendance_room_closed(&self, room: &str, at: OffsetDateTime) -> Result<()> {
        self.attendance_room_closed_at(room, at.unix_timestamp())
            .await
    }

    async fn attendance_room_closed_at(&self, room: &str, at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE room_sessions SET closed_at = $1, last_seen = $1 \
             WHERE room = $2 AND closed_at IS NULL",
        )
        .bind(at)
        .bind(room)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks every open period and room session as alive at `at`.
    pub async fn attendance_heartbeat(&self, at: OffsetDateTime) -> Result<()> {
        let at = at.unix_timestamp();
        sqlx::query("UPDATE attendance SET last_seen = $1 WHERE left_at IS NULL")
            .bind(at)
            .execute(&self.pool)
            .await?;
        sqlx::query("UPDATE room_sessions SET last_seen = $1 WHERE closed_at IS NULL")
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// At start-up: closes what a killed server left open, at its last heartbeat.
    /// Returns how many presence periods were closed.
    pub async fn close_unfinished_attendance(&self) -> Result<u64> {
        let n = sqlx::query("UPDATE attendance SET left_at = last_seen WHERE left_at IS NULL")
            .execute(&self.pool)
            .await?
            .rows_affected();
        sqlx::query("UPDATE room_sessions SET closed_at = last_seen WHERE closed_at IS NULL")
            .execute(&self.pool)
            .await?;
        Ok(n)
    }

    /// The meeting's attendance per invited unit, periods still open ending now.
    pub async fn meeting_attendance(&self, id: MeetingId) -> Result<Vec<UnitAttendance>> {
        self.meeting_attendance_at(id, OffsetDateTime::now_utc())
            .await
    }

    /// As [`Db::meeting_attendance`], checking that `actor` may see the meeting.
    pub async fn meeting_attendance_for(
        &self,
        actor: &Principal,
        id: MeetingId,
        now: OffsetDateTime,
    ) -> Result<Vec<UnitAttendance>> {
        let m = self.load_meeting(id).await?;
        self.check_view(actor, &m).await?;
        self.meeting_attendance_at(id, now).await
    }

    /// The meeting's attendance with periods still open ending at `now`.
    pub async fn meeting_attendance_at(
        &self,
        id: MeetingId,
        now: OffsetDateTime,
    ) -> Result<Vec<UnitAttendance>> {
        let now = now.unix_timestamp();
        self.load_meeting(id).await?;
        let invited = self.invited_units(id).await?;
        let room = id.room().0;
        let sessions: Vec<Span> = sqlx::query(
            "SELECT opened_at, closed_at FROM room_sessions WHERE room = $1 ORDER BY opened_at",
        )
        .bind(&room)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let start: i64 = r.try_get("opened_at")?;
            let end: Option<i64> = r.try_get("closed_at")?;
            Ok(Span {
                start,
                end: end.unwrap_or(now).max(start),
            })
        })
        .collect::<Result<_>>()?;
        // Unit-room periods only matter where they overlap the meeting room's open times.
        let lo = sessions.iter().map(|s| s.start).min().unwrap_or(0);
        let hi = sessions.iter().map(|s| s.end).max().unwrap_or(-1);
        let periods: Vec<RawPeriod> = sqlx::query(
            "SELECT room, unit_code, display_name, joined_at, left_at, speaking_seconds \
             FROM attendance \
             WHERE room = $1 \
                OR (room IN (SELECT 'u-' || unit_code FROM invitations WHERE meeting_id = $2) \
                    AND joined_at <= $3 AND COALESCE(left_at, $4) >= $5) \
             ORDER BY joined_at",
        )
        .bind(&room)
        .bind(id.to_string())
        .bind(hi)
        .bind(now)
        .bind(lo)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RawPeriod {
                room: r.try_get("room")?,
                unit: r.try_get("unit_code")?,
                name: r.try_get("display_name")?,
                joined_at: r.try_get("joined_at")?,
                left_at: r.try_get("left_at")?,
                speaking_seconds: r.try_get("speaking_seconds")?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(summary::summarize(
            &invited, &room, &sessions, &periods, now,
        ))
    }
}

/// The attendance as CSV for spreadsheets: UTF-8 with a byte-order mark (without it
/// Excel reads Vietnamese as Windows-1252), times in Vietnam's time zone.
pub fn attendance_csv(rows: &[UnitAttendance]) -> Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "Mã đơn vị",
            "Đơn vị",
            "Có mặt",
            "Thời gian kết nối",
            "Tổng thời gian (phút)",
            "Thời gian phát biểu (giây)",
            "Người tham dự",
        ])
        .map_err(csv_error)?;
        for r in rows {
            let periods: Vec<String> = r.periods.iter().map(period_text).collect();
            w.write_record([
                r.unit.as_str(),
                &r.unit_name,
                if r.present { "Có" } else { "Vắng" },
                &periods.join("; "),
                &format!("{:.1}", r.connected_seconds as f64 / 60.0),
                &r.speaking_seconds.to_string(),
                &r.participants.join("; "),
            ])
            .map_err(csv_error)?;
        }
        w.flush()?;
    }
    Ok(out)
}

fn csv_error(e: csv::Error) -> crate::error::SchedError {
    crate::error::SchedError::Io(std::io::Error::other(e.to_string()))
}

/// "02/03/2026 08:00:05–09:15:00" in Vietnam's time (the date again if it changes). A
/// stored time with no Vietnam form (a hand-made row near year 9999) is shown in UTC.
pub fn period_text(p: &AttendancePeriod) -> String {
    let shown = |t: OffsetDateTime| display_time(t).unwrap_or((PrimitiveDateTime::MAX, true));
    let (a, a_utc) = shown(p.joined_at);
    let (b, b_utc) = shown(p.left_at);
    let date =
        |t: PrimitiveDateTime| format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year());
    let clock =
        |t: PrimitiveDateTime| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let end = if a.date() == b.date() && a_utc == b_utc {
        clock(b)
    } else {
        format!("{} {}", date(b), clock(b))
    };
    let zone = if a_utc || b_utc { " (UTC)" } else { "" };
    let ongoing = if p.ongoing {
        " (đang kết nối)"
    } else {
        ""
    };
    format!("{} {}–{end}{zone}{ongoing}", date(a), clock(a))
}

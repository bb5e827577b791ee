//! Meeting storage, read side: views, conflicts, acknowledgements, a unit's upcoming list.

use sqlx::Row;
use time::OffsetDateTime;

use super::Meeting;
use super::store::{MEETING_COLS, meeting_from_row};
use super::types::{Acknowledged, Invitation, MeetingView, Occurrence, UpcomingEntry};
use crate::authz::{self, MeetingFacts, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode, UserId};
use crate::timefmt::from_unix;
use crate::units::Unit;

impl Db {
    /// The meeting without any authorization check (internal and for trusted callers).
    pub async fn load_meeting(&self, id: MeetingId) -> Result<Meeting> {
        let row = sqlx::query(&format!(
            "SELECT {MEETING_COLS} FROM meetings WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::not_found("meeting", id.to_string()))?;
        let agenda =
            sqlx::query("SELECT body FROM agenda_items WHERE meeting_id = $1 ORDER BY position")
                .bind(id.to_string())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("body"))
                .collect::<Result<Vec<_>, _>>()?;
        meeting_from_row(&row, agenda)
    }

    pub(crate) async fn is_invited(&self, id: MeetingId, unit: &UnitCode) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT unit_code FROM invitations WHERE meeting_id = $1 AND unit_code = $2",
        )
        .bind(id.to_string())
        .bind(unit.to_string())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// The invited units (code, name) in tree order, for trusted callers (the conference
    /// room's roll call).
    pub async fn invited_units(&self, id: MeetingId) -> Result<Vec<(UnitCode, String)>> {
        sqlx::query(
            "SELECT i.unit_code, u.name FROM invitations i JOIN units u ON u.code = i.unit_code \
             WHERE i.meeting_id = $1 ORDER BY u.path",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok((
                UnitCode::from_db(r.try_get("unit_code")?),
                r.try_get("name")?,
            ))
        })
        .collect()
    }

    /// Checks that `actor` may see meeting `m`; returns the organizer unit.
    pub(crate) async fn check_view(&self, actor: &Principal, m: &Meeting) -> Result<Unit> {
        let org = self.unit(&m.organizer).await?;
        let invited = match &actor.unit {
            Some(u) => self.is_invited(m.id, u).await?,
            None => false,
        };
        let facts = MeetingFacts {
            organizer_path: &org.path,
            caller_unit_invited: invited,
            caller_is_chair: m.chair == Some(actor.user_id),
        };
        if !authz::can_view_meeting(actor, facts) {
            return Err(SchedError::Forbidden(
                "your unit is not invited to this meeting".into(),
            ));
        }
        Ok(org)
    }

    /// A meeting as `actor` may see it, with invitations and acknowledgement status.
    pub async fn meeting(&self, actor: &Principal, id: MeetingId) -> Result<MeetingView> {
        let meeting = self.load_meeting(id).await?;
        self.check_view(actor, &meeting).await?;
        let mut invitations = Vec::new();
        for r in sqlx::query(
            "SELECT i.unit_code, u.name, i.acknowledged_at, i.acknowledged_by \
             FROM invitations i JOIN units u ON u.code = i.unit_code \
             WHERE i.meeting_id = $1 ORDER BY u.path",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        {
            invitations.push(Invitation {
                unit: UnitCode::from_db(r.try_get("unit_code")?),
                unit_name: r.try_get("name")?,
                acknowledged_at: r
                    .try_get::<Option<i64>, _>("acknowledged_at")?
                    .map(from_unix)
                    .transpose()?,
                acknowledged_by: r
                    .try_get::<Option<String>, _>("acknowledged_by")?
                    .map(|s| UserId::parse(&s))
                    .transpose()?,
            });
        }
        let occurrences = sqlx::query(
            "SELECT starts_at, ends_at FROM occurrences WHERE meeting_id = $1 ORDER BY starts_at",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Occurrence {
                starts_at: from_unix(r.try_get("starts_at")?)?,
                ends_at: from_unix(r.try_get("ends_at")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(MeetingView {
            meeting,
            invitations,
            occurrences,
        })
    }

    /// Records that `unit` has seen the invitation. Idempotent.
    pub async fn acknowledge(
        &self,
        actor: &Principal,
        id: MeetingId,
        unit: &UnitCode,
        now: OffsetDateTime,
    ) -> Result<Acknowledged> {
        if !authz::can_acknowledge(actor, unit) {
            return Err(SchedError::Forbidden(format!(
                "you may not acknowledge for unit {unit}"
            )));
        }
        let n = sqlx::query(
            "UPDATE invitations SET acknowledged_at = $1, acknowledged_by = $2 \
             WHERE meeting_id = $3 AND unit_code = $4 AND acknowledged_at IS NULL",
        )
        .bind(now.unix_timestamp())
        .bind(actor.user_id.to_string())
        .bind(id.to_string())
        .bind(unit.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 1 {
            return Ok(Acknowledged::Now);
        }
        if self.is_invited(id, unit).await? {
            Ok(Acknowledged::Already)
        } else {
            Err(SchedError::not_found("invitation", format!("{id}/{unit}")))
        }
    }

    /// Next occurrences of meetings `unit` is invited to (it is always invited to the ones it
    /// organizes), not yet over at `now`, soonest first.
    pub async fn upcoming_for_unit(
        &self,
        actor: &Principal,
        unit: &UnitCode,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<UpcomingEntry>> {
        let u = self.unit(unit).await?;
        let allowed = authz::can_view_unit(actor, unit, &u.path);
        if !allowed {
            return Err(SchedError::Forbidden(format!(
                "you may not see the meetings of unit {unit}"
            )));
        }
        self.upcoming_unchecked(unit, now, limit).await
    }

    /// Same as [`Db::upcoming_for_unit`] without the authorization check (benchmarks, jobs).
    pub async fn upcoming_unchecked(
        &self,
        unit: &UnitCode,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<UpcomingEntry>> {
        let rows = sqlx::query(
            "SELECT m.id, m.title, m.organizer_code, o.starts_at, o.ends_at, m.urgent, i.acknowledged_at \
             FROM invitations i \
             JOIN meetings m ON m.id = i.meeting_id \
             JOIN occurrences o ON o.meeting_id = i.meeting_id \
             WHERE i.unit_code = $1 AND m.cancelled = 0 AND o.ends_at > $2 \
             ORDER BY o.starts_at, m.id LIMIT $3",
        )
        .bind(unit.to_string())
        .bind(now.unix_timestamp())
        .bind(limit.clamp(1, 500))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(upcoming_from_row).collect()
    }
}

/// One row of an upcoming-list query (`id, title, organizer_code, starts_at, ends_at,
/// urgent, acknowledged_at`), shared by the unit's list and the secretary's window.
pub(super) fn upcoming_from_row(r: &sqlx::any::AnyRow) -> Result<UpcomingEntry> {
    let id = MeetingId::parse(&r.try_get::<String, _>("id")?)?;
    let acknowledged_at = r
        .try_get::<Option<i64>, _>("acknowledged_at")?
        .map(from_unix)
        .transpose()?;
    Ok(UpcomingEntry {
        room: id.room(),
        meeting: id,
        title: r.try_get("title")?,
        organizer: UnitCode::from_db(r.try_get("organizer_code")?),
        starts_at: from_unix(r.try_get("starts_at")?)?,
        ends_at: from_unix(r.try_get("ends_at")?)?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        acknowledged: acknowledged_at.is_some(),
        acknowledged_at,
    })
}

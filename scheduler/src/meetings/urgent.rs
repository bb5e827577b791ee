//! Urgent calls beyond their creation: the dry run behind the office's confirmation
//! ("Triệu tập 207 đơn vị?"), the calls a unit has not acknowledged yet (its dashboard's
//! banners, shown on every load until someone of the unit acknowledges), and the stored
//! acknowledgement a unit's other screens are told about.

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use super::UrgentCall;
use super::store::urgent_draft;
use super::types::{AckRecord, PendingUrgent};
use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode, UserId};
use crate::timefmt::from_unix;

/// Names a confirmation lists before "và N đơn vị khác".
pub const MAX_PREVIEW_NAMES: usize = 5;

/// Who an urgent call would summon, and when, without saving anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UrgentPreview {
    /// Units asked to acknowledge: every invited unit but the organizer's own.
    pub count: usize,
    /// The first few of them in tree order (at most [`MAX_PREVIEW_NAMES`]).
    pub names: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

impl Db {
    /// The same checks as [`Db::create_urgent`], in the same order (who may call first),
    /// and the units it would summon; writes nothing.
    pub async fn preview_urgent(
        &self,
        actor: &Principal,
        call: UrgentCall,
        now: OffsetDateTime,
    ) -> Result<UrgentPreview> {
        self.check_schedule_for(actor, &call.organizer).await?;
        let organizer = call.organizer.clone();
        let draft = urgent_draft(call, now)?;
        let (valid, mut units) = self.prepare(actor, draft, now).await?;
        units.retain(|u| u.code != organizer);
        units.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(UrgentPreview {
            count: units.len(),
            names: units
                .iter()
                .take(MAX_PREVIEW_NAMES)
                .map(|u| u.name.clone())
                .collect(),
            starts_at: valid.draft.starts_at,
            ends_at: valid.draft.ends_at,
        })
    }

    /// Urgent sessions `unit` is called to, not cancelled, not over at `now`, that nobody
    /// of the unit has acknowledged; soonest first. The organizer's own unit is never
    /// asked (its invitation is acknowledged when the meeting is saved, and excluded here
    /// in case an edit made it organizer later).
    pub async fn pending_urgent(
        &self,
        actor: &Principal,
        unit: &UnitCode,
        now: OffsetDateTime,
    ) -> Result<Vec<PendingUrgent>> {
        let u = self.unit(unit).await?;
        if !authz::can_view_unit(actor, unit, &u.path) {
            return Err(SchedError::Forbidden(format!(
                "you may not see the meetings of unit {unit}"
            )));
        }
        let rows = sqlx::query(
            "SELECT m.id, m.title, m.organizer_code, org.name AS organizer_name, m.location, \
             m.starts_at, m.ends_at \
             FROM invitations i \
             JOIN meetings m ON m.id = i.meeting_id \
             JOIN units org ON org.code = m.organizer_code \
             WHERE i.unit_code = $1 AND i.acknowledged_at IS NULL AND m.urgent = 1 \
             AND m.cancelled = 0 AND m.organizer_code <> $1 \
             AND EXISTS (SELECT 1 FROM occurrences o WHERE o.meeting_id = m.id AND o.ends_at > $2) \
             ORDER BY m.starts_at, m.id LIMIT 50",
        )
        .bind(unit.to_string())
        .bind(now.unix_timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingUrgent {
                    meeting: MeetingId::parse(&r.try_get::<String, _>("id")?)?,
                    title: r.try_get("title")?,
                    organizer: UnitCode::from_db(r.try_get("organizer_code")?),
                    organizer_name: r.try_get("organizer_name")?,
                    location: r.try_get("location")?,
                    starts_at: from_unix(r.try_get("starts_at")?)?,
                    ends_at: from_unix(r.try_get("ends_at")?)?,
                })
            })
            .collect()
    }

    /// The acknowledgement stored for `unit`'s invitation to meeting `id`, if any (for
    /// trusted callers: the API reads it back after an acknowledgement it authorized).
    pub async fn ack_record(&self, id: MeetingId, unit: &UnitCode) -> Result<Option<AckRecord>> {
        let row = sqlx::query(
            "SELECT acknowledged_at, acknowledged_by FROM invitations \
             WHERE meeting_id = $1 AND unit_code = $2 AND acknowledged_at IS NOT NULL",
        )
        .bind(id.to_string())
        .bind(unit.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AckRecord {
                unit: unit.clone(),
                acknowledged_at: from_unix(r.try_get("acknowledged_at")?)?,
                acknowledged_by: r
                    .try_get::<Option<String>, _>("acknowledged_by")?
                    .map(|s| UserId::parse(&s))
                    .transpose()?,
            })
        })
        .transpose()
    }
}

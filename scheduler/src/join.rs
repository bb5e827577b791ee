//! Join tokens per invitation: scoped to the meeting's room, one unit and a role, valid
//! from 30 minutes before the (next) occurrence until its end plus grace.
//!
//! A link may be handed out weeks ahead (the invitation's e-mail and .ics): it admits
//! only from its `nbf`, and the server's maximum lifetime counts from there
//! (`bridge_token::lifetime`), so such a link stays good for its meeting. Only an
//! occurrence longer than the maximum (less the hour around it) gets a link ending
//! early; the dashboard's "Vào họp" fetches a fresh one at every click anyway.

use bridge_token::{Claims, Role as JoinRole, TokenKey, random_id};
use serde::Serialize;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, RoomId, UnitCode};
use crate::meetings::Meeting;
use crate::timefmt::from_unix;
use crate::units::Unit;

pub const JOIN_EARLY: Duration = Duration::minutes(30);
pub const JOIN_GRACE: Duration = Duration::minutes(30);

/// A signed token with what it grants, for links and .ics files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinTicket {
    pub token: String,
    pub room: RoomId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: JoinRole,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// When a link for an occurrence starting at `start` becomes valid. Saturating: a row
/// stored at the very start of the calendar (an old or hand-made one) has no earlier
/// instant to subtract to.
fn not_before(start: OffsetDateTime) -> OffsetDateTime {
    start.saturating_sub(JOIN_EARLY)
}

/// When a link for an occurrence ending at `end` expires; saturating for the same reason
/// at the other end (9999-12-31 23:59 UTC plus 30 minutes).
fn expires_at(end: OffsetDateTime) -> OffsetDateTime {
    end.saturating_add(JOIN_GRACE)
}

/// Pure: the claims for `unit` at occurrence `[start, end)`. The organizer's hall chairs.
/// The link admits for at most `max_lifetime` (the server refuses longer ones).
pub fn join_claims(
    m: &Meeting,
    unit: &Unit,
    (start, end): (OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
    max_lifetime: std::time::Duration,
) -> Claims {
    let role = if unit.code == m.organizer {
        JoinRole::Chair
    } else {
        JoinRole::Member
    };
    let secs = |t: OffsetDateTime| u64::try_from(t.unix_timestamp()).unwrap_or(0);
    let (iat, nbf) = (secs(now), secs(not_before(start)));
    let latest = iat.max(nbf).saturating_add(max_lifetime.as_secs());
    Claims {
        room: m.id.room().0,
        name: unit.name.clone(),
        role,
        unit: Some(unit.code.to_string()),
        sub: random_id(),
        iat,
        exp: secs(expires_at(end)).min(latest),
        nbf: Some(nbf),
    }
}

impl Db {
    /// Signs the join token of `unit` for the next occurrence of meeting `id` not yet over.
    pub async fn join_ticket(
        &self,
        key: &TokenKey,
        actor: &Principal,
        id: MeetingId,
        unit: &UnitCode,
        now: OffsetDateTime,
    ) -> Result<JoinTicket> {
        let m = self.load_meeting(id).await?;
        let org = self.unit(&m.organizer).await?;
        if !authz::can_get_join_link(actor, unit, &org.path) {
            return Err(SchedError::Forbidden(format!(
                "you may not get the join link of unit {unit}"
            )));
        }
        if m.cancelled {
            return Err(SchedError::invalid("meeting", "it has been cancelled"));
        }
        if !self.is_invited(id, unit).await? {
            return Err(SchedError::not_found("invitation", format!("{id}/{unit}")));
        }
        let grace_start = now.saturating_sub(JOIN_GRACE).unix_timestamp();
        let row = sqlx::query(
            "SELECT starts_at, ends_at FROM occurrences WHERE meeting_id = $1 AND ends_at > $2 \
             ORDER BY starts_at LIMIT 1",
        )
        .bind(id.to_string())
        .bind(grace_start)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::invalid("meeting", "it is over"))?;
        let (start, end) = (
            from_unix(row.try_get("starts_at")?)?,
            from_unix(row.try_get("ends_at")?)?,
        );
        let u = self.unit(unit).await?;
        let claims = join_claims(&m, &u, (start, end), now, key.max_lifetime());
        let token = key
            .sign(&claims)
            .map_err(|e| SchedError::Token(e.to_string()))?;
        Ok(JoinTicket {
            token,
            room: m.id.room(),
            role: claims.role,
            not_before: not_before(start),
            expires_at: from_unix(i64::try_from(claims.exp).unwrap_or(i64::MAX))?,
        })
    }
}

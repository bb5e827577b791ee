//! The secretary's week/list view: meetings visible to the caller in a time window.

use time::OffsetDateTime;

use super::read::upcoming_from_row;
use super::types::UpcomingEntry;
use crate::authz::{Principal, Role};
use crate::db::Db;
use crate::error::{Result, SchedError};

/// At most this many occurrences per window (a week of a busy province is far below).
pub const MAX_LISTED: i64 = 2000;
/// Widest window one request may ask for.
pub const MAX_WINDOW_DAYS: i64 = 62;

impl Db {
    /// Occurrences overlapping `[from, to)` of meetings the caller may see (the same rule
    /// as [`crate::authz::can_view_meeting`], expressed in SQL), soonest first.
    /// `acknowledged` refers to the caller's own unit.
    pub async fn meetings_between(
        &self,
        actor: &Principal,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<UpcomingEntry>> {
        if to <= from || (to - from).whole_days() > MAX_WINDOW_DAYS {
            return Err(SchedError::invalid(
                "end",
                format!("the window must be positive and at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        let unit = actor
            .unit
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let filter = match actor.role {
            Role::Administrator => "1 = 1",
            Role::Secretary => {
                "(m.organizer_code IN (SELECT unit_code FROM unit_ancestors WHERE ancestor_code = $3) \
                 OR own.unit_code IS NOT NULL)"
            }
            Role::Chair => "(own.unit_code IS NOT NULL OR m.chair_user_id = $4)",
            Role::Site => "own.unit_code IS NOT NULL",
        };
        let sql = format!(
            "SELECT m.id, m.title, m.organizer_code, o.starts_at, o.ends_at, m.urgent, own.acknowledged_at \
             FROM occurrences o \
             JOIN meetings m ON m.id = o.meeting_id \
             LEFT JOIN invitations own ON own.meeting_id = m.id AND own.unit_code = $3 \
             WHERE o.starts_at < $2 AND o.ends_at > $1 AND m.cancelled = 0 AND {filter} \
             ORDER BY o.starts_at, m.id LIMIT {MAX_LISTED}"
        );
        let mut q = sqlx::query(&sql)
            .bind(from.unix_timestamp())
            .bind(to.unix_timestamp())
            .bind(unit);
        if actor.role == Role::Chair {
            q = q.bind(actor.user_id.to_string());
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(upcoming_from_row)
            .collect()
    }
}

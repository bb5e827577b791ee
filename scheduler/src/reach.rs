//! Which unit rooms a conference may pull in (signaling's `link_room`, asked through
//! the binary's room directory): a meeting reaches its invited units and everything
//! below them, a unit everything below it. Answered from the invitations and the
//! closure table of the unit tree, one indexed lookup each, on SQLite and PostgreSQL.

use crate::db::Db;
use crate::error::Result;
use crate::ids::{MeetingId, UnitCode};

impl Db {
    /// Whether `unit` is invited to meeting `id` or lies below a unit that is (the
    /// organizer is always invited, so a meeting reaches the organizer's subtree).
    pub async fn meeting_reaches(&self, id: MeetingId, unit: &UnitCode) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT a.unit_code FROM invitations i \
             JOIN unit_ancestors a ON a.ancestor_code = i.unit_code \
             WHERE i.meeting_id = $1 AND a.unit_code = $2 LIMIT 1",
        )
        .bind(id.to_string())
        .bind(unit.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Whether `unit` lies strictly below `ancestor` in the unit tree.
    pub async fn unit_is_below(&self, ancestor: &UnitCode, unit: &UnitCode) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT unit_code FROM unit_ancestors \
             WHERE ancestor_code = $1 AND unit_code = $2 AND depth > 0",
        )
        .bind(ancestor.as_str().to_owned())
        .bind(unit.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }
}

//! Booking conflicts: invited units already booked in another meeting at an overlapping time.
//!
//! Two steps on purpose. A single join lets the planner start from the invited units, which
//! for a national meeting (10,810 units × their ~40 invitations each) took seconds on
//! PostgreSQL. Starting from the few occurrences that overlap in time, then looking up which
//! of their units are shared, stays in milliseconds whatever the planner thinks (the
//! steps are separate statements so no planner can reorder them).

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::MAX_DURATION;
use super::types::BookingConflict;
use crate::db::Db;
use crate::error::Result;
use crate::ids::{MeetingId, UnitCode};
use crate::sql::placeholders;
use crate::timefmt::from_unix;

/// Conflicts reported per save; enough for a warning dialog.
pub const MAX_CONFLICTS: usize = 200;
/// Overlapping occurrences examined per save.
const MAX_CANDIDATES: i64 = 5000;

struct Candidate {
    title: String,
    slots: Vec<(i64, i64)>,
}

impl Db {
    /// Units of meeting `id` already booked elsewhere at an overlapping time (at most
    /// [`MAX_CONFLICTS`], soonest first).
    pub async fn booking_conflicts(&self, id: MeetingId) -> Result<Vec<BookingConflict>> {
        // Step 1: occurrences of other live meetings overlapping ours. The lower bound on
        // starts_at makes this an index range; it is exact because meetings last <= 24 h.
        let rows = sqlx::query(
            "SELECT DISTINCT m.id, m.title, o2.starts_at, o2.ends_at \
             FROM occurrences o1 \
             JOIN occurrences o2 ON o2.starts_at < o1.ends_at AND o2.starts_at > o1.starts_at - $2 \
                  AND o2.ends_at > o1.starts_at AND o2.meeting_id <> o1.meeting_id \
             JOIN meetings m ON m.id = o2.meeting_id AND m.cancelled = 0 \
             WHERE o1.meeting_id = $1 \
             ORDER BY o2.starts_at LIMIT $3",
        )
        .bind(id.to_string())
        .bind(MAX_DURATION.whole_seconds())
        .bind(MAX_CANDIDATES)
        .fetch_all(&self.pool)
        .await?;
        let mut candidates: HashMap<String, Candidate> = HashMap::new();
        for r in &rows {
            let c = candidates
                .entry(r.try_get("id")?)
                .or_insert_with(|| Candidate {
                    title: String::new(),
                    slots: Vec::new(),
                });
            c.title = r.try_get("title")?;
            c.slots
                .push((r.try_get("starts_at")?, r.try_get("ends_at")?));
        }
        // Step 2: the candidates' invited units (few rows), then which of those are invited
        // to ours (primary-key probes). Kept apart so no planner starts from our 10,810.
        let ids: Vec<&String> = candidates.keys().collect();
        let mut theirs: Vec<(String, String)> = Vec::new();
        for chunk in ids.chunks(300) {
            let sql = format!(
                "SELECT meeting_id, unit_code FROM invitations WHERE meeting_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind((*c).clone());
            }
            for r in q.fetch_all(&self.pool).await? {
                theirs.push((r.try_get("meeting_id")?, r.try_get("unit_code")?));
            }
        }
        let mut units: Vec<&str> = theirs.iter().map(|(_, u)| u.as_str()).collect();
        units.sort_unstable();
        units.dedup();
        let mut shared: HashSet<String> = HashSet::new();
        for chunk in units.chunks(300) {
            let sql = format!(
                "SELECT unit_code FROM invitations WHERE meeting_id = $1 AND unit_code IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(id.to_string());
            for u in chunk {
                q = q.bind((*u).to_owned());
            }
            for r in q.fetch_all(&self.pool).await? {
                shared.insert(r.try_get("unit_code")?);
            }
        }
        let mut out = Vec::new();
        for (mid, unit) in theirs.iter().filter(|(_, u)| shared.contains(u)) {
            let Some(c) = candidates.get(mid) else {
                continue;
            };
            for (s, e) in &c.slots {
                out.push(BookingConflict {
                    unit: UnitCode::from_db(unit.clone()),
                    other_meeting: MeetingId::parse(mid)?,
                    other_title: c.title.clone(),
                    starts_at: from_unix(*s)?,
                    ends_at: from_unix(*e)?,
                });
            }
        }
        out.sort_by(|a, b| (a.starts_at, &a.unit).cmp(&(b.starts_at, &b.unit)));
        out.dedup();
        out.truncate(MAX_CONFLICTS);
        Ok(out)
    }
}

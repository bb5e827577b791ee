//! Search of meetings for the archive: text (title, location, agenda; accent- and
//! case-insensitive like the unit picker), a date range and a unit (organizer or
//! invited), limited to meetings the caller may see.
//!
//! Date, unit and visibility filter in SQL; the text is matched in Rust on the folded
//! form ([`crate::units::search_key`]), because SQLite cannot fold Vietnamese and the
//! meetings table keeps no folded copy. At most [`MAX_SCANNED`] meetings (newest
//! first) are looked at per search; narrowing by date or unit reaches older ones.

use serde::Serialize;
use sqlx::Row;
use time::{Date, OffsetDateTime, Time};

use crate::authz::{Principal, Role};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode};
use crate::meetings::VN_OFFSET;
use crate::timefmt::from_unix;
use crate::units::search_key;

/// Meetings looked at per search, newest first.
pub const MAX_SCANNED: i64 = 5000;
pub const MAX_PER_PAGE: u32 = 100;
pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_QUERY_CHARS: usize = 200;

/// What the caller asks for; dates are calendar days in Vietnam, both included.
#[derive(Debug, Clone, Default)]
pub struct MeetingSearch {
    pub text: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub unit: Option<UnitCode>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub id: MeetingId,
    pub title: String,
    pub organizer: UnitCode,
    pub organizer_name: String,
    pub location: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    /// Matches among the meetings looked at.
    pub total: usize,
    pub page: u32,
    pub per_page: u32,
    /// More than [`MAX_SCANNED`] meetings passed the date and unit filters: older ones
    /// were not looked at; narrow the dates.
    pub truncated: bool,
    pub items: Vec<SearchHit>,
}

/// Positional arguments for a statement built piece by piece (`$n` on both databases).
#[derive(Default)]
struct Args(Vec<Arg>);
enum Arg {
    Text(String),
    Int(i64),
}
impl Args {
    fn text(&mut self, s: String) -> String {
        self.0.push(Arg::Text(s));
        format!("${}", self.0.len())
    }
    fn int(&mut self, v: i64) -> String {
        self.0.push(Arg::Int(v));
        format!("${}", self.0.len())
    }
}

fn day_start(d: Date) -> i64 {
    d.with_time(Time::MIDNIGHT)
        .assume_offset(VN_OFFSET)
        .unix_timestamp()
}

impl Db {
    /// Meetings matching `q` that `actor` may see, newest first.
    pub async fn search_meetings(
        &self,
        actor: &Principal,
        q: &MeetingSearch,
    ) -> Result<SearchPage> {
        if q.text.chars().count() > MAX_QUERY_CHARS {
            return Err(SchedError::TooLarge {
                what: "search text",
                size: q.text.len(),
                limit: MAX_QUERY_CHARS,
            });
        }
        if let (Some(a), Some(b)) = (q.from, q.to)
            && b < a
        {
            return Err(SchedError::invalid(
                "to",
                "the end date is before the start date",
            ));
        }
        let mut args = Args::default();
        let own = args.text(
            actor
                .unit
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
        );
        let mut filters = vec!["1 = 1".to_owned()];
        match actor.role {
            Role::Administrator => {}
            Role::Secretary => filters.push(format!(
                "(m.organizer_code IN (SELECT unit_code FROM unit_ancestors WHERE ancestor_code = {own}) \
                 OR EXISTS (SELECT 1 FROM invitations i WHERE i.meeting_id = m.id AND i.unit_code = {own}))"
            )),
            Role::Chair => {
                let me = args.text(actor.user_id.to_string());
                filters.push(format!(
                    "(m.organizer_code = {own} OR m.chair_user_id = {me} \
                     OR EXISTS (SELECT 1 FROM invitations i WHERE i.meeting_id = m.id AND i.unit_code = {own}))"
                ))
            }
            Role::Site => filters.push(format!(
                "(m.organizer_code = {own} \
                 OR EXISTS (SELECT 1 FROM invitations i WHERE i.meeting_id = m.id AND i.unit_code = {own}))"
            )),
        }
        if q.from.is_some() || q.to.is_some() {
            let lo = args.int(q.from.map_or(i64::MIN / 2, day_start));
            let hi = args.int(
                q.to.and_then(|d| d.next_day())
                    .map_or(i64::MAX / 2, day_start),
            );
            filters.push(format!(
                "EXISTS (SELECT 1 FROM occurrences o WHERE o.meeting_id = m.id \
                 AND o.starts_at >= {lo} AND o.starts_at < {hi})"
            ));
        }
        if let Some(u) = &q.unit {
            let u = args.text(u.to_string());
            filters.push(format!(
                "(m.organizer_code = {u} OR EXISTS (SELECT 1 FROM invitations iu \
                 WHERE iu.meeting_id = m.id AND iu.unit_code = {u}))"
            ));
        }
        let sql = format!(
            "SELECT m.id, m.title, m.organizer_code, u.name AS organizer_name, m.location, \
             m.starts_at, m.ends_at, m.cancelled FROM meetings m \
             JOIN units u ON u.code = m.organizer_code \
             WHERE {} ORDER BY m.starts_at DESC, m.id LIMIT {}",
            filters.join(" AND "),
            MAX_SCANNED + 1
        );
        let mut query = sqlx::query(&sql);
        for a in args.0 {
            query = match a {
                Arg::Text(s) => query.bind(s),
                Arg::Int(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let truncated = rows.len() as i64 > MAX_SCANNED;
        let mut hits = rows
            .iter()
            .take(MAX_SCANNED as usize)
            .map(hit_from_row)
            .collect::<Result<Vec<_>>>()?;
        let words: Vec<String> = search_key(&q.text)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if !words.is_empty() {
            hits = self.filter_text(hits, &words).await?;
        }
        let per_page = match q.per_page {
            0 => DEFAULT_PER_PAGE,
            n => n.min(MAX_PER_PAGE),
        };
        let page = q.page.max(1);
        let total = hits.len();
        let items = hits
            .into_iter()
            .skip((page as usize - 1).saturating_mul(per_page as usize))
            .take(per_page as usize)
            .collect();
        Ok(SearchPage {
            total,
            page,
            per_page,
            truncated,
            items,
        })
    }

    /// Keeps hits whose folded title, location and agenda contain every word.
    async fn filter_text(&self, hits: Vec<SearchHit>, words: &[String]) -> Result<Vec<SearchHit>> {
        let mut out = Vec::new();
        for chunk in hits.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(|h| h.id.to_string()).collect();
            let sql = format!(
                "SELECT meeting_id, body FROM agenda_items WHERE meeting_id IN ({})",
                crate::sql::placeholders(1, ids.len())
            );
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id.as_str());
            }
            let mut agenda: std::collections::HashMap<String, String> = Default::default();
            for r in q.fetch_all(&self.pool).await? {
                let id: String = r.try_get("meeting_id")?;
                let body: String = r.try_get("body")?;
                let text = agenda.entry(id).or_default();
                text.push(' ');
                text.push_str(&body);
            }
            for h in chunk {
                let all = format!(
                    "{} {} {}",
                    h.title,
                    h.location,
                    agenda.get(&h.id.to_string()).map_or("", String::as_str)
                );
                let key = search_key(&all);
                if words.iter().all(|w| key.contains(w.as_str())) {
                    out.push(h.clone());
                }
            }
        }
        Ok(out)
    }
}

fn hit_from_row(r: &sqlx::any::AnyRow) -> Result<SearchHit> {
    Ok(SearchHit {
        id: MeetingId::parse(&r.try_get::<String, _>("id")?)?,
        title: r.try_get("title")?,
        organizer: UnitCode::from_db(r.try_get("organizer_code")?),
        organizer_name: r.try_get("organizer_name")?,
        location: r.try_get("location")?,
        starts_at: from_unix(r.try_get("starts_at")?)?,
        ends_at: from_unix(r.try_get("ends_at")?)?,
        cancelled: r.try_get::<i64, _>("cancelled")? != 0,
    })
}

//! Meetings: the pure model and its validation. Storage lives in `store`.

pub use conflicts::MAX_CONFLICTS;
pub use listing::{MAX_LISTED, MAX_WINDOW_DAYS};
mod conflicts;
mod listing;
pub mod range;
mod read;
pub mod recur;
mod store;
mod types;
mod urgent;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode, UserId};
use crate::units::UnitSelector;

pub use range::{
    FIRST_DAY, LAST_DAY, MAX_DURATION, MAX_DURATION_MINUTES, MAX_EXDATES, MIN_DURATION,
};
pub use store::check_can_schedule;
pub use types::{
    AckRecord, Acknowledged, BookingConflict, Invitation, MeetingView, Occurrence, PendingUrgent,
    SaveOutcome, UpcomingEntry,
};
pub use urgent::{MAX_PREVIEW_NAMES, UrgentPreview};

/// Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving time.
pub const VN_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};
pub const VN_TZID: &str = "Asia/Ho_Chi_Minh";

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_LOCATION_CHARS: usize = 300;
pub const MAX_AGENDA_ITEMS: usize = 200;
/// All agenda text together; a 10 MB paste is refused, not stored.
pub const MAX_AGENDA_BYTES: usize = 64 * 1024;
pub const MAX_SELECTORS: usize = 1000;
/// Urgent sessions start now or within this many minutes.
pub const MAX_URGENT_DELAY_MINUTES: i64 = 120;

/// Recurrence as entered: an RRULE (subset, see [`recur`]) and exception start times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecurrenceInput {
    /// RRULE subset: `FREQ=WEEKLY|MONTHLY`, `INTERVAL` 1..=52, `COUNT` 1..=366 or `UNTIL`
    /// (a day or an instant from 2000-01-01 to 2100-12-31, Hà Nội time), `BYDAY`,
    /// `BYMONTHDAY`. At most 366 occurrences; without COUNT/UNTIL one year is stored, never
    /// past 2100-12-31.
    pub rrule: String,
    /// Starts of occurrences to leave out (RFC 3339): at most 366, each from 2000-01-01
    /// 00:00 to 2100-12-31 23:59:59, Hà Nội time.
    #[serde(default, with = "crate::timefmt::rfc3339_vec")]
    pub exdates: Vec<OffsetDateTime>,
}

/// What a secretary submits to create or update a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingDraft {
    pub title: String,
    #[serde(default)]
    pub agenda: Vec<String>,
    pub organizer: UnitCode,
    #[serde(default)]
    pub chair: Option<UserId>,
    #[serde(default)]
    pub location: String,
    /// Start (RFC 3339, any offset): from 2000-01-01 00:00 to 2100-12-31 23:59:59, Hà Nội
    /// time (UTC+07:00).
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End (RFC 3339): 1 minute to 24 hours after the start, in the same range.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    #[serde(default)]
    pub urgent: bool,
    pub participants: Vec<UnitSelector>,
    /// Repeat the meeting; every occurrence lies in the same range as the start.
    #[serde(default)]
    pub recurrence: Option<RecurrenceInput>,
    /// Record the meeting on the server when its room opens (recordings.rs).
    #[serde(default)]
    pub record: bool,
}

impl MeetingDraft {
    /// An urgent session starting `delay_minutes` from `now` (0 = immediately) and lasting
    /// `duration_minutes`. Both are bounded before any time arithmetic: they come straight
    /// from a request.
    pub fn urgent(
        title: &str,
        organizer: UnitCode,
        participants: Vec<UnitSelector>,
        now: OffsetDateTime,
        delay_minutes: i64,
        duration_minutes: i64,
    ) -> Result<MeetingDraft> {
        if !(0..=MAX_URGENT_DELAY_MINUTES).contains(&delay_minutes) {
            return Err(SchedError::invalid(
                "start",
                format!("an urgent session starts within {MAX_URGENT_DELAY_MINUTES} minutes"),
            ));
        }
        let duration = range::duration_minutes(duration_minutes)?;
        let starts_at = now
            .checked_add(Duration::minutes(delay_minutes))
            .ok_or_else(|| SchedError::invalid("start", range::RANGE_TEXT))?;
        let ends_at = starts_at
            .checked_add(duration)
            .ok_or_else(|| SchedError::invalid("end", range::RANGE_TEXT))?;
        Ok(MeetingDraft {
            title: title.to_owned(),
            agenda: Vec::new(),
            organizer,
            chair: None,
            location: String::new(),
            starts_at,
            ends_at,
            urgent: true,
            participants,
            recurrence: None,
            record: false,
        })
    }
}

/// An urgent call as the office makes it: the subject, who organizes, who is called,
/// when (minutes from now) for how long, and where. See [`crate::Db::create_urgent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentCall {
    pub title: String,
    pub organizer: UnitCode,
    pub participants: Vec<UnitSelector>,
    /// 0..=[`MAX_URGENT_DELAY_MINUTES`].
    pub delay_minutes: i64,
    /// 1..=[`MAX_DURATION_MINUTES`].
    pub duration_minutes: i64,
    /// The hall or room where the organizer sits; at most [`MAX_LOCATION_CHARS`], may be
    /// empty.
    pub location: String,
}

/// Recurrence as stored: canonical rule text and exception starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recurrence {
    pub rrule: String,
    #[serde(with = "crate::timefmt::rfc3339_vec")]
    pub exdates: Vec<OffsetDateTime>,
}

/// A stored meeting (a series when `recurrence` is set).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Meeting {
    pub id: MeetingId,
    pub title: String,
    pub agenda: Vec<String>,
    pub organizer: UnitCode,
    pub chair: Option<UserId>,
    pub location: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub urgent: bool,
    pub cancelled: bool,
    /// Starts at 0, +1 on every update or cancel; doubles as the iCalendar SEQUENCE.
    pub version: i64,
    pub recurrence: Option<Recurrence>,
    pub participants: Vec<UnitSelector>,
    pub created_by: UserId,
    /// Recorded on the server when its room opens.
    pub record: bool,
}

/// A validated draft: trimmed text, canonical rule and the concrete occurrences (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDraft {
    pub draft: MeetingDraft,
    pub recurrence: Option<Recurrence>,
    pub occurrences: Vec<(OffsetDateTime, OffsetDateTime)>,
}

/// Hà Nội wall-clock time of a time already checked to be in range; still checked, so
/// that no input can reach a panicking conversion.
fn local(field: &'static str, t: OffsetDateTime) -> Result<PrimitiveDateTime> {
    range::hanoi(t).ok_or_else(|| SchedError::invalid(field, range::RANGE_TEXT))
}

/// `t` in UTC, whole seconds (storage is unix seconds and iCalendar has no fractions).
fn utc_seconds(field: &'static str, t: OffsetDateTime) -> Result<OffsetDateTime> {
    t.checked_to_offset(UtcOffset::UTC)
        .map(|u| u.replace_nanosecond(0).unwrap_or(u))
        .ok_or_else(|| SchedError::invalid(field, range::RANGE_TEXT))
}

/// Pure validation of a draft at time `now`. Every time in it, and in every occurrence it
/// expands to, is within [`range::FIRST_DAY`]..=[`range::LAST_DAY`] (Hà Nội) afterwards.
pub fn validate_draft(mut d: MeetingDraft, now: OffsetDateTime) -> Result<ValidDraft> {
    d.title = d.title.trim().to_owned();
    d.location = d.location.trim().to_owned();
    let n = d.title.chars().count();
    if n == 0 || n > MAX_TITLE_CHARS {
        return Err(SchedError::invalid(
            "title",
            format!("must be 1..={MAX_TITLE_CHARS} characters"),
        ));
    }
    if d.location.chars().count() > MAX_LOCATION_CHARS {
        return Err(SchedError::invalid(
            "location",
            format!("at most {MAX_LOCATION_CHARS} characters"),
        ));
    }
    let agenda_bytes: usize = d.agenda.iter().map(String::len).sum();
    if agenda_bytes > MAX_AGENDA_BYTES {
        return Err(SchedError::TooLarge {
            what: "agenda",
            size: agenda_bytes,
            limit: MAX_AGENDA_BYTES,
        });
    }
    if d.agenda.len() > MAX_AGENDA_ITEMS {
        return Err(SchedError::invalid(
            "agenda",
            format!("at most {MAX_AGENDA_ITEMS} items"),
        ));
    }
    d.agenda = d
        .agenda
        .into_iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    // The range comes before anything computes with these times.
    range::check_instant("start", d.starts_at)?;
    range::check_instant("end", d.ends_at)?;
    d.starts_at = d.starts_at.replace_nanosecond(0).unwrap_or(d.starts_at);
    d.ends_at = d.ends_at.replace_nanosecond(0).unwrap_or(d.ends_at);
    let duration = range::check_duration(d.starts_at, d.ends_at)?;
    if d.participants.is_empty() && d.organizer.as_str().is_empty() {
        return Err(SchedError::invalid("participants", "at least one unit"));
    }
    if d.participants.len() > MAX_SELECTORS {
        return Err(SchedError::invalid(
            "participants",
            format!("at most {MAX_SELECTORS} selections"),
        ));
    }
    let (recurrence, occurrences) = match &d.recurrence {
        None => {
            if d.ends_at <= now {
                return Err(SchedError::invalid(
                    "end",
                    "the meeting would already be over",
                ));
            }
            (None, vec![(d.starts_at, d.ends_at)])
        }
        Some(r) => {
            if r.exdates.len() > MAX_EXDATES {
                return Err(SchedError::invalid(
                    "recurrence",
                    format!("at most {MAX_EXDATES} exception dates"),
                ));
            }
            let mut exdates = Vec::with_capacity(r.exdates.len());
            for t in &r.exdates {
                if !range::in_range(*t) {
                    return Err(SchedError::invalid(
                        "recurrence",
                        format!("exception dates {}", range::RANGE_TEXT),
                    ));
                }
                exdates.push(utc_seconds("recurrence", *t)?);
            }
            let rule = recur::parse_rrule(&r.rrule, VN_OFFSET)?;
            let ex = exdates
                .iter()
                .map(|t| local("recurrence", *t))
                .collect::<Result<Vec<_>>>()?;
            let starts = recur::expand(&rule, local("start", d.starts_at)?, &ex)?;
            let mut occ = Vec::with_capacity(starts.len());
            for s in starts {
                let s = utc_seconds("recurrence", s.assume_offset(VN_OFFSET))?;
                // The expansion stops at the end of the range; the last meeting of a
                // series may still run past it.
                let e = s
                    .checked_add(duration)
                    .filter(|e| range::in_range(*e))
                    .ok_or_else(|| {
                        SchedError::Recurrence(format!(
                            "the occurrence starting {s} would end too late: occurrences {}",
                            range::RANGE_TEXT
                        ))
                    })?;
                occ.push((s, e));
            }
            if occ.iter().all(|(_, e)| *e <= now) {
                return Err(SchedError::invalid(
                    "recurrence",
                    "no occurrence lies in the future",
                ));
            }
            exdates.sort();
            exdates.dedup();
            (
                Some(Recurrence {
                    rrule: rule.to_rrule(VN_OFFSET),
                    exdates,
                }),
                occ,
            )
        }
    };
    Ok(ValidDraft {
        draft: d,
        recurrence,
        occurrences,
    })
}

//! Meetings: the pure model and its validation. Storage lives in `store`.

pub use conflicts::MAX_CONFLICTS;
pub use listing::{MAX_LISTED, MAX_WINDOW_DAYS};
mod conflicts;
mod listing;
mod read;
pub mod recur;
mod store;
mod types;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode, UserId};
use crate::units::UnitSelector;

pub use types::{
    Acknowledged, BookingConflict, Invitation, MeetingView, Occurrence, SaveOutcome, UpcomingEntry,
};

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
pub const MAX_DURATION: Duration = Duration::hours(24);
/// Urgent sessions start now or within this many minutes.
pub const MAX_URGENT_DELAY_MINUTES: i64 = 120;

/// Recurrence as entered: an RRULE (subset, see [`recur`]) and exception start times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecurrenceInput {
    pub rrule: String,
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
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    #[serde(default)]
    pub urgent: bool,
    pub participants: Vec<UnitSelector>,
    #[serde(default)]
    pub recurrence: Option<RecurrenceInput>,
    /// Record the meeting on the server when its room opens (recordings.rs).
    #[serde(default)]
    pub record: bool,
}

impl MeetingDraft {
    /// An urgent session starting `delay_minutes` from `now` (0 = immediately).
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
        let starts_at = now + Duration::minutes(delay_minutes);
        Ok(MeetingDraft {
            title: title.to_owned(),
            agenda: Vec::new(),
            organizer,
            chair: None,
            location: String::new(),
            starts_at,
            ends_at: starts_at + Duration::minutes(duration_minutes),
            urgent: true,
            participants,
            recurrence: None,
            record: false,
        })
    }
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

fn local(t: OffsetDateTime) -> PrimitiveDateTime {
    let l = t.to_offset(VN_OFFSET);
    PrimitiveDateTime::new(l.date(), l.time())
}

/// Pure validation of a draft at time `now`.
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
    if d.ends_at <= d.starts_at {
        return Err(SchedError::invalid("end", "must be after the start"));
    }
    if d.ends_at - d.starts_at > MAX_DURATION {
        return Err(SchedError::invalid(
            "end",
            "a meeting lasts at most 24 hours",
        ));
    }
    if d.participants.is_empty() && d.organizer.as_str().is_empty() {
        return Err(SchedError::invalid("participants", "at least one unit"));
    }
    if d.participants.len() > MAX_SELECTORS {
        return Err(SchedError::invalid(
            "participants",
            format!("at most {MAX_SELECTORS} selections"),
        ));
    }
    // Whole seconds: storage is unix seconds and iCalendar has no fractions.
    d.starts_at = d.starts_at.replace_nanosecond(0).unwrap_or(d.starts_at);
    d.ends_at = d.ends_at.replace_nanosecond(0).unwrap_or(d.ends_at);
    let duration = d.ends_at - d.starts_at;
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
            let rule = recur::parse_rrule(&r.rrule, VN_OFFSET)?;
            let ex: Vec<PrimitiveDateTime> = r.exdates.iter().map(|t| local(*t)).collect();
            let starts = recur::expand(&rule, local(d.starts_at), &ex)?;
            let occ: Vec<(OffsetDateTime, OffsetDateTime)> = starts
                .into_iter()
                .map(|s| {
                    let s = s.assume_offset(VN_OFFSET).to_offset(UtcOffset::UTC);
                    (s, s + duration)
                })
                .collect();
            if occ.iter().all(|(_, e)| *e <= now) {
                return Err(SchedError::invalid(
                    "recurrence",
                    "no occurrence lies in the future",
                ));
            }
            let mut exdates: Vec<OffsetDateTime> = r
                .exdates
                .iter()
                .map(|t| {
                    t.to_offset(UtcOffset::UTC)
                        .replace_nanosecond(0)
                        .unwrap_or(*t)
                })
                .collect();
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

//! Pure attendance arithmetic: raw presence periods in, one line per invited unit out.
//! Time is a parameter (`now` ends periods still open), so this is tested without a
//! database or a clock.

use serde::Serialize;
use time::OffsetDateTime;

use crate::ids::UnitCode;

/// One stored presence period, as read back from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPeriod {
    pub room: String,
    /// The unit in the participant's join token, if any.
    pub unit: Option<String>,
    pub name: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub speaking_seconds: i64,
}

/// A time span in unix seconds, `end` inclusive of the last second counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

/// One merged period during which a unit was connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttendancePeriod {
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// For a period still going on: the time the summary was made.
    #[serde(with = "time::serde::rfc3339")]
    pub left_at: OffsetDateTime,
    /// Still connected when the summary was made.
    pub ongoing: bool,
}

/// The attendance of one invited unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitAttendance {
    pub unit: UnitCode,
    pub unit_name: String,
    /// Seen at least once; `false` marks the unit absent.
    pub present: bool,
    /// Overlapping periods (two PCs of one hall, or its own room and the meeting room)
    /// merged, in time order.
    pub periods: Vec<AttendancePeriod>,
    /// Sum of the merged periods.
    pub connected_seconds: i64,
    /// Time the unit's participants were among the loudest speakers.
    pub speaking_seconds: i64,
    /// Display names its participants joined with, in first-seen order.
    pub participants: Vec<String>,
}

impl UnitAttendance {
    /// The periods as pairs, the shape the minutes' attendee list takes.
    pub fn joined_pairs(&self) -> Vec<(OffsetDateTime, OffsetDateTime)> {
        self.periods
            .iter()
            .map(|p| (p.joined_at, p.left_at))
            .collect()
    }
}

#[derive(Default)]
struct Acc {
    spans: Vec<(Span, bool)>,
    speaking: i64,
    names: Vec<String>,
    seen: bool,
}

/// Groups `periods` per invited unit.
///
/// - Periods in `meeting_room` count whole, for the unit in the participant's token.
/// - Periods in an invited unit's own room (`u-<code>`) count only while the meeting
///   room was open (`sessions`), since only then was that room linked in; their speaking
///   time is scaled by the share of the period that counted.
/// - Units never seen are listed absent.
pub fn summarize(
    invited: &[(UnitCode, String)],
    meeting_room: &str,
    sessions: &[Span],
    periods: &[RawPeriod],
    now: i64,
) -> Vec<UnitAttendance> {
    let mut acc: Vec<Acc> = invited.iter().map(|_| Acc::default()).collect();
    let index = |code: &str| invited.iter().position(|(c, _)| c.as_str() == code);
    for p in periods {
        let open = p.left_at.is_none();
        let end = p.left_at.unwrap_or(now).max(p.joined_at);
        let whole = Span {
            start: p.joined_at,
            end,
        };
        let (slot, spans, speaking) = if p.room == meeting_room {
            let Some(i) = p.unit.as_deref().and_then(index) else {
                continue;
            };
            (i, vec![(whole, open)], p.speaking_seconds)
        } else if let Some(i) = p.room.strip_prefix("u-").and_then(index) {
            let clipped: Vec<(Span, bool)> = sessions
                .iter()
                .filter_map(|s| clip(whole, *s).map(|c| (c, open && c.end == end)))
                .collect();
            if clipped.is_empty() {
                continue;
            }
            // Saturating: a hand-imported row may hold any i64.
            let counted = clipped.iter().fold(0i64, |n, (s, _)| {
                n.saturating_add(s.end.saturating_sub(s.start))
            });
            let total = end.saturating_sub(p.joined_at);
            let speaking = if total > 0 {
                p.speaking_seconds.saturating_mul(counted) / total
            } else {
                p.speaking_seconds
            };
            (i, clipped, speaking)
        } else {
            continue;
        };
        let a = &mut acc[slot];
        a.seen = true;
        a.spans.extend(spans);
        a.speaking = a.speaking.saturating_add(speaking.max(0));
        if !a.names.contains(&p.name) {
            a.names.push(p.name.clone());
        }
    }
    invited
        .iter()
        .zip(acc)
        .map(|((unit, name), a)| {
            let merged = merge(a.spans);
            UnitAttendance {
                unit: unit.clone(),
                unit_name: name.clone(),
                present: a.seen,
                connected_seconds: merged.iter().fold(0i64, |n, (s, _)| {
                    n.saturating_add(s.end.saturating_sub(s.start))
                }),
                periods: merged
                    .into_iter()
                    .filter_map(|(s, ongoing)| {
                        Some(AttendancePeriod {
                            joined_at: OffsetDateTime::from_unix_timestamp(s.start).ok()?,
                            left_at: OffsetDateTime::from_unix_timestamp(s.end).ok()?,
                            ongoing,
                        })
                    })
                    .collect(),
                speaking_seconds: a.speaking,
                participants: a.names,
            }
        })
        .collect()
}

/// The part of `p` inside `window`, if they overlap (touching is not overlapping).
fn clip(p: Span, window: Span) -> Option<Span> {
    let start = p.start.max(window.start);
    let end = p.end.min(window.end);
    (start < end).then_some(Span { start, end })
}

/// Sorts and merges overlapping or touching spans; a merged span is ongoing if any of
/// its parts is.
fn merge(mut spans: Vec<(Span, bool)>) -> Vec<(Span, bool)> {
    spans.sort_by_key(|(s, _)| (s.start, s.end));
    let mut out: Vec<(Span, bool)> = Vec::with_capacity(spans.len());
    for (s, ongoing) in spans {
        match out.last_mut() {
            Some((last, last_ongoing)) if s.start <= last.end => {
                if s.end >= last.end {
                    // The later end decides whether the merged span is still going on.
                    *last_ongoing = ongoing || (*last_ongoing && s.end == last.end);
                    last.end = s.end;
                }
            }
            _ => out.push((s, ongoing)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(c: &str) -> (UnitCode, String) {
        (UnitCode::from_db(c.into()), format!("Unit {c}"))
    }

    fn p(room: &str, unit: Option<&str>, from: i64, to: Option<i64>, speak: i64) -> RawPeriod {
        RawPeriod {
            room: room.into(),
            unit: unit.map(Into::into),
            name: format!("{room}/{}", unit.unwrap_or("-")),
            joined_at: from,
            left_at: to,
            speaking_seconds: speak,
        }
    }

    #[test]
    fn overlapping_and_touching_periods_merge_separate_ones_do_not() {
        let inv = [u("A")];
        let periods = [
            p("m-x", Some("A"), 100, Some(200), 5),
            p("m-x", Some("A"), 150, Some(250), 7),
            p("m-x", Some("A"), 250, Some(260), 0),
            p("m-x", Some("A"), 300, Some(400), 1),
        ];
        let out = summarize(&inv, "m-x", &[], &periods, 1000);
        let spans: Vec<_> = out[0]
            .periods
            .iter()
            .map(|p| (p.joined_at.unix_timestamp(), p.left_at.unix_timestamp()))
            .collect();
        assert_eq!(spans, [(100, 260), (300, 400)]);
        assert_eq!(out[0].connected_seconds, 260);
        assert_eq!(out[0].speaking_seconds, 13);
    }

    #[test]
    fn unit_room_presence_is_clipped_to_the_meeting_room_being_open() {
        let inv = [u("A"), u("B")];
        let periods = [
            // In its own room from 0 to 1000, speaking 100 s; meeting open 200..500.
            p("u-A", None, 0, Some(1000), 100),
            // B's own room only before the meeting opened: not counted.
            p("u-B", None, 0, Some(150), 10),
        ];
        let out = summarize(
            &inv,
            "m-x",
            &[Span {
                start: 200,
                end: 500,
            }],
            &periods,
            2000,
        );
        assert!(out[0].present);
        assert_eq!(out[0].connected_seconds, 300);
        assert_eq!(out[0].speaking_seconds, 30);
        assert!(!out[1].present);
        assert!(out[1].periods.is_empty());
    }

    #[test]
    fn open_periods_end_now_and_are_ongoing() {
        let inv = [u("A")];
        let out = summarize(&inv, "m-x", &[], &[p("m-x", Some("A"), 100, None, 0)], 160);
        assert_eq!(out[0].connected_seconds, 60);
        assert!(out[0].periods[0].ongoing);
    }

    #[test]
    fn uninvited_units_and_other_rooms_are_ignored() {
        let inv = [u("A")];
        let periods = [
            p("m-x", Some("Z"), 0, Some(10), 0),
            p("m-y", Some("A"), 0, Some(10), 0),
            p("m-x", None, 0, Some(10), 0),
        ];
        let out = summarize(&inv, "m-x", &[Span { start: 0, end: 10 }], &periods, 20);
        assert!(!out[0].present);
    }
}

//! The range every meeting time, recurrence and document date must lie in, and the
//! checked conversions to Hà Nội time.
//!
//! The `time` crate represents years -9999..=9999 and panics when arithmetic or an offset
//! change leaves them (9999-12-31 23:59 UTC is already year 10000 in Hà Nội). Bounding
//! what can be saved to 2000..=2100 keeps every later step (duration, recurrence, join
//! window, iCalendar) centuries away from that edge. Rows saved before these checks, or
//! imported by hand, may still hold anything [`crate::timefmt`] reads back, so code that
//! renders a stored time converts with [`hanoi`] (an `Option`), never `to_offset`.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime};

use super::VN_OFFSET;
use crate::error::{Result, SchedError};

const fn day(year: i32, month: Month, day: u8) -> Date {
    match Date::from_calendar_date(year, month, day) {
        Ok(d) => d,
        // Evaluated at compile time only (the callers are `const` items): a typo in a
        // date below fails the build.
        Err(_) => panic!("invalid constant date"),
    }
}

/// First day a meeting, an occurrence, a recurrence or a document may fall on (Hà Nội).
pub const FIRST_DAY: Date = day(2000, Month::January, 1);
/// Last such day (Hà Nội).
pub const LAST_DAY: Date = day(2100, Month::December, 31);
/// 2000-01-01 00:00:00 in Hà Nội as unix seconds.
pub const MIN_UNIX: i64 = FIRST_DAY
    .midnight()
    .assume_offset(VN_OFFSET)
    .unix_timestamp();
/// 2100-12-31 23:59:59 in Hà Nội as unix seconds.
pub const MAX_UNIX: i64 = LAST_DAY
    .midnight()
    .assume_offset(VN_OFFSET)
    .unix_timestamp()
    + 86_399;

/// Shortest meeting (and urgent session): anything shorter is a typo.
pub const MIN_DURATION: Duration = Duration::minutes(1);
/// Longest meeting or occurrence.
pub const MAX_DURATION: Duration = Duration::hours(24);
/// [`MAX_DURATION`] in minutes, the unit of an urgent session's `duration_minutes`.
pub const MAX_DURATION_MINUTES: i64 = 24 * 60;
/// Exception dates per series: one per stored occurrence is the most that can matter.
pub const MAX_EXDATES: usize = super::recur::MAX_OCCURRENCES;

/// The range as the messages say it.
pub const RANGE_TEXT: &str =
    "must be between 2000-01-01 00:00 and 2100-12-31 23:59:59, Hà Nội time, UTC+07:00";

/// Hà Nội wall-clock time of `t`; `None` when that is outside what `time` represents
/// (e.g. a stored 9999-12-31 23:59 UTC).
pub fn hanoi(t: OffsetDateTime) -> Option<PrimitiveDateTime> {
    t.checked_to_offset(VN_OFFSET)
        .map(|l| PrimitiveDateTime::new(l.date(), l.time()))
}

/// For text meant to be read: the Hà Nội wall-clock time, or, for a stored time that has
/// none, the UTC one with `true` so the text can say "UTC". `None` only for a value whose
/// UTC form is past the calendar too, which no stored row can hold.
pub fn display_time(t: OffsetDateTime) -> Option<(PrimitiveDateTime, bool)> {
    match hanoi(t) {
        Some(l) => Some((l, false)),
        None => t
            .checked_to_offset(time::UtcOffset::UTC)
            .map(|u| (PrimitiveDateTime::new(u.date(), u.time()), true)),
    }
}

/// Whether `t` is within [`FIRST_DAY`]..=[`LAST_DAY`] (Hà Nội). Compares unix seconds,
/// which is plain integer arithmetic whatever offset `t` was given with.
pub fn in_range(t: OffsetDateTime) -> bool {
    (MIN_UNIX..=MAX_UNIX).contains(&t.unix_timestamp())
}

/// `t` within the range, or `Invalid { field }` saying the range.
pub fn check_instant(field: &'static str, t: OffsetDateTime) -> Result<()> {
    if in_range(t) {
        Ok(())
    } else {
        Err(SchedError::invalid(field, RANGE_TEXT))
    }
}

/// A Hà Nội wall-clock time within the range.
pub fn check_local(field: &'static str, t: PrimitiveDateTime) -> Result<()> {
    check_date(field, t.date())
}

/// A calendar day (Hà Nội) within the range.
pub fn check_date(field: &'static str, d: Date) -> Result<()> {
    if (FIRST_DAY..=LAST_DAY).contains(&d) {
        Ok(())
    } else {
        Err(SchedError::invalid(
            field,
            "must be a day between 2000-01-01 and 2100-12-31",
        ))
    }
}

/// A duration given in minutes (an urgent session's), bounded before any `Duration` is
/// built from it: `Duration::minutes` itself panics past `i64::MAX / 60`.
pub fn duration_minutes(minutes: i64) -> Result<Duration> {
    if (1..=MAX_DURATION_MINUTES).contains(&minutes) {
        Ok(Duration::minutes(minutes))
    } else {
        Err(SchedError::invalid(
            "end",
            format!("the duration must be 1 to {MAX_DURATION_MINUTES} minutes, at most 24 hours"),
        ))
    }
}

/// The meeting's length, between [`MIN_DURATION`] and [`MAX_DURATION`].
pub fn check_duration(starts_at: OffsetDateTime, ends_at: OffsetDateTime) -> Result<Duration> {
    // Both ends are in range here, so the difference is a few centuries at most.
    let length = ends_at - starts_at;
    if length <= Duration::ZERO {
        return Err(SchedError::invalid("end", "must be after the start"));
    }
    if length < MIN_DURATION {
        return Err(SchedError::invalid(
            "end",
            "a meeting lasts at least 1 minute",
        ));
    }
    if length > MAX_DURATION {
        return Err(SchedError::invalid(
            "end",
            "a meeting lasts at most 24 hours",
        ));
    }
    Ok(length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Time;

    #[test]
    fn bounds_are_the_first_and_last_second_in_ha_noi() {
        // 1999-12-31T17:00:00Z and 2100-12-31T16:59:59Z.
        assert_eq!(MIN_UNIX, 946_659_600);
        assert_eq!(MAX_UNIX, 4_133_955_599);
        let last = LAST_DAY
            .with_time(Time::from_hms(23, 59, 59).unwrap())
            .assume_offset(VN_OFFSET);
        assert_eq!(last.unix_timestamp(), MAX_UNIX);
    }

    #[test]
    fn hanoi_is_none_past_the_calendar() {
        let edge = OffsetDateTime::from_unix_timestamp(253_402_300_740).unwrap();
        assert_eq!(hanoi(edge), None);
        let ok = OffsetDateTime::from_unix_timestamp(1_772_413_200).unwrap();
        assert_eq!(hanoi(ok).map(|l| l.hour()), Some(8));
    }
}

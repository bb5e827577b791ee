//! A deliberately small RRULE subset (RFC 5545 §3.3.10), expanded in local time
//! (Asia/Ho_Chi_Minh is UTC+7 all year, so local arithmetic is exact):
//! FREQ=WEEKLY|MONTHLY; INTERVAL; COUNT or UNTIL; BYDAY (weekly: MO..SU; monthly: with
//! optional ordinal, e.g. 1MO, -1FR); BYMONTHDAY (monthly). Anything else is refused with a
//! clear error rather than silently misread.
//!
//! Every start it produces lies within [`super::range`]: UNTIL must, a COUNT that would
//! run past 2100-12-31 is refused, and an open-ended series is materialized up to that
//! day at the latest. All date arithmetic is checked.

use time::{Date, Duration, Month, PrimitiveDateTime, UtcOffset, Weekday};

use super::range;
use crate::error::{Result, SchedError};

/// Series without COUNT/UNTIL are materialized this far ahead of their first start (and
/// never past [`range::LAST_DAY`]).
pub const OPEN_HORIZON_DAYS: i64 = 366;
/// Upper bound of stored occurrences per series.
pub const MAX_OCCURRENCES: usize = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Until {
    /// Inclusive local date (`UNTIL=20261231`).
    Date(Date),
    /// Inclusive instant, kept in local time.
    Local(PrimitiveDateTime),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub freq: Freq,
    pub interval: u32,
    pub count: Option<u32>,
    pub until: Option<Until>,
    pub by_day: Vec<(Option<i8>, Weekday)>,
    pub by_month_day: Vec<i8>,
}

fn err(m: impl Into<String>) -> SchedError {
    SchedError::Recurrence(m.into())
}

fn weekday_code(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

/// "20261231T100000" (local) or "...Z" (UTC, converted to +7) or "20261231"; the local
/// day must be within the supported range.
fn parse_until(v: &str, offset: UtcOffset) -> Result<Until> {
    let bad = || err(format!("UNTIL {v:?} is not YYYYMMDD[THHMMSS[Z]]"));
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let small = |s: &str| num(s).and_then(|n| u8::try_from(n).map_err(|_| bad()));
    if v.len() < 8 || !v.is_ascii() {
        return Err(bad());
    }
    let year = i32::try_from(num(&v[0..4])?).map_err(|_| bad())?;
    let month = Month::try_from(small(&v[4..6])?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, small(&v[6..8])?).map_err(|_| bad())?;
    let out_of_range = || err(format!("UNTIL {v:?} {}", range::RANGE_TEXT));
    let rest = &v[8..];
    if rest.is_empty() {
        range::check_date("recurrence", date).map_err(|_| out_of_range())?;
        return Ok(Until::Date(date));
    }
    let (t, utc) = match rest.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (rest, false),
    };
    let t = t.strip_prefix('T').ok_or_else(bad)?;
    if t.len() != 6 {
        return Err(bad());
    }
    let time = time::Time::from_hms(small(&t[0..2])?, small(&t[2..4])?, small(&t[4..6])?)
        .map_err(|_| bad())?;
    let mut local = PrimitiveDateTime::new(date, time);
    if utc {
        // 9999-12-31T23:59:59Z has no local time at +7: out of range, not a panic.
        let o = local
            .assume_utc()
            .checked_to_offset(offset)
            .ok_or_else(out_of_range)?;
        local = PrimitiveDateTime::new(o.date(), o.time());
    }
    range::check_local("recurrence", local).map_err(|_| out_of_range())?;
    Ok(Until::Local(local))
}

/// Parses and validates a rule (with or without the "RRULE:" prefix).
pub fn parse_rrule(s: &str, offset: UtcOffset) -> Result<Rule> {
    let s = s.trim();
    let s = s.strip_prefix("RRULE:").unwrap_or(s);
    if s.len() > 500 {
        return Err(err("rule longer than 500 characters"));
    }
    let (mut freq, mut interval, mut count, mut until) = (None, 1u32, None, None);
    let (mut by_day, mut by_month_day) = (Vec::new(), Vec::new());
    for part in s.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| err(format!("{part:?} is not NAME=VALUE")))?;
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                freq = Some(match v.to_ascii_uppercase().as_str() {
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    other => {
                        return Err(err(format!("FREQ={other} not supported (WEEKLY, MONTHLY)")));
                    }
                })
            }
            "INTERVAL" => {
                interval = v
                    .parse()
                    .ok()
                    .filter(|i| (1..=52).contains(i))
                    .ok_or_else(|| err("INTERVAL must be 1..=52"))?
            }
            "COUNT" => {
                count = Some(
                    v.parse()
                        .ok()
                        .filter(|c| (1..=MAX_OCCURRENCES as u32).contains(c))
                        .ok_or_else(|| err(format!("COUNT must be 1..={MAX_OCCURRENCES}")))?,
                )
            }
            "UNTIL" => until = Some(parse_until(v, offset)?),
            "BYDAY" => {
                for d in v.split(',') {
                    let d = d.trim().to_ascii_uppercase();
                    let (ord, wd) = d.split_at(d.len().saturating_sub(2));
                    let wd = parse_weekday(wd).ok_or_else(|| err(format!("BYDAY {d:?}")))?;
                    let ord = match ord {
                        "" => None,
                        o => Some(
                            o.trim_start_matches('+')
                                .parse::<i8>()
                                .ok()
                                .filter(|n| *n != 0 && (-5..=5).contains(n))
                                .ok_or_else(|| err(format!("BYDAY ordinal in {d:?}")))?,
                        ),
                    };
                    by_day.push((ord, wd));
                }
            }
            "BYMONTHDAY" => {
                for d in v.split(',') {
                    by_month_day.push(
                        d.trim()
                            .parse::<i8>()
                            .ok()
                            .filter(|n| *n != 0 && (-31..=31).contains(n))
                            .ok_or_else(|| err(format!("BYMONTHDAY {d:?}")))?,
                    );
                }
            }
            "WKST" if v.eq_ignore_ascii_case("MO") => {}
            other => return Err(err(format!("{other} is not supported"))),
        }
    }
    let freq = freq.ok_or_else(|| err("FREQ is required"))?;
    if count.is_some() && until.is_some() {
        return Err(err("COUNT and UNTIL are mutually exclusive"));
    }
    match freq {
        Freq::Weekly if by_day.iter().any(|(o, _)| o.is_some()) => {
            return Err(err("ordinal BYDAY only with FREQ=MONTHLY"));
        }
        Freq::Weekly if !by_month_day.is_empty() => {
            return Err(err("BYMONTHDAY only with FREQ=MONTHLY"));
        }
        Freq::Monthly if !by_day.is_empty() && !by_month_day.is_empty() => {
            return Err(err("use BYDAY or BYMONTHDAY, not both"));
        }
        _ => {}
    }
    Ok(Rule {
        freq,
        interval,
        count,
        until,
        by_day,
        by_month_day,
    })
}

impl Rule {
    /// Canonical text (what we store and put in iCalendar). UNTIL is written in UTC as
    /// RFC 5545 requires when DTSTART carries a TZID.
    pub fn to_rrule(&self, offset: UtcOffset) -> String {
        let mut s = match self.freq {
            Freq::Weekly => "FREQ=WEEKLY".to_owned(),
            Freq::Monthly => "FREQ=MONTHLY".to_owned(),
        };
        if self.interval != 1 {
            s.push_str(&format!(";INTERVAL={}", self.interval));
        }
        if let Some(c) = self.count {
            s.push_str(&format!(";COUNT={c}"));
        }
        if let Some(u) = &self.until {
            let local = match u {
                Until::Date(d) => d.with_hms(23, 59, 59).unwrap_or(d.midnight()),
                Until::Local(l) => *l,
            };
            // A parsed rule's UNTIL is in range; one built by hand past the calendar's
            // edge is written as that edge, which bounds the series the same way.
            let utc = local
                .assume_offset(offset)
                .checked_to_offset(UtcOffset::UTC)
                .unwrap_or_else(|| {
                    let edge = if local.year() > 0 {
                        PrimitiveDateTime::MAX
                    } else {
                        PrimitiveDateTime::MIN
                    };
                    edge.assume_utc()
                });
            s.push_str(&format!(
                ";UNTIL={:04}{:02}{:02}T{:02}{:02}{:02}Z",
                utc.year(),
                utc.month() as u8,
                utc.day(),
                utc.hour(),
                utc.minute(),
                utc.second()
            ));
        }
        if !self.by_day.is_empty() {
            let days: Vec<String> = self
                .by_day
                .iter()
                .map(|(o, w)| {
                    format!(
                        "{}{}",
                        o.map(|o| o.to_string()).unwrap_or_default(),
                        weekday_code(*w)
                    )
                })
                .collect();
            s.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        if !self.by_month_day.is_empty() {
            let d: Vec<String> = self.by_month_day.iter().map(|d| d.to_string()).collect();
            s.push_str(&format!(";BYMONTHDAY={}", d.join(",")));
        }
        s
    }

    fn within_until(&self, t: PrimitiveDateTime) -> bool {
        match &self.until {
            None => true,
            Some(Until::Date(d)) => t.date() <= *d,
            Some(Until::Local(l)) => t <= *l,
        }
    }
}

fn days_in_month(year: i32, month: Month) -> u8 {
    let (ny, nm) = if month == Month::December {
        (year + 1, Month::January)
    } else {
        (year, month.next())
    };
    Date::from_calendar_date(ny, nm, 1)
        .ok()
        .and_then(|d| d.previous_day())
        .map(|d| d.day())
        .unwrap_or(28)
}

/// Candidate dates of one month, sorted.
fn month_dates(rule: &Rule, year: i32, month: Month, start: Date) -> Vec<Date> {
    let len = days_in_month(year, month);
    let mut days: Vec<u8> = Vec::new();
    if !rule.by_day.is_empty() {
        for (ord, wd) in &rule.by_day {
            let all: Vec<u8> = (1..=len)
                .filter(|d| {
                    Date::from_calendar_date(year, month, *d).is_ok_and(|x| x.weekday() == *wd)
                })
                .collect();
            match ord {
                None => days.extend(all),
                Some(n) if *n > 0 => days.extend(all.get(*n as usize - 1)),
                Some(n) => days.extend(
                    all.len()
                        .checked_sub(n.unsigned_abs() as usize)
                        .and_then(|i| all.get(i)),
                ),
            }
        }
    } else if !rule.by_month_day.is_empty() {
        for d in &rule.by_month_day {
            let day = if *d > 0 {
                *d as i16
            } else {
                len as i16 + 1 + *d as i16
            };
            if (1..=len as i16).contains(&day) {
                days.push(day as u8);
            }
        }
    } else if start.day() <= len {
        // A start on the 31st skips shorter months (RFC 5545 behaviour).
        days.push(start.day());
    }
    days.sort_unstable();
    days.dedup();
    days.into_iter()
        .filter_map(|d| Date::from_calendar_date(year, month, d).ok())
        .collect()
}

/// Local start times of the series, EXDATEs removed (they still count towards COUNT, as in
/// RFC 5545). The first start must itself match the rule and lie within the supported
/// range; so does every start returned.
pub fn expand(
    rule: &Rule,
    start: PrimitiveDateTime,
    exdates: &[PrimitiveDateTime],
) -> Result<Vec<PrimitiveDateTime>> {
    range::check_local("start", start)
        .map_err(|_| err(format!("the first start {}", range::RANGE_TEXT)))?;
    let past_range = || {
        err(format!(
            "the series would continue past {}; shorten COUNT",
            range::LAST_DAY
        ))
    };
    // None only when the horizon itself is past the calendar, which the range check
    // above rules out; the range end below stops the series first anyway.
    let horizon = start.checked_add(Duration::days(OPEN_HORIZON_DAYS));
    let bounded = rule.count.is_some() || rule.until.is_some();
    let mut out = Vec::new();
    let mut generated = 0u32;
    let mut push = |t: PrimitiveDateTime, out: &mut Vec<PrimitiveDateTime>| -> Result<bool> {
        if !rule.within_until(t) || (!bounded && horizon.is_none_or(|h| t > h)) {
            return Ok(false);
        }
        if rule.count.is_some_and(|c| generated >= c) {
            return Ok(false);
        }
        if t.date() > range::LAST_DAY {
            // UNTIL is within the range, so only a COUNT gets here: refuse rather than
            // store fewer meetings than asked for. An open-ended series just ends.
            return if bounded {
                Err(past_range())
            } else {
                Ok(false)
            };
        }
        generated += 1;
        if !exdates.contains(&t) {
            if out.len() >= MAX_OCCURRENCES {
                return Err(err(format!(
                    "more than {MAX_OCCURRENCES} occurrences; shorten COUNT/UNTIL"
                )));
            }
            out.push(t);
        }
        Ok(true)
    };
    let mut first_matches = false;
    match rule.freq {
        Freq::Weekly => {
            let mut days: Vec<Weekday> = rule.by_day.iter().map(|(_, w)| *w).collect();
            if days.is_empty() {
                days.push(start.weekday());
            }
            days.sort_by_key(|w| w.number_days_from_monday());
            days.dedup();
            let week0 = start
                .date()
                .checked_sub(Duration::days(i64::from(
                    start.weekday().number_days_from_monday(),
                )))
                .ok_or_else(past_range)?;
            'weeks: for k in 0..10_000i64 {
                let week = week0
                    .checked_add(Duration::days(7 * i64::from(rule.interval) * k))
                    .ok_or_else(past_range)?;
                for w in &days {
                    let t = week
                        .checked_add(Duration::days(i64::from(w.number_days_from_monday())))
                        .ok_or_else(past_range)?
                        .with_time(start.time());
                    if t < start {
                        continue;
                    }
                    first_matches |= t == start;
                    if !push(t, &mut out)? {
                        break 'weeks;
                    }
                }
            }
        }
        Freq::Monthly => {
            let m0 = start.year() * 12 + start.month() as i32 - 1;
            'months: for k in 0..10_000i32 {
                let m = m0 + k * rule.interval as i32;
                let (y, mo) = (m.div_euclid(12), (m.rem_euclid(12) + 1) as u8);
                let month = Month::try_from(mo).map_err(|_| err("month out of range"))?;
                for d in month_dates(rule, y, month, start.date()) {
                    let t = d.with_time(start.time());
                    if t < start {
                        continue;
                    }
                    first_matches |= t == start;
                    if !push(t, &mut out)? {
                        break 'months;
                    }
                }
            }
        }
    }
    if !first_matches {
        return Err(err(
            "the first start does not match the rule (e.g. BYDAY must include its weekday)",
        ));
    }
    Ok(out)
}

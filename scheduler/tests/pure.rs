//! Pure pieces: recurrence expansion, folding and escaping.
use bridge_scheduler::ical::{escape_text, fold_line};
use bridge_scheduler::meetings::VN_OFFSET;
use bridge_scheduler::meetings::recur::{expand, parse_rrule};
use time::{Date, Month, PrimitiveDateTime, Time};

fn at(y: i32, m: u8, d: u8, h: u8) -> PrimitiveDateTime {
    PrimitiveDateTime::new(
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap(),
        Time::from_hms(h, 0, 0).unwrap(),
    )
}

fn days(rule: &str, start: PrimitiveDateTime, ex: &[PrimitiveDateTime]) -> Vec<String> {
    let r = parse_rrule(rule, VN_OFFSET).unwrap();
    expand(&r, start, ex)
        .unwrap()
        .iter()
        .map(|t| t.date().to_string())
        .collect()
}

#[test]
fn monthly_on_the_31st_skips_short_months() {
    assert_eq!(
        days("FREQ=MONTHLY;COUNT=4", at(2026, 1, 31, 9), &[]),
        vec!["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]
    );
}

#[test]
fn monthly_last_friday_and_last_day() {
    assert_eq!(
        days("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", at(2026, 1, 30, 9), &[]),
        vec!["2026-01-30", "2026-02-27", "2026-03-27"]
    );
    assert_eq!(
        days(
            "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3",
            at(2028, 1, 31, 9),
            &[]
        ),
        vec!["2028-01-31", "2028-02-29", "2028-03-31"]
    );
}

#[test]
fn biweekly_until_utc_and_exdates_count_towards_count() {
    // UNTIL in UTC: 2026-03-30T02:00Z is 09:00 local, exactly the last start.
    assert_eq!(
        days(
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20260330T020000Z",
            at(2026, 3, 2, 9),
            &[]
        ),
        vec!["2026-03-02", "2026-03-16", "2026-03-30"]
    );
    assert_eq!(
        days(
            "RRULE:FREQ=WEEKLY;COUNT=3",
            at(2026, 3, 2, 9),
            &[at(2026, 3, 9, 9)]
        ),
        vec!["2026-03-02", "2026-03-16"]
    );
    // Open-ended weekly series stop at the horizon (a year).
    assert_eq!(days("FREQ=WEEKLY", at(2026, 3, 2, 9), &[]).len(), 53);
}

#[test]
fn unsupported_or_inconsistent_rules_are_refused() {
    for bad in [
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYHOUR=9",
        "FREQ=WEEKLY;COUNT=2;UNTIL=20260101",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1",
        "FREQ=MONTHLY;COUNT=100000",
        "INTERVAL=2",
        "FREQ=WEEKLY;UNTIL=2026-01-01",
    ] {
        assert!(parse_rrule(bad, VN_OFFSET).is_err(), "{bad} accepted");
    }
    // A start that the rule does not produce is an error, not a silent extra occurrence.
    let r = parse_rrule("FREQ=WEEKLY;BYDAY=TU", VN_OFFSET).unwrap();
    assert!(expand(&r, at(2026, 3, 2, 9), &[]).is_err());
}

#[test]
fn folding_never_splits_utf8_and_keeps_75_octets() {
    let line = format!("SUMMARY:{}", "Ủy ban nhân dân tỉnh Phú Thọ ".repeat(12));
    let folded = fold_line(&line);
    let mut rebuilt = String::new();
    for (i, l) in folded.trim_end_matches("\r\n").split("\r\n").enumerate() {
        assert!(l.len() <= 75, "{} octets", l.len());
        rebuilt.push_str(if i == 0 {
            l
        } else {
            l.strip_prefix(' ').unwrap()
        });
    }
    assert_eq!(rebuilt, line);
    assert_eq!(fold_line("A:b"), "A:b\r\n");
    assert_eq!(escape_text("a,b;c\\d\ne\r"), "a\\,b\\;c\\\\d\\ne");
}

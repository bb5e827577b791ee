//! Dates at and past the edges: what a request may ask for is refused with a typed error
//! (never a panic in the `time` crate), and rows already stored with extreme dates still
//! read, render (iCalendar, e-mail, minutes, notice) and list.
//!
//! The pure tests loop over fixed edge values (no property-testing crate in the tree):
//! `i64` extremes, zero and negative durations, year 1, 1900, 9999, leap days, and the
//! same instants written with different UTC offsets around Hà Nội's +07:00 boundaries.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use bridge_minutes::{TaskStatus, vn};
use bridge_scheduler::ical::{IcsInput, Method, render};
use bridge_scheduler::mail::{Invitation, invitation, mailbox};
use bridge_scheduler::meetings::recur::{expand, parse_rrule};
use bridge_scheduler::meetings::{UrgentCall, VN_OFFSET, validate_draft};
use bridge_scheduler::minutes_store::{MinutesError, NoticeTask};
use bridge_scheduler::search::MeetingSearch;
use bridge_scheduler::{Db, MeetingDraft, MeetingId, RecurrenceInput, Role, SchedError};
use bridge_token::TokenKey;
use common::*;
use sqlx::Row;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// 9999-12-31 23:59:00 UTC: already year 10000 in Hà Nội.
const EDGE_START: i64 = 253_402_300_740;
/// 9999-12-31 23:59:59 UTC, the last second `time` can hold.
const EDGE_END: i64 = 253_402_300_799;

fn unix(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).unwrap()
}

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

/// A wall-clock time with the given offset (hours, minutes).
fn at(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8, off: (i8, i8)) -> OffsetDateTime {
    day(y, mo, d)
        .with_time(Time::from_hms(h, mi, s).unwrap())
        .assume_offset(UtcOffset::from_hms(off.0, off.1, 0).unwrap())
}

fn local(y: i32, mo: u8, d: u8, h: u8) -> PrimitiveDateTime {
    day(y, mo, d).with_time(Time::from_hms(h, 0, 0).unwrap())
}

/// Runs `f`, turning a panic into `Err(message)` so one run reports every bad case.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into())
    })
}

fn timed(start: OffsetDateTime, end: OffsetDateTime) -> MeetingDraft {
    let mut d = draft("Họp", "25", vec![unit_sel("227")], 1, 1);
    d.starts_at = start;
    d.ends_at = end;
    d
}

fn is_range_error(e: &SchedError) -> bool {
    match e {
        SchedError::Invalid { reason, .. } | SchedError::Recurrence(reason) => {
            reason.contains("2100")
        }
        _ => false,
    }
}

#[test]
fn urgent_durations_and_delays_at_the_edges() {
    let mut bad = Vec::new();
    let durations = [
        i64::MIN,
        i64::MIN / 60,
        -1,
        0,
        1,
        60,
        1440,
        1441,
        i64::MAX / 60,
        i64::MAX / 60 + 1,
        i64::MAX,
    ];
    for minutes in durations {
        let res = no_panic(|| {
            MeetingDraft::urgent("Khẩn", code("25"), vec![], now(), 0, minutes)
                .and_then(|d| validate_draft(d, now()))
        });
        let want_ok = (1..=1440).contains(&minutes);
        match res {
            Err(p) => bad.push(format!("duration {minutes}: panicked: {p}")),
            Ok(r) if r.is_ok() != want_ok => bad.push(format!("duration {minutes}: {r:?}")),
            Ok(Ok(v)) => assert!(v.occurrences.iter().all(|(s, e)| s < e)),
            Ok(Err(e)) => assert!(matches!(e, SchedError::Invalid { .. }), "{e:?}"),
        }
    }
    for delay in [i64::MIN, -1, 0, 120, 121, i64::MAX] {
        let res = no_panic(|| {
            MeetingDraft::urgent("Khẩn", code("25"), vec![], now(), delay, 60)
                .and_then(|d| validate_draft(d, now()))
        });
        let want_ok = (0..=120).contains(&delay);
        match res {
            Err(p) => bad.push(format!("delay {delay}: panicked: {p}")),
            Ok(r) if r.is_ok() != want_ok => bad.push(format!("delay {delay}: {r:?}")),
            Ok(_) => {}
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// What validation should answer for one edge case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Accepted,
    /// Refused because a time is outside 2000..=2100 (the message says the range).
    OutOfRange,
    /// Refused for another reason (length of the meeting).
    Refused,
}

#[test]
fn meeting_times_at_the_edges() {
    use Want::*;
    let vn = (7, 0);
    let utc = (0, 0);
    let y2000 = at(2000, 1, 1, 0, 0, 0, vn);
    let soon = now() + Duration::hours(1);
    // (label, start, end, now, expected)
    let cases: Vec<(&str, OffsetDateTime, OffsetDateTime, OffsetDateTime, Want)> = vec![
        (
            "first second",
            y2000,
            y2000 + Duration::hours(1),
            y2000,
            Accepted,
        ),
        (
            "first second written in UTC",
            at(1999, 12, 31, 17, 0, 0, utc),
            at(1999, 12, 31, 18, 0, 0, utc),
            y2000,
            Accepted,
        ),
        (
            "first second written at +14:00",
            at(2000, 1, 1, 7, 0, 0, (14, 0)),
            at(2000, 1, 1, 8, 0, 0, (14, 0)),
            y2000,
            Accepted,
        ),
        (
            "a second before, in Hà Nội",
            at(1999, 12, 31, 23, 59, 59, vn),
            at(2000, 1, 1, 1, 0, 0, vn),
            y2000 - Duration::hours(1),
            OutOfRange,
        ),
        (
            "a second before, written at -12:00",
            at(1999, 12, 31, 4, 59, 59, (-12, 0)),
            at(1999, 12, 31, 6, 0, 0, (-12, 0)),
            y2000 - Duration::hours(1),
            OutOfRange,
        ),
        (
            "last hour of 2100",
            at(2100, 12, 31, 22, 59, 59, vn),
            at(2100, 12, 31, 23, 59, 59, vn),
            now(),
            Accepted,
        ),
        (
            "ends a second into 2101",
            at(2100, 12, 31, 23, 0, 0, vn),
            at(2101, 1, 1, 0, 0, 0, vn),
            now(),
            OutOfRange,
        ),
        (
            "2101 in Hà Nội, still 2100 in UTC",
            at(2100, 12, 31, 17, 0, 0, utc),
            at(2100, 12, 31, 18, 0, 0, utc),
            now(),
            OutOfRange,
        ),
        (
            "leap day 2000",
            at(2000, 2, 29, 9, 0, 0, vn),
            at(2000, 2, 29, 10, 0, 0, vn),
            y2000,
            Accepted,
        ),
        (
            "leap day 2096",
            at(2096, 2, 29, 9, 0, 0, vn),
            at(2096, 2, 29, 10, 0, 0, vn),
            now(),
            Accepted,
        ),
        (
            "2100-02-28 (2100 has no 29th)",
            at(2100, 2, 28, 9, 0, 0, vn),
            at(2100, 2, 28, 10, 0, 0, vn),
            now(),
            Accepted,
        ),
        (
            "year 1",
            at(1, 1, 1, 9, 0, 0, vn),
            at(1, 1, 1, 10, 0, 0, vn),
            unix(-62_135_596_800),
            OutOfRange,
        ),
        (
            "1900",
            at(1900, 1, 1, 9, 0, 0, vn),
            at(1900, 1, 1, 10, 0, 0, vn),
            at(1900, 1, 1, 8, 0, 0, vn),
            OutOfRange,
        ),
        (
            "9999-12-31 in UTC",
            at(9999, 12, 31, 22, 0, 0, utc),
            at(9999, 12, 31, 23, 0, 0, utc),
            now(),
            OutOfRange,
        ),
        (
            "9999-12-31 up to the last second",
            unix(EDGE_START),
            unix(EDGE_END),
            now(),
            OutOfRange,
        ),
        (
            "9999-12-31 at -11:00, i.e. year 10000 in UTC",
            at(9999, 12, 31, 22, 0, 0, (-11, 0)),
            at(9999, 12, 31, 23, 0, 0, (-11, 0)),
            now(),
            OutOfRange,
        ),
        (
            "exactly 24 hours",
            soon,
            soon + Duration::hours(24),
            now(),
            Accepted,
        ),
        (
            "24 hours and a second",
            soon,
            soon + Duration::hours(24) + Duration::seconds(1),
            now(),
            Refused,
        ),
        (
            "exactly one minute",
            soon,
            soon + Duration::minutes(1),
            now(),
            Accepted,
        ),
        (
            "thirty seconds",
            soon,
            soon + Duration::seconds(30),
            now(),
            Refused,
        ),
        ("zero length", soon, soon, now(), Refused),
        (
            "ends before it starts",
            soon,
            soon - Duration::minutes(1),
            now(),
            Refused,
        ),
    ];
    assert!(Date::from_calendar_date(2100, Month::February, 29).is_err());
    let mut bad = Vec::new();
    for (label, start, end, now, want) in cases {
        let got = match no_panic(|| validate_draft(timed(start, end), now)) {
            Err(p) => {
                bad.push(format!("{label}: panicked: {p}"));
                continue;
            }
            Ok(Ok(v)) => {
                for (s, e) in &v.occurrences {
                    assert!(s < e && (*e - *s) <= Duration::hours(24), "{label}");
                }
                Accepted
            }
            Ok(Err(e)) if is_range_error(&e) => OutOfRange,
            Ok(Err(SchedError::Invalid { .. })) => Refused,
            Ok(Err(e)) => {
                bad.push(format!("{label}: unexpected error {e:?}"));
                continue;
            }
        };
        if got != want {
            bad.push(format!("{label}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

fn series(start: OffsetDateTime, rule: &str, exdates: Vec<OffsetDateTime>) -> MeetingDraft {
    let mut d = timed(start, start + Duration::hours(1));
    d.recurrence = Some(RecurrenceInput {
        rrule: rule.into(),
        exdates,
    });
    d
}

#[test]
fn recurrences_at_the_edges() {
    let vn = (7, 0);
    let monday = now() + Duration::hours(1); // Monday 2026-03-02 09:00 in Hà Nội
    let late_2100 = at(2100, 6, 7, 9, 0, 0, vn); // a Monday
    // (label, draft, accepted)
    let cases: Vec<(&str, MeetingDraft, bool)> = vec![
        (
            "weekly, UNTIL 9999 in UTC",
            series(monday, "FREQ=WEEKLY;UNTIL=99991231T235959Z", vec![]),
            false,
        ),
        (
            "weekly, UNTIL 9999 as a date",
            series(monday, "FREQ=WEEKLY;UNTIL=99991231", vec![]),
            false,
        ),
        (
            "weekly, UNTIL year 1",
            series(monday, "FREQ=WEEKLY;UNTIL=00010101", vec![]),
            false,
        ),
        (
            "weekly, UNTIL 2101-01-01",
            series(late_2100, "FREQ=WEEKLY;UNTIL=21010101", vec![]),
            false,
        ),
        (
            "weekly, UNTIL 2100-12-31 23:59:59 Hà Nội in UTC",
            series(late_2100, "FREQ=WEEKLY;UNTIL=21001231T165959Z", vec![]),
            true,
        ),
        (
            "weekly, UNTIL 2100-12-31",
            series(late_2100, "FREQ=WEEKLY;UNTIL=21001231", vec![]),
            true,
        ),
        (
            "every 52 weeks, 366 times (past 2100)",
            series(monday, "FREQ=WEEKLY;INTERVAL=52;COUNT=366", vec![]),
            false,
        ),
        (
            "weekly, 366 times",
            series(monday, "FREQ=WEEKLY;COUNT=366", vec![]),
            true,
        ),
        (
            "open-ended weekly late in 2100",
            series(late_2100, "FREQ=WEEKLY", vec![]),
            true,
        ),
        (
            "monthly on the 29th across February 2100",
            series(
                at(2099, 12, 29, 9, 0, 0, vn),
                "FREQ=MONTHLY;BYMONTHDAY=29;COUNT=5",
                vec![],
            ),
            true,
        ),
        (
            "monthly on the 29th across February 2096 (leap)",
            series(
                at(2095, 12, 29, 9, 0, 0, vn),
                "FREQ=MONTHLY;BYMONTHDAY=29;COUNT=5",
                vec![],
            ),
            true,
        ),
        (
            "exception date at 9999-12-31 23:59:59 UTC",
            series(monday, "FREQ=WEEKLY;COUNT=3", vec![unix(EDGE_END)]),
            false,
        ),
        (
            "exception date in year 1",
            series(monday, "FREQ=WEEKLY;COUNT=3", vec![unix(-62_135_596_800)]),
            false,
        ),
        (
            "1000 exception dates",
            series(
                monday,
                "FREQ=WEEKLY;COUNT=3",
                (0..1000).map(|w| monday + Duration::weeks(w)).collect(),
            ),
            false,
        ),
    ];
    let mut bad = Vec::new();
    for (label, d, accepted) in cases {
        match no_panic(|| validate_draft(d, now())) {
            Err(p) => bad.push(format!("{label}: panicked: {p}")),
            Ok(r) if r.is_ok() != accepted => bad.push(format!("{label}: {r:?}")),
            Ok(Ok(v)) => {
                let last = v.occurrences.last().unwrap().1;
                // 2101-01-01 00:00 in Hà Nội.
                if last > at(2101, 1, 1, 0, 0, 0, vn) {
                    bad.push(format!("{label}: an occurrence ends at {last}"));
                }
            }
            Ok(Err(_)) => {}
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn expanding_from_a_start_at_the_end_of_the_calendar_is_refused() {
    let mut bad = Vec::new();
    for (label, rule, start) in [
        (
            "open-ended from 9999-12-25",
            "FREQ=WEEKLY",
            local(9999, 12, 25, 9),
        ),
        (
            "monthly from 9999-12-25",
            "FREQ=MONTHLY;COUNT=3",
            local(9999, 12, 25, 9),
        ),
        ("open-ended from year 1", "FREQ=WEEKLY", local(1, 1, 1, 9)),
        ("from -9999", "FREQ=WEEKLY;COUNT=2", local(-9999, 1, 1, 9)),
    ] {
        let res = no_panic(|| {
            let r = parse_rrule(rule, VN_OFFSET)?;
            expand(&r, start, &[])
        });
        match res {
            Err(p) => bad.push(format!("{label}: panicked: {p}")),
            Ok(Ok(v)) => bad.push(format!("{label}: accepted {} starts", v.len())),
            Ok(Err(_)) => {}
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

both_dbs!(
    out_of_range_meetings_are_refused_and_nothing_stored,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let monday = now() + Duration::hours(1);
        let drafts = vec![
            ("9999", timed(unix(EDGE_START - 3600), unix(EDGE_START))),
            (
                "1900",
                timed(
                    at(1900, 1, 1, 9, 0, 0, (7, 0)),
                    at(1900, 1, 1, 10, 0, 0, (7, 0)),
                ),
            ),
            (
                "until 9999",
                series(monday, "FREQ=WEEKLY;UNTIL=99991231T235959Z", vec![]),
            ),
            (
                "every 52 weeks for 366 times",
                series(monday, "FREQ=WEEKLY;INTERVAL=52;COUNT=366", vec![]),
            ),
        ];
        for (label, d) in drafts {
            let res = no_panic(|| {
                // validate_draft is what create runs first; run it here too so a panic is
                // reported with its label rather than as a failed task.
                validate_draft(d.clone(), now()).map(|_| ())
            });
            assert!(matches!(res, Ok(Err(_))), "{label}: {res:?}");
            let e = db.create_meeting(&sec, d, now()).await.unwrap_err();
            assert!(is_range_error(&e), "{label}: {e:?}");
        }
        let huge = no_panic(|| {
            MeetingDraft::urgent(
                "Khẩn",
                code("25"),
                vec![unit_sel("227")],
                now(),
                0,
                i64::MAX,
            )
        });
        assert!(
            matches!(huge, Ok(Err(SchedError::Invalid { .. }))),
            "{huge:?}"
        );
        for table in ["meetings", "occurrences", "invitations", "agenda_items"] {
            assert_eq!(count(&db, table).await, 0, "{table}");
        }
    }
);

/// A meeting created normally, then moved to `start..end` (unix seconds) behind the
/// scheduler's back, the way an old version or a manual import could have left it.
async fn forced(db: &Db, by: &bridge_scheduler::Principal, start: i64, end: i64) -> MeetingId {
    let d = draft("Họp tổng kết", "25", vec![unit_sel("07888")], 2, 1);
    let id = db.create_meeting(by, d, now()).await.unwrap().meeting.id;
    for table in ["meetings", "occurrences"] {
        let col = if table == "meetings" {
            "id"
        } else {
            "meeting_id"
        };
        sqlx::query(&format!(
            "UPDATE {table} SET starts_at = $1, ends_at = $2 WHERE {col} = $3"
        ))
        .bind(start)
        .bind(end)
        .bind(id.to_string())
        .execute(db.pool())
        .await
        .unwrap();
    }
    id
}

both_dbs!(stored_extreme_dates_read_render_and_list, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let key = TokenKey::from_secret(&[7u8; 32]);
    for (start, end) in [
        (EDGE_START, EDGE_END),
        // 0001-01-01 in UTC; in Hà Nội it is representable (07:00).
        (-62_135_596_800, -62_135_593_200),
    ] {
        let id = forced(&db, &sec, start, end).await;
        let view = db.meeting(&sec, id).await.unwrap();
        assert_eq!(view.meeting.starts_at.unix_timestamp(), start);
        let m = db.load_meeting(id).await.unwrap();
        let org = db.unit(&m.organizer).await.unwrap();
        let att = db.unit(&code("07888")).await.unwrap();
        let ics = no_panic(|| {
            render(
                Method::Request,
                &IcsInput {
                    meeting: &m,
                    organizer: &org,
                    attendee: Some(&att),
                    join_url: Some("https://bridge.test/r/x?t=y"),
                    mail_domain: "bridge.test",
                    now: now(),
                },
            )
        })
        .unwrap_or_else(|p| panic!("ics for {start}: {p}"));
        // Read back by an independent parser: still one calendar with its times.
        let mut p = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
        let cal = p.next().unwrap().unwrap();
        let ev = &cal.events[0];
        assert!(ev.properties.iter().any(|p| p.name == "DTSTART"), "{ics}");
        assert!(ev.properties.iter().any(|p| p.name == "DTEND"), "{ics}");

        let msg = no_panic(|| {
            invitation(
                &mailbox("vp@phutho.gov.vn").unwrap(),
                &[mailbox("a@xa.gov.vn").unwrap()],
                &Invitation {
                    meeting: &m,
                    organizer_name: &org.name,
                    unit_name: &att.name,
                    method: Method::Request,
                    join_url: None,
                    ics: ics.clone(),
                },
            )
            .map(|_| ())
        });
        assert!(matches!(msg, Ok(Ok(()))), "mail for {start}: {msg:?}");

        // The join link of a meeting that has not ended is still signed.
        let ticket = tokio::spawn({
            let (db, sec, key) = (db.clone(), sec.clone(), key.clone());
            async move {
                db.join_ticket(&key, &sec, id, &code("07888"), now())
                    .await
                    .map(|_| ())
            }
        })
        .await;
        assert!(ticket.is_ok(), "join ticket for {start} panicked");

        // Minutes and notice: pre-filled, rendered.
        let minutes = db.minutes(&sec, id).await.unwrap().minutes;
        let pdf = no_panic(|| bridge_minutes::minutes_pdf(&minutes).map(|_| ()));
        assert!(
            matches!(pdf, Ok(Ok(()))),
            "minutes pdf for {start}: {pdf:?}"
        );
        let notice = tokio::spawn({
            let (db, sec) = (db.clone(), sec.clone());
            async move { db.notice_for_render(&sec, id).await }
        })
        .await
        .unwrap_or_else(|_| panic!("the notice of {start} panicked"))
        .unwrap();
        let pdf = no_panic(|| bridge_minutes::notice_pdf(&notice.1).map(|_| ()));
        assert!(matches!(pdf, Ok(Ok(()))), "notice pdf for {start}: {pdf:?}");

        // Saving the notice (tasks are checked against the meeting's day) answers.
        let doc = db.notice(&sec, id).await.unwrap().doc;
        let saved = tokio::spawn({
            let (db, sec) = (db.clone(), sec.clone());
            async move { db.save_notice(&sec, id, 0, doc, now()).await.map(|_| ()) }
        })
        .await;
        assert!(saved.is_ok(), "saving the notice of {start} panicked");

        let rows = db.meeting_attendance_at(id, now()).await.unwrap();
        bridge_scheduler::attendance::attendance_csv(&rows).unwrap();
    }
    // Lists and search still answer with the extreme rows among the others.
    db.upcoming_for_unit(&sec, &code("07888"), now(), 50)
        .await
        .unwrap();
    db.meetings_between(&sec, now(), now() + Duration::days(7))
        .await
        .unwrap();
    let all = db
        .search_meetings(&sec, &MeetingSearch::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let far = db
        .search_meetings(
            &sec,
            &MeetingSearch {
                from: Some(Date::MIN),
                to: Some(Date::MAX),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(far.total, 2);
    // Vietnam's date of an instant past the calendar prints as its last day.
    assert_eq!(vn::local(unix(EDGE_END)).date(), Date::MAX);
});

both_dbs!(document_dates_are_bounded, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let d = draft("Giao ban", "25", vec![unit_sel("07888")], 1, 2);
    let id = db.create_meeting(&sec, d, now()).await.unwrap().meeting.id;

    let base = db.minutes(&sec, id).await.unwrap().minutes;
    let mut far = base.clone();
    far.started_at = unix(EDGE_START);
    far.ended_at = unix(EDGE_END);
    let mut early = base.clone();
    early.started_at = at(1900, 1, 1, 8, 0, 0, (7, 0));
    let mut period = base.clone();
    if let Some(a) = period.attendees.first_mut() {
        a.joined = vec![(unix(EDGE_START), unix(EDGE_END))];
    }
    for (label, m) in [("9999", far), ("1900", early), ("attendance", period)] {
        let e = db.save_minutes(&sec, id, 0, m, now()).await.unwrap_err();
        assert!(
            matches!(&e, MinutesError::Sched(s) if is_range_error(s)),
            "{label}: {e:?}"
        );
    }
    assert_eq!(db.minutes(&sec, id).await.unwrap().meta.version, 0);

    let doc = db.notice(&sec, id).await.unwrap().doc;
    let mut far = doc.clone();
    far.notice.meeting.date = Date::MAX;
    let mut late_task = doc.clone();
    late_task.tasks = vec![NoticeTask {
        id: None,
        title: "Báo cáo".into(),
        lead_unit: code("07888"),
        supporting_units: vec![],
        deadline: day(2101, 1, 1),
        status: TaskStatus::Open,
    }];
    for (label, n) in [("meeting day", far), ("deadline", late_task)] {
        let e = db.save_notice(&sec, id, 0, n, now()).await.unwrap_err();
        assert!(
            matches!(&e, MinutesError::Sched(s) if is_range_error(s)),
            "{label}: {e:?}"
        );
    }
    assert_eq!(count(&db, "notice_tasks").await, 0);
    // At the edge itself it is accepted.
    let mut last = doc;
    last.tasks = vec![NoticeTask {
        id: None,
        title: "Báo cáo".into(),
        lead_unit: code("07888"),
        supporting_units: vec![],
        deadline: day(2100, 12, 31),
        status: TaskStatus::Open,
    }];
    db.save_notice(&sec, id, 0, last, now()).await.unwrap();
});

fn forbidden<T>(r: Result<T, SchedError>) -> bool {
    matches!(r, Err(SchedError::Forbidden(_)))
}

fn call(organizer: &str, delay: i64, duration: i64) -> UrgentCall {
    UrgentCall {
        title: "Họp khẩn phòng chống bão".into(),
        organizer: code(organizer),
        participants: vec![unit_sel("07888")],
        delay_minutes: delay,
        duration_minutes: duration,
        location: String::new(),
    }
}

both_dbs!(
    permission_is_checked_before_the_request_is_validated,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let site = user(&db, "site.07888", Role::Site, Some("07888")).await;
        let chair = user(&db, "ct.tinh", Role::Chair, Some("25")).await;
        let other = user(&db, "vp.viettri", Role::Secretary, Some("227")).await;

        // Urgent: whatever the timing (or an organizer that does not exist), 403.
        for who in [&site, &chair] {
            for c in [
                call("07888", 0, i64::MAX),
                call("25", i64::MAX, i64::MIN),
                call("07888", 0, 60),
                call("99999", 0, 60),
            ] {
                let r = db.create_urgent(who, c.clone(), now()).await.map(|_| ());
                let msg = format!("{} {c:?}: {r:?}", who.username);
                assert!(forbidden(r), "{msg}");
            }
        }
        let r = db
            .create_urgent(&other, call("25", 0, i64::MAX), now())
            .await;
        assert!(forbidden(r));
        // The office itself gets the validation error, then a meeting.
        let r = db.create_urgent(&sec, call("25", 0, i64::MAX), now()).await;
        assert!(
            matches!(r, Err(SchedError::Invalid { field: "end", .. })),
            "{r:?}"
        );
        let ok = db
            .create_urgent(&sec, call("25", 0, 90), now())
            .await
            .unwrap();
        assert!(ok.meeting.urgent);
        assert_eq!(
            ok.meeting.ends_at - ok.meeting.starts_at,
            Duration::minutes(90)
        );

        // Create, edit and cancel: a draft at 9999 or without a title is not looked at.
        let mut far = timed(unix(EDGE_START - 3600), unix(EDGE_START));
        far.title = String::new();
        for who in [&site, &chair] {
            let r = db.create_meeting(who, far.clone(), now()).await;
            assert!(forbidden(r));
            let r = db
                .update_meeting(who, ok.meeting.id, 0, far.clone(), now())
                .await;
            assert!(forbidden(r));
            let r = db.cancel_meeting(who, ok.meeting.id, 99, now()).await;
            assert!(forbidden(r));
            let r = db.check_manage_meeting(who, ok.meeting.id, "edit").await;
            assert!(forbidden(r));
        }
        let r = db
            .update_meeting(&other, ok.meeting.id, 0, far.clone(), now())
            .await;
        assert!(forbidden(r));
        assert!(forbidden(db.check_doc_write(&site, ok.meeting.id).await));
        db.check_doc_write(&sec, ok.meeting.id).await.unwrap();
        assert_eq!(count(&db, "meetings").await, 1);
        assert_eq!(db.load_meeting(ok.meeting.id).await.unwrap().version, 0);
    }
);

#[test]
fn the_range_helpers_at_their_edges() {
    use bridge_scheduler::meetings::range::{
        MAX_UNIX, MIN_UNIX, check_date, check_instant, duration_minutes, hanoi, in_range,
    };
    use bridge_scheduler::meetings::{FIRST_DAY, LAST_DAY};
    let instants = [
        (i64::MIN, false),
        (-377_705_116_800, false), // -9999-01-01
        (-62_135_596_800, false),  // 0001-01-01
        (0, false),
        (MIN_UNIX - 1, false),
        (MIN_UNIX, true),
        (951_757_200, true), // 2000-02-29 00:00 +07
        (MAX_UNIX, true),
        (MAX_UNIX + 1, false),
        (EDGE_START, false),
        (EDGE_END, false),
        (i64::MAX, false),
    ];
    for (s, ok) in instants {
        // Out of `time`'s range altogether: nothing to check, and nothing to panic on.
        let Ok(t) = OffsetDateTime::from_unix_timestamp(s) else {
            assert!(!ok);
            continue;
        };
        assert_eq!(in_range(t), ok, "{s}");
        assert_eq!(check_instant("start", t).is_ok(), ok, "{s}");
        // The same instant written at the widest offsets is judged the same.
        for (h, m) in [(-23, -59), (-12, 0), (7, 0), (14, 0), (23, 59)] {
            let off = UtcOffset::from_hms(h, m, 0).unwrap();
            if let Some(o) = t.checked_to_offset(off) {
                assert_eq!(in_range(o), ok, "{s} at {off}");
            }
        }
        if ok {
            assert!(hanoi(t).is_some());
        }
    }
    assert!(hanoi(unix(EDGE_START)).is_none());
    for (d, ok) in [
        (Date::MIN, false),
        (day(1, 1, 1), false),
        (day(1999, 12, 31), false),
        (FIRST_DAY, true),
        (day(2000, 2, 29), true),
        (day(2096, 2, 29), true),
        (LAST_DAY, true),
        (day(2101, 1, 1), false),
        (Date::MAX, false),
    ] {
        assert_eq!(check_date("meeting", d).is_ok(), ok, "{d}");
    }
    for (m, ok) in [
        (i64::MIN, false),
        (-1, false),
        (0, false),
        (1, true),
        (1440, true),
        (1441, false),
        (i64::MAX / 60 + 1, false),
        (i64::MAX, false),
    ] {
        assert_eq!(no_panic(|| duration_minutes(m).is_ok()), Ok(ok), "{m}");
    }
}

//! iCalendar output read back by an independent parser (the `ical` crate), and join tokens
//! verified by bridge-token.
mod common;

use bridge_scheduler::ical::{IcsInput, Method, render};
use bridge_scheduler::join::{JOIN_EARLY, JOIN_GRACE};
use bridge_scheduler::units::UnitSelector;
use bridge_scheduler::{Db, RecurrenceInput, Role, SchedError};
use bridge_token::{Role as JoinRole, TokenError, TokenKey};
use common::*;
use ical::parser::ical::component::IcalCalendar;
use ical::property::Property;
use time::Duration;

fn parse(ics: &str) -> IcalCalendar {
    let mut p = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let cal = p.next().expect("one calendar").expect("parses");
    assert!(p.next().is_none());
    cal
}

fn prop<'a>(props: &'a [Property], name: &str) -> &'a Property {
    props
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn val(props: &[Property], name: &str) -> String {
    prop(props, name).value.clone().unwrap_or_default()
}

fn param(p: &Property, name: &str) -> Vec<String> {
    p.params
        .as_ref()
        .and_then(|ps| ps.iter().find(|(n, _)| n == name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn render_for(
    db: &Db,
    id: bridge_scheduler::MeetingId,
    unit: &str,
    method: Method,
    url: &str,
) -> String {
    let m = db.load_meeting(id).await.unwrap();
    let org = db.unit(&m.organizer).await.unwrap();
    let att = db.unit(&code(unit)).await.unwrap();
    render(
        method,
        &IcsInput {
            meeting: &m,
            organizer: &org,
            attendee: Some(&att),
            join_url: Some(url),
            mail_domain: "phutho.gov.vn",
            now: now(),
        },
    )
}

both_dbs!(ics_request_update_cancel_read_back, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let title = "Họp khẩn: ứng phó bão số 3, lũ quét; sạt lở đất tại các xã vùng cao huyện Tân Sơn và Thanh Sơn";
    let mut d = bridge_scheduler::MeetingDraft::urgent(
        title,
        code("25"),
        vec![unit_sel("07888")],
        now(),
        10,
        90,
    )
    .unwrap();
    d.agenda = vec![
        "Báo cáo tình hình, thiệt hại".into(),
        "Chỉ đạo; phân công\nnhiệm vụ".into(),
    ];
    d.location = "Hội trường A, UBND tỉnh".into();
    let out = db.create_meeting(&sec, d, now()).await.unwrap();
    let url = "https://bridge.phutho.gov.vn/join?t=abc.def-ghi_jkl";
    let ics = render_for(&db, out.meeting.id, "07888", Method::Request, url).await;

    // Wire format: CRLF everywhere, no physical line over 75 octets.
    assert!(ics.ends_with("\r\n"));
    for l in ics.split("\r\n") {
        assert!(l.len() <= 75, "line of {} octets: {l:?}", l.len());
        assert!(!l.contains('\n'));
    }
    assert!(ics.contains("\r\n "), "the long title must be folded");

    let cal = parse(&ics);
    assert_eq!(val(&cal.properties, "METHOD"), "REQUEST");
    assert_eq!(val(&cal.properties, "VERSION"), "2.0");
    assert_eq!(cal.timezones.len(), 1);
    let tz = &cal.timezones[0];
    assert_eq!(val(&tz.properties, "TZID"), "Asia/Ho_Chi_Minh");
    assert_eq!(val(&tz.transitions[0].properties, "TZOFFSETTO"), "+0700");
    assert_eq!(cal.events.len(), 1);
    let ev = &cal.events[0].properties;
    assert_eq!(val(ev, "UID"), format!("{}@bridge", out.meeting.id));
    assert_eq!(val(ev, "SEQUENCE"), "0");
    assert_eq!(val(ev, "PRIORITY"), "1");
    // now() is 08:00 in Hà Nội; +10 min, 90 min long.
    assert_eq!(val(ev, "DTSTART"), "20260302T081000");
    assert_eq!(param(prop(ev, "DTSTART"), "TZID"), vec!["Asia/Ho_Chi_Minh"]);
    assert_eq!(val(ev, "DTEND"), "20260302T094000");
    assert_eq!(val(ev, "DTSTAMP"), "20260302T010000Z");
    // Unfolded, still escaped as RFC 5545 TEXT requires (the parser does not unescape).
    assert_eq!(
        val(ev, "SUMMARY"),
        "Họp khẩn: ứng phó bão số 3\\, lũ quét\\; sạt lở đất tại các xã vùng cao huyện Tân Sơn và Thanh Sơn"
    );
    assert_eq!(val(ev, "LOCATION"), "Hội trường A\\, UBND tỉnh");
    assert_eq!(
        val(ev, "DESCRIPTION"),
        format!(
            "1. Báo cáo tình hình\\, thiệt hại\\n2. Chỉ đạo\\; phân công\\nnhiệm vụ\\nTham gia / Join: {url}"
        )
    );
    assert_eq!(val(ev, "URL"), url);
    let conf = prop(ev, "CONFERENCE");
    assert_eq!(conf.value.as_deref(), Some(url));
    assert_eq!(param(conf, "VALUE"), vec!["URI"]);
    let org = prop(ev, "ORGANIZER");
    assert_eq!(org.value.as_deref(), Some("mailto:unit-25@phutho.gov.vn"));
    assert_eq!(param(org, "CN"), vec!["Tỉnh Phú Thọ"]);
    assert_eq!(val(ev, "ATTENDEE"), "mailto:unit-07888@phutho.gov.vn");
    assert_eq!(val(ev, "STATUS"), "CONFIRMED");

    // An update raises SEQUENCE; a cancel sends METHOD:CANCEL with a higher one still.
    let mut d2 = bridge_scheduler::MeetingDraft::urgent(
        "Họp khẩn (dời)",
        code("25"),
        vec![unit_sel("07888")],
        now(),
        30,
        60,
    )
    .unwrap();
    d2.urgent = false;
    db.update_meeting(&sec, out.meeting.id, 0, d2, now())
        .await
        .unwrap();
    let cal = parse(&render_for(&db, out.meeting.id, "07888", Method::Request, url).await);
    let ev = &cal.events[0].properties;
    assert_eq!(val(ev, "SEQUENCE"), "1");
    assert_eq!(val(ev, "DTSTART"), "20260302T083000");
    assert!(ev.iter().all(|p| p.name != "PRIORITY"));
    db.cancel_meeting(&sec, out.meeting.id, 1, now())
        .await
        .unwrap();
    let cal = parse(&render_for(&db, out.meeting.id, "07888", Method::Cancel, url).await);
    assert_eq!(val(&cal.properties, "METHOD"), "CANCEL");
    let ev = &cal.events[0].properties;
    assert_eq!(val(ev, "SEQUENCE"), "2");
    assert_eq!(val(ev, "STATUS"), "CANCELLED");
    assert_eq!(val(ev, "UID"), format!("{}@bridge", out.meeting.id));
});

both_dbs!(ics_recurrence_rule_and_exdates, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let mut d = draft(
        "Giao ban đầu tháng",
        "25",
        vec![UnitSelector::ChildrenOf { code: code("25") }],
        6,
        2,
    );
    // First Monday of each month at 14:00 local, until end of June; skip April's.
    d.recurrence = Some(RecurrenceInput {
        rrule: "FREQ=MONTHLY;BYDAY=1MO;UNTIL=20260630".into(),
        exdates: vec![d.starts_at + Duration::days(35)],
    });
    let out = db.create_meeting(&sec, d, now()).await.unwrap();
    let v = db.meeting(&sec, out.meeting.id).await.unwrap();
    let dates: Vec<String> = v
        .occurrences
        .iter()
        .map(|o| {
            o.starts_at
                .to_offset(bridge_scheduler::meetings::VN_OFFSET)
                .date()
                .to_string()
        })
        .collect();
    assert_eq!(dates, vec!["2026-03-02", "2026-05-04", "2026-06-01"]);
    let cal = parse(&render_for(&db, out.meeting.id, "227", Method::Request, "https://x/j").await);
    let ev = &cal.events[0].properties;
    assert_eq!(
        val(ev, "RRULE"),
        "FREQ=MONTHLY;UNTIL=20260630T165959Z;BYDAY=1MO"
    );
    assert_eq!(val(ev, "EXDATE"), "20260406T140000");
    assert_eq!(param(prop(ev, "EXDATE"), "TZID"), vec!["Asia/Ho_Chi_Minh"]);
    assert!(ev.iter().all(|p| p.name != "PRIORITY"));
});

both_dbs!(join_tokens_are_scoped_and_time_bounded, |db| async move {
    phu_tho(&db).await;
    let key = TokenKey::from_secret(&[7u8; 32]);
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let out = db
        .create_meeting(
            &sec,
            draft("Họp", "25", vec![unit_sel("07888")], 4, 2),
            now(),
        )
        .await
        .unwrap();
    let id = out.meeting.id;
    let site = user(&db, "site.07888", Role::Site, Some("07888")).await;
    let t = db
        .join_ticket(&key, &site, id, &code("07888"), now())
        .await
        .unwrap();
    let start = out.meeting.starts_at;
    assert_eq!(t.not_before, start - JOIN_EARLY);
    assert_eq!(t.expires_at, out.meeting.ends_at + JOIN_GRACE);
    let secs = |d: time::OffsetDateTime| d.unix_timestamp() as u64;
    let room = format!("m-{id}");
    let c = key
        .verify(&t.token, Some(&room), secs(start - Duration::minutes(20)))
        .unwrap();
    assert_eq!(c.unit.as_deref(), Some("07888"));
    assert_eq!(c.role, JoinRole::Member);
    assert_eq!(c.name, "Phường Dữu Lâu");
    assert!(matches!(
        key.verify(&t.token, Some(&room), secs(start - Duration::hours(2))),
        Err(TokenError::NotYetValid)
    ));
    assert!(matches!(
        key.verify(
            &t.token,
            Some(&room),
            secs(out.meeting.ends_at + JOIN_GRACE + Duration::seconds(1))
        ),
        Err(TokenError::Expired)
    ));
    assert!(matches!(
        key.verify(&t.token, Some("u-07888"), secs(start)),
        Err(TokenError::WrongRoom { .. })
    ));
    // The organizer's hall chairs.
    let chair = db
        .join_ticket(&key, &sec, id, &code("25"), now())
        .await
        .unwrap();
    assert_eq!(
        key.verify(&chair.token, Some(&room), secs(start))
            .unwrap()
            .role,
        JoinRole::Chair
    );
    // Another unit's site may not take this unit's link, nor one for a meeting it is not in.
    let other = user(&db, "site.07894", Role::Site, Some("07894")).await;
    assert!(matches!(
        db.join_ticket(&key, &other, id, &code("07888"), now())
            .await,
        Err(SchedError::Forbidden(_))
    ));
    assert!(matches!(
        db.join_ticket(&key, &other, id, &code("07894"), now())
            .await,
        Err(SchedError::NotFound { .. })
    ));
});

//! Search of meetings on both databases: folded text, date range, unit, visibility,
//! paging.

mod common;

use bridge_scheduler::Role;
use bridge_scheduler::search::{MeetingSearch, SearchPage};
use common::*;
use time::{Date, Month};

fn titles(p: &SearchPage) -> Vec<&str> {
    p.items.iter().map(|h| h.title.as_str()).collect()
}

fn day(d: u8) -> Date {
    Date::from_calendar_date(2026, Month::March, d).unwrap()
}

both_dbs!(search_by_text_dates_unit_and_visibility, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let site = user(&db, "xa.07888", Role::Site, Some("07888")).await;
    // now() is 2026-03-02 08:00 in Hà Nội.
    let mut flood = draft(
        "Họp bàn phòng chống lũ",
        "25",
        vec![unit_sel("07888")],
        2,
        1,
    );
    flood.location = "Đoan Hùng".into();
    db.create_meeting(&sec, flood, now()).await.unwrap();
    let review = draft("Tổng kết nông nghiệp", "25", vec![unit_sel("07888")], 48, 1);
    db.create_meeting(&sec, review, now()).await.unwrap();
    let internal = draft("Tổng kết nội bộ", "25", vec![unit_sel("07894")], 48, 1);
    db.create_meeting(&sec, internal, now()).await.unwrap();

    let q = |text: &str| MeetingSearch {
        text: text.into(),
        ..Default::default()
    };
    // Accents, case and đ do not matter; location and agenda count.
    let p = db.search_meetings(&site, &q("TONG KET")).await.unwrap();
    assert_eq!(titles(&p), ["Tổng kết nông nghiệp"]);
    let p = db.search_meetings(&sec, &q("tong ket")).await.unwrap();
    assert_eq!(p.total, 2, "the secretary sees the internal one too");
    let p = db.search_meetings(&site, &q("doan hung")).await.unwrap();
    assert_eq!(titles(&p), ["Họp bàn phòng chống lũ"]);
    let p = db.search_meetings(&site, &q("thao luan")).await.unwrap();
    assert_eq!(p.total, 2);
    assert!(!p.truncated);

    // Days in Hà Nội, both ends included.
    let p = db
        .search_meetings(
            &site,
            &MeetingSearch {
                from: Some(day(2)),
                to: Some(day(2)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(titles(&p), ["Họp bàn phòng chống lũ"]);
    let p = db
        .search_meetings(
            &site,
            &MeetingSearch {
                from: Some(day(4)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(titles(&p), ["Tổng kết nông nghiệp"]);
    let reversed = MeetingSearch {
        from: Some(day(4)),
        to: Some(day(2)),
        ..Default::default()
    };
    assert!(db.search_meetings(&site, &reversed).await.is_err());

    // A unit: meetings it organizes or is invited to.
    let p = db
        .search_meetings(
            &sec,
            &MeetingSearch {
                unit: Some(code("07894")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(titles(&p), ["Tổng kết nội bộ"]);

    // Newest first, paged.
    let p = db
        .search_meetings(
            &site,
            &MeetingSearch {
                page: 2,
                per_page: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.total, 2);
    assert_eq!(titles(&p), ["Họp bàn phòng chống lũ"]);
});

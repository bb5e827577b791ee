mod common;

use bridge_scheduler::meetings::{Acknowledged, MAX_AGENDA_BYTES};
use bridge_scheduler::units::UnitSelector;
use bridge_scheduler::{MeetingDraft, RecurrenceInput, Role, SchedError};
use common::*;
use time::Duration;

both_dbs!(
    create_expands_selection_and_lists_upcoming,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let sel = vec![
            UnitSelector::ChildrenOf { code: code("25") },
            UnitSelector::DescendantsAtLevel {
                code: code("227"),
                level: 3,
            },
        ];
        let out = db
            .create_meeting(&sec, draft("Giao ban tháng 3", "25", sel, 2, 2), now())
            .await
            .unwrap();
        let communes_vt = db.unit_children(Some(&code("227"))).await.unwrap().len();
        // 13 districts + communes of Việt Trì + the organizer (the province) itself.
        assert_eq!(out.invited, 13 + communes_vt + 1);
        assert_eq!(out.meeting.version, 0);
        assert!(out.conflicts.is_empty());
        let view = db.meeting(&sec, out.meeting.id).await.unwrap();
        assert_eq!(view.invitations.len(), out.invited);
        assert_eq!(view.meeting.agenda, vec!["Khai mạc", "Thảo luận"]);
        assert_eq!(view.meeting.starts_at, now() + Duration::hours(2));

        let site = user(&db, "xa.07888", Role::Site, Some("07888")).await;
        let up = db
            .upcoming_for_unit(&site, &code("07888"), now(), 10)
            .await
            .unwrap();
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].title, "Giao ban tháng 3");
        assert_eq!(up[0].room.0, format!("m-{}", out.meeting.id));
        assert!(!up[0].acknowledged);
        // After the end it is no longer upcoming.
        let later = now() + Duration::hours(5);
        assert!(
            db.upcoming_for_unit(&site, &code("07888"), later, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both_dbs!(bad_input_is_refused_and_nothing_stored, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let mut d = draft("Họp", "25", vec![unit_sel("227")], 2, 1);
    d.ends_at = d.starts_at - Duration::minutes(1);
    let e = db.create_meeting(&sec, d, now()).await.unwrap_err();
    assert!(
        matches!(e, SchedError::Invalid { field: "end", .. }),
        "{e:?}"
    );

    let d = draft(
        "Họp",
        "25",
        vec![unit_sel("227"), unit_sel("99999"), unit_sel("88888")],
        2,
        1,
    );
    let e = db.create_meeting(&sec, d, now()).await.unwrap_err();
    assert!(
        matches!(e, SchedError::UnknownUnits(ref c) if c == &["88888", "99999"]),
        "{e:?}"
    );

    let mut d = draft("Họp", "25", vec![unit_sel("227")], 2, 1);
    d.agenda = vec!["x".repeat(10 * 1024 * 1024)];
    let e = db.create_meeting(&sec, d, now()).await.unwrap_err();
    assert!(
        matches!(e, SchedError::TooLarge { what: "agenda", limit: MAX_AGENDA_BYTES, size } if size == 10 * 1024 * 1024),
        "{e:?}"
    );
    let e = db
        .create_meeting(&sec, draft("  ", "25", vec![unit_sel("227")], 2, 1), now())
        .await
        .unwrap_err();
    assert!(matches!(e, SchedError::Invalid { field: "title", .. }));
    assert!(
        db.upcoming_for_unit(&sec, &code("25"), now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
});

both_dbs!(sql_metacharacters_are_stored_literally, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let nasty = "Họp'; DROP TABLE meetings; -- \"x\" % _ \\ $1 ?";
    let mut d = draft(nasty, "25", vec![unit_sel("227")], 2, 1);
    d.agenda = vec![nasty.into(), "Robert'); DELETE FROM units;--".into()];
    d.location = "Phòng 1' OR '1'='1".into();
    let out = db.create_meeting(&sec, d, now()).await.unwrap();
    let m = db.meeting(&sec, out.meeting.id).await.unwrap().meeting;
    assert_eq!(m.title, nasty);
    assert_eq!(m.agenda[1], "Robert'); DELETE FROM units;--");
    assert_eq!(m.location, "Phòng 1' OR '1'='1");
    assert_eq!(db.unit_count().await.unwrap(), 221);
    // LIKE wildcards in a search are literal too.
    assert!(db.search_units("%", 10).await.unwrap().is_empty());
});

both_dbs!(
    concurrent_edits_second_gets_conflict_nothing_lost,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let out = db
            .create_meeting(
                &sec,
                draft("Bản đầu", "25", vec![unit_sel("227")], 2, 1),
                now(),
            )
            .await
            .unwrap();
        let id = out.meeting.id;
        let (a, b) = {
            let (db1, db2, s1, s2) = (db.clone(), db.clone(), sec.clone(), sec.clone());
            let t1 = tokio::spawn(async move {
                db1.update_meeting(
                    &s1,
                    id,
                    0,
                    draft("Sửa A", "25", vec![unit_sel("227")], 3, 1),
                    now(),
                )
                .await
            });
            let t2 = tokio::spawn(async move {
                db2.update_meeting(
                    &s2,
                    id,
                    0,
                    draft("Sửa B", "25", vec![unit_sel("228")], 4, 1),
                    now(),
                )
                .await
            });
            (t1.await.unwrap(), t2.await.unwrap())
        };
        let (winner, loser) = match (&a, &b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            _ => panic!("exactly one update must win: {a:?} / {b:?}"),
        };
        assert!(
            matches!(
                loser,
                SchedError::Conflict {
                    expected: 0,
                    current: 1
                }
            ),
            "{loser:?}"
        );
        let stored = db.meeting(&sec, id).await.unwrap();
        assert_eq!(stored.meeting.version, 1);
        assert_eq!(stored.meeting.title, winner.meeting.title);
        assert_eq!(stored.meeting.starts_at, winner.meeting.starts_at);
        // The winner's invitations are intact (organizer + its one unit).
        assert_eq!(stored.invitations.len(), 2);
        // A stale cancel is refused as well; a current one works.
        assert!(matches!(
            db.cancel_meeting(&sec, id, 0, now()).await,
            Err(SchedError::Conflict { .. })
        ));
        let c = db.cancel_meeting(&sec, id, 1, now()).await.unwrap();
        assert!(c.cancelled);
        assert_eq!(c.version, 2);
        assert!(
            db.upcoming_for_unit(&sec, &code("25"), now(), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

both_dbs!(
    overlapping_booking_is_reported_as_warning,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let first = db
            .create_meeting(
                &sec,
                draft("Họp A", "227", vec![unit_sel("07888")], 2, 2),
                now(),
            )
            .await
            .unwrap();
        // Overlaps by an hour on 07888; 228 is free.
        let second = db
            .create_meeting(
                &sec,
                draft("Họp B", "228", vec![unit_sel("07888")], 3, 2),
                now(),
            )
            .await
            .unwrap();
        assert_eq!(second.conflicts.len(), 1);
        assert_eq!(second.conflicts[0].unit, code("07888"));
        assert_eq!(second.conflicts[0].other_meeting, first.meeting.id);
        // Back to back is not a conflict.
        let third = db
            .create_meeting(
                &sec,
                draft("Họp C", "230", vec![unit_sel("07888")], 5, 1),
                now(),
            )
            .await
            .unwrap();
        assert!(third.conflicts.is_empty(), "{:?}", third.conflicts);
        // Moving it onto B makes it one.
        let moved = db
            .update_meeting(
                &sec,
                third.meeting.id,
                0,
                draft("Họp C", "230", vec![unit_sel("07888")], 4, 1),
                now(),
            )
            .await
            .unwrap();
        assert_eq!(moved.conflicts.len(), 1);
        assert_eq!(moved.conflicts[0].other_meeting, second.meeting.id);
    }
);

both_dbs!(urgent_session_and_acknowledgements, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let communes = db.unit_children(Some(&code("227"))).await.unwrap();
    let three: Vec<UnitSelector> = communes[..3]
        .iter()
        .map(|u| UnitSelector::Unit {
            code: u.code.clone(),
        })
        .collect();
    let d =
        MeetingDraft::urgent("Họp khẩn phòng chống lũ", code("25"), three, now(), 5, 60).unwrap();
    let out = db.create_meeting(&sec, d, now()).await.unwrap();
    assert!(out.meeting.urgent);
    assert_eq!(out.meeting.starts_at, now() + Duration::minutes(5));
    assert!(MeetingDraft::urgent("x", code("25"), vec![], now(), 600, 60).is_err());

    let c0 = communes[0].code.clone();
    let site0 = user(&db, "site0", Role::Site, Some(c0.as_str())).await;
    assert_eq!(
        db.acknowledge(&site0, out.meeting.id, &c0, now())
            .await
            .unwrap(),
        Acknowledged::Now
    );
    assert_eq!(
        db.acknowledge(&site0, out.meeting.id, &c0, now())
            .await
            .unwrap(),
        Acknowledged::Already
    );
    // Acknowledging for another unit is forbidden and changes nothing.
    let c1 = communes[1].code.clone();
    assert!(matches!(
        db.acknowledge(&site0, out.meeting.id, &c1, now()).await,
        Err(SchedError::Forbidden(_))
    ));
    let view = db.meeting(&sec, out.meeting.id).await.unwrap();
    let acked: Vec<_> = view
        .invitations
        .iter()
        .filter(|i| i.acknowledged_at.is_some())
        .map(|i| i.unit.clone())
        .collect();
    // The organizer's own invitation is acknowledged by the secretary who called it.
    assert_eq!(acked.len(), 2);
    assert!(acked.contains(&c0) && acked.contains(&code("25")));
    let org = view
        .invitations
        .iter()
        .find(|i| i.unit == code("25"))
        .unwrap();
    assert_eq!(org.acknowledged_by, Some(sec.user_id));
    assert_eq!(
        view.invitations
            .iter()
            .find(|i| i.unit == c0)
            .unwrap()
            .acknowledged_by,
        Some(site0.user_id)
    );
    let up = db.upcoming_for_unit(&site0, &c0, now(), 5).await.unwrap();
    assert!(up[0].urgent && up[0].acknowledged);

    // An update keeps acknowledgements of units still invited.
    let mut d2 = MeetingDraft::urgent(
        "Họp khẩn (dời 10 phút)",
        code("25"),
        vec![UnitSelector::Unit { code: c0.clone() }],
        now(),
        15,
        60,
    )
    .unwrap();
    d2.location = "Trực tuyến".into();
    db.update_meeting(&sec, out.meeting.id, 0, d2, now())
        .await
        .unwrap();
    let view = db.meeting(&sec, out.meeting.id).await.unwrap();
    assert_eq!(view.invitations.len(), 2);
    assert!(
        view.invitations
            .iter()
            .find(|i| i.unit == c0)
            .unwrap()
            .acknowledged_at
            .is_some()
    );
});

both_dbs!(weekly_series_with_exception_is_expanded, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    // now() is Monday 08:00 local; series Mondays+Thursdays 14:00 local, 6 times, minus one.
    let mut d = draft("Giao ban", "25", vec![unit_sel("227")], 6, 1);
    let skip = d.starts_at + Duration::days(7);
    d.recurrence = Some(RecurrenceInput {
        rrule: "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6".into(),
        exdates: vec![skip],
    });
    let out = db.create_meeting(&sec, d, now()).await.unwrap();
    let view = db.meeting(&sec, out.meeting.id).await.unwrap();
    let days: Vec<i64> = view
        .occurrences
        .iter()
        .map(|o| (o.starts_at - out.meeting.starts_at).whole_days())
        .collect();
    assert_eq!(days, vec![0, 3, 10, 14, 17]);
    assert_eq!(
        out.meeting.recurrence.as_ref().unwrap().rrule,
        "FREQ=WEEKLY;COUNT=6;BYDAY=MO,TH"
    );
    // The site sees the next one once the first is over.
    let up = db
        .upcoming_unchecked(&code("227"), now() + Duration::days(1), 10)
        .await
        .unwrap();
    assert_eq!(up.len(), 4);
    assert_eq!(up[0].starts_at, out.meeting.starts_at + Duration::days(3));

    let mut bad = draft("Giao ban", "25", vec![unit_sel("227")], 6, 1);
    bad.recurrence = Some(RecurrenceInput {
        rrule: "FREQ=DAILY".into(),
        exdates: vec![],
    });
    assert!(matches!(
        db.create_meeting(&sec, bad, now()).await,
        Err(SchedError::Recurrence(_))
    ));
});

both_dbs!(week_view_lists_only_visible_meetings, |db| async move {
    phu_tho(&db).await;
    let tinh = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let vt = user(&db, "vp.viettri", Role::Secretary, Some("227")).await;
    let site = user(&db, "site.07888", Role::Site, Some("07888")).await;
    let chair = user(&db, "chu.tich", Role::Chair, Some("228")).await;
    let a = db
        .create_meeting(
            &tinh,
            draft("Tỉnh mời Việt Trì", "25", vec![unit_sel("227")], 2, 1),
            now(),
        )
        .await
        .unwrap();
    let b = db
        .create_meeting(
            &vt,
            draft("Việt Trì họp xã", "227", vec![unit_sel("07888")], 3, 1),
            now(),
        )
        .await
        .unwrap();
    let mut d = draft("Phú Thọ họp riêng", "228", vec![], 4, 1);
    d.chair = Some(chair.user_id);
    let c = db.create_meeting(&tinh, d, now()).await.unwrap();
    let week = |p| {
        let db = db.clone();
        async move {
            let mut v: Vec<String> = db
                .meetings_between(&p, now(), now() + Duration::days(7))
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.title)
                .collect();
            v.sort();
            v
        }
    };
    let all = vec![
        a.meeting.title.clone(),
        b.meeting.title.clone(),
        c.meeting.title.clone(),
    ];
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(week(tinh.clone()).await, sorted);
    assert_eq!(
        week(vt.clone()).await,
        vec![a.meeting.title.clone(), b.meeting.title.clone()]
    );
    assert_eq!(week(site.clone()).await, vec![b.meeting.title.clone()]);
    assert_eq!(week(chair.clone()).await, vec![c.meeting.title.clone()]);
    // Outside the window: nothing; oversized windows are refused.
    assert!(
        db.meetings_between(&tinh, now() + Duration::days(1), now() + Duration::days(8))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.meetings_between(&tinh, now(), now() + Duration::days(100))
            .await
            .is_err()
    );
});

both_dbs!(first_run_admin_is_created_once, |db| async move {
    let (name, pw) = db
        .ensure_first_admin(now())
        .await
        .unwrap()
        .expect("created");
    assert_eq!(name, "admin");
    assert_eq!(pw.len(), 16);
    let (_, u) = db.login("admin", &pw, now()).await.unwrap();
    assert_eq!(u.role, Role::Administrator);
    assert!(db.ensure_first_admin(now()).await.unwrap().is_none());
    assert_eq!(db.user_count().await.unwrap(), 1);
});

//! Minutes and conclusion notices in storage, on SQLite and PostgreSQL: pre-filled
//! drafts, versions and stale saves, numbering per issuer and year (also under
//! concurrent finalizations), read-only once final, task deadlines, who may do what,
//! and the units' task lists.

mod common;

use bridge_minutes::{DocNumber, TaskStatus};
use bridge_scheduler::minutes_store::{DocKind, DocState, MinutesError, NoticeTask};
use bridge_scheduler::{Db, MeetingId, Principal, Role, SchedError};
use common::*;
use time::{Date, Duration, Month};

/// A meeting of `organizer` inviting `units`, starting an hour after `now()`.
async fn meeting(db: &Db, by: &Principal, organizer: &str, units: &[&str]) -> MeetingId {
    let sel = units.iter().map(|u| unit_sel(u)).collect();
    let d = draft("Giao ban công tác tháng 3", organizer, sel, 1, 2);
    db.create_meeting(by, d, now()).await.unwrap().meeting.id
}

/// Saves the pre-filled minutes once (version 1) and returns that version.
async fn saved(db: &Db, by: &Principal, id: MeetingId) -> i64 {
    let rec = db.minutes(by, id).await.unwrap();
    db.save_minutes(by, id, rec.meta.version, rec.minutes, now())
        .await
        .unwrap()
        .meta
        .version
}

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn task(title: &str, lead: &str, support: &[&str], deadline: Date) -> NoticeTask {
    NoticeTask {
        id: None,
        title: title.into(),
        lead_unit: code(lead),
        supporting_units: support.iter().map(|s| code(s)).collect(),
        deadline,
        status: TaskStatus::Open,
    }
}

both_dbs!(draft_is_prefilled_and_saves_are_versions, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let id = meeting(&db, &sec, "25", &["227", "07888"]).await;

    let rec = db.minutes(&sec, id).await.unwrap();
    assert_eq!(rec.meta.version, 0);
    assert_eq!(rec.meta.state, DocState::Draft);
    assert!(rec.meta.can_edit);
    let m = rec.minutes;
    assert_eq!(m.meeting_title, "Giao ban công tác tháng 3");
    assert_eq!(m.location, "Hội trường UBND tỉnh");
    assert_eq!(m.issuer.name, "Ủy ban nhân dân tỉnh Phú Thọ");
    // The account is named by its login, not a person's name: nothing is made up for
    // the name (the document leaves a line for the pen), nor for the position.
    assert_eq!(m.secretary.full_name, "");
    assert_eq!(m.secretary.position, "");
    let sections: Vec<&str> = m.items.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(sections, ["Khai mạc", "Thảo luận"]);
    let names: Vec<&str> = m.attendees.iter().map(|a| a.unit_name.as_str()).collect();
    assert!(names.contains(&"Phường Dữu Lâu"), "{names:?}");
    assert!(names.contains(&"Thành phố Việt Trì"), "{names:?}");
    assert!(m.number.is_none());

    let mut edited = m.clone();
    edited.conclusions = vec!["Các đơn vị khẩn trương khắc phục hậu quả.".into()];
    // A number or date sent by the editor is not kept: only finalizing gives them.
    edited.number = Some(DocNumber {
        seq: 99,
        year: 2026,
    });
    let v1 = db
        .save_minutes(&sec, id, 0, edited.clone(), now())
        .await
        .unwrap();
    assert_eq!(v1.meta.version, 1);
    assert!(v1.minutes.number.is_none());
    edited
        .conclusions
        .push("Giao Sở Tài chính tổng hợp.".into());
    let v2 = db
        .save_minutes(&sec, id, 1, edited.clone(), now())
        .await
        .unwrap();
    assert_eq!(v2.meta.version, 2);
    assert_eq!(v2.minutes.conclusions.len(), 2);

    // Someone still on version 1 (or on the blank form) is told, and nothing changes.
    for stale in [0, 1] {
        match db.save_minutes(&sec, id, stale, m.clone(), now()).await {
            Err(MinutesError::Sched(SchedError::Conflict { expected, current })) => {
                assert_eq!((expected, current), (stale, 2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
    assert_eq!(
        db.minutes(&sec, id)
            .await
            .unwrap()
            .minutes
            .conclusions
            .len(),
        2
    );

    let versions = db.doc_versions(&sec, id, DocKind::Minutes).await.unwrap();
    let numbers: Vec<i64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [2, 1]);
    assert_eq!(versions[0].author, "vp.tinh");
    let first = db.doc_version(&sec, id, DocKind::Minutes, 1).await.unwrap();
    assert_eq!(first["conclusions"].as_array().unwrap().len(), 1);
    assert!(matches!(
        db.doc_version(&sec, id, DocKind::Minutes, 7).await,
        Err(MinutesError::Sched(SchedError::NotFound { .. }))
    ));
});

both_dbs!(numbers_run_per_issuer_kind_and_year, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let sec_vt = user(&db, "vp.viettri", Role::Secretary, Some("227")).await;
    let later = now() + Duration::days(2);
    let mut got = Vec::new();
    for _ in 0..2 {
        let id = meeting(&db, &sec, "25", &["227"]).await;
        let v = saved(&db, &sec, id).await;
        let rec = db.finalize_minutes(&sec, id, v, later).await.unwrap();
        assert_eq!(rec.meta.state, DocState::Final);
        assert!(!rec.meta.can_edit);
        assert_eq!(rec.meta.finalized_by.as_deref(), Some("vp.tinh"));
        assert_eq!(rec.minutes.number, rec.meta.number);
        assert_eq!(rec.minutes.signed_date, Some(day(2026, 3, 4)));
        got.push(rec.meta.number.unwrap());
    }
    assert_eq!(
        got,
        [
            DocNumber { seq: 1, year: 2026 },
            DocNumber { seq: 2, year: 2026 }
        ]
    );

    // Another issuing unit has its own register.
    let id = meeting(&db, &sec_vt, "227", &["07888"]).await;
    let v = saved(&db, &sec_vt, id).await;
    let rec = db.finalize_minutes(&sec_vt, id, v, later).await.unwrap();
    assert_eq!(rec.meta.number, Some(DocNumber { seq: 1, year: 2026 }));

    // The notice has its own register too (…/TB-…).
    let id = meeting(&db, &sec, "25", &["227"]).await;
    let n = db.notice(&sec, id).await.unwrap();
    let n = db.save_notice(&sec, id, 0, n.doc, now()).await.unwrap();
    let n = db
        .finalize_notice(&sec, id, n.meta.version, later)
        .await
        .unwrap();
    assert_eq!(n.meta.number, Some(DocNumber { seq: 1, year: 2026 }));

    // A new year starts again at 1 (2027-01-01 00:30 in Hà Nội is still 2026 in UTC).
    let new_year = time::macros::datetime!(2026-12-31 17:30 UTC);
    let id = meeting(&db, &sec, "25", &["227"]).await;
    let v = saved(&db, &sec, id).await;
    let rec = db.finalize_minutes(&sec, id, v, new_year).await.unwrap();
    assert_eq!(rec.meta.number, Some(DocNumber { seq: 1, year: 2027 }));
    assert_eq!(rec.minutes.signed_date, Some(day(2027, 1, 1)));
});

both_dbs!(
    concurrent_finalizations_get_distinct_numbers,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let mut ready = Vec::new();
        for _ in 0..6 {
            let id = meeting(&db, &sec, "25", &["227"]).await;
            ready.push((id, saved(&db, &sec, id).await));
        }
        let tasks: Vec<_> = ready
            .into_iter()
            .map(|(id, v)| {
                let (db, sec) = (db.clone(), sec.clone());
                tokio::spawn(async move { db.finalize_minutes(&sec, id, v, now()).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().unwrap().meta.number.unwrap().seq);
        }
        seqs.sort();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    }
);

both_dbs!(
    final_is_read_only_and_finalizing_twice_is_refused,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        let id = meeting(&db, &sec, "25", &["227"]).await;
        // Nothing saved yet: nothing to finalize.
        assert!(matches!(
            db.finalize_minutes(&sec, id, 0, now()).await,
            Err(MinutesError::Sched(SchedError::Invalid { .. }))
        ));
        let v = saved(&db, &sec, id).await;
        let rec = db.finalize_minutes(&sec, id, v, now()).await.unwrap();
        let e = db
            .finalize_minutes(&sec, id, rec.meta.version, now())
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                MinutesError::AlreadyFinal {
                    seq: 1,
                    year: 2026,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("already final"), "{e}");
        let e = db
            .save_minutes(&sec, id, rec.meta.version, rec.minutes.clone(), now())
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                MinutesError::ReadOnly {
                    kind: DocKind::Minutes
                }
            ),
            "{e:?}"
        );
        // An editor on an older version hears the same: it is final, not a conflict.
        let e = db
            .save_minutes(&sec, id, 1, rec.minutes.clone(), now())
            .await
            .unwrap_err();
        assert!(matches!(e, MinutesError::ReadOnly { .. }), "{e:?}");
        let after = db.minutes(&sec, id).await.unwrap();
        assert_eq!(after.minutes, rec.minutes);
        assert_eq!(after.meta.version, rec.meta.version);
    }
);

both_dbs!(task_deadlines_and_units_are_checked, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let id = meeting(&db, &sec, "25", &["227", "07888"]).await;
    let mut doc = db.notice(&sec, id).await.unwrap().doc;
    // The meeting is on 2026-03-02 (Hà Nội); a task due the day before is refused.
    doc.tasks = vec![
        task("Báo cáo thiệt hại", "227", &["07888"], day(2026, 3, 31)),
        task("Sửa chữa trường học", "07888", &[], day(2026, 3, 1)),
    ];
    match db.save_notice(&sec, id, 0, doc.clone(), now()).await {
        Err(e @ MinutesError::DeadlineBeforeMeeting { position: 2, .. }) => {
            assert!(e.to_string().contains("before the meeting"), "{e}")
        }
        other => panic!("expected a deadline error, got {other:?}"),
    }
    doc.tasks[1].deadline = day(2026, 3, 2);
    doc.tasks[1].lead_unit = code("99999");
    assert!(matches!(
        db.save_notice(&sec, id, 0, doc.clone(), now()).await,
        Err(MinutesError::Sched(SchedError::UnknownUnits(_)))
    ));
    assert_eq!(
        db.notice(&sec, id).await.unwrap().meta.version,
        0,
        "nothing saved"
    );
    doc.tasks[1].lead_unit = code("07888");
    let rec = db.save_notice(&sec, id, 0, doc, now()).await.unwrap();
    assert_eq!(rec.doc.tasks.len(), 2);
    assert!(rec.doc.tasks.iter().all(|t| t.id.is_some()));
    // Rendering gets the units' names.
    let (_, notice) = db.notice_for_render(&sec, id).await.unwrap();
    assert_eq!(notice.tasks[0].lead_unit, "Thành phố Việt Trì");
    assert_eq!(notice.tasks[0].supporting_units, ["Phường Dữu Lâu"]);
});

both_dbs!(only_the_chair_and_the_office_edit, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let sec_vt = user(&db, "vp.viettri", Role::Secretary, Some("227")).await;
    let chair = user(&db, "ct.tinh", Role::Chair, Some("25")).await;
    let site = user(&db, "site.07888", Role::Site, Some("07888")).await;
    let outsider = user(&db, "site.07894", Role::Site, Some("07894")).await;
    let mut d = draft(
        "Họp chuyên đề",
        "25",
        vec![unit_sel("227"), unit_sel("07888")],
        1,
        1,
    );
    d.chair = Some(chair.user_id);
    let id = db.create_meeting(&sec, d, now()).await.unwrap().meeting.id;

    // Invited units read a draft only once it is shared; they never write.
    assert!(matches!(
        db.minutes(&site, id).await,
        Err(MinutesError::DraftNotShared {
            kind: DocKind::Minutes
        })
    ));
    assert!(matches!(
        db.doc_versions(&site, id, DocKind::Minutes).await,
        Err(MinutesError::DraftNotShared { .. })
    ));
    assert!(matches!(
        db.share_draft(&site, id, DocKind::Minutes, true, now())
            .await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
    assert!(
        db.share_draft(&sec, id, DocKind::Minutes, true, now())
            .await
            .unwrap()
    );
    let rec = db.minutes(&site, id).await.unwrap();
    assert!(rec.meta.shared);
    assert!(!rec.meta.can_edit);
    for who in [&site, &sec_vt] {
        assert!(matches!(
            db.save_minutes(who, id, 0, rec.minutes.clone(), now())
                .await,
            Err(MinutesError::Sched(SchedError::Forbidden(_)))
        ));
    }
    // A unit that is not invited does not even read.
    assert!(matches!(
        db.minutes(&outsider, id).await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
    assert!(matches!(
        db.doc_versions(&outsider, id, DocKind::Minutes).await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
    // The meeting's chair writes and finalizes.
    let rec = db.minutes(&chair, id).await.unwrap();
    assert!(rec.meta.can_edit);
    // "ct.tinh" is a login, not a person: the name is left for the pen.
    assert_eq!(rec.minutes.chair.full_name, "");
    let v = db
        .save_minutes(&chair, id, 0, rec.minutes, now())
        .await
        .unwrap();
    assert!(matches!(
        db.finalize_minutes(&site, id, v.meta.version, now()).await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
    let fin = db
        .finalize_minutes(&chair, id, v.meta.version, now())
        .await
        .unwrap();
    assert_eq!(fin.meta.finalized_by.as_deref(), Some("ct.tinh"));
});

both_dbs!(units_track_their_tasks, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let vt = user(&db, "site.227", Role::Site, Some("227")).await;
    let site = user(&db, "site.07888", Role::Site, Some("07888")).await;
    let id = meeting(&db, &sec, "25", &["227", "07888"]).await;
    let mut doc = db.notice(&sec, id).await.unwrap().doc;
    doc.tasks = vec![
        task("Báo cáo thiệt hại", "227", &["07888"], day(2026, 3, 10)),
        task("Sửa chữa trường học", "07888", &[], day(2026, 3, 31)),
    ];
    let rec = db.save_notice(&sec, id, 0, doc, now()).await.unwrap();
    let today = day(2026, 3, 12);
    // Not on dashboards before the notice is issued.
    assert!(
        db.unit_tasks(&vt, &code("227"), today)
            .await
            .unwrap()
            .is_empty()
    );
    let task_id = rec.doc.tasks[0].id.unwrap();
    assert!(matches!(
        db.set_task_status(&vt, task_id, TaskStatus::Done, now(), today)
            .await,
        Err(MinutesError::Sched(SchedError::Invalid { .. }))
    ));
    let fin = db
        .finalize_notice(&sec, id, rec.meta.version, now())
        .await
        .unwrap();
    let num = fin.meta.number;

    let mine = db.unit_tasks(&site, &code("07888"), today).await.unwrap();
    assert_eq!(mine.len(), 2);
    // Soonest deadline first: the overdue one it supports, then its own.
    assert_eq!(mine[0].title, "Báo cáo thiệt hại");
    assert!(!mine[0].lead && mine[0].overdue);
    assert_eq!(mine[0].lead_unit_name, "Thành phố Việt Trì");
    assert_eq!(mine[0].notice_number, num);
    assert!(mine[1].lead && !mine[1].overdue);
    // Another unit's list is not its business.
    assert!(matches!(
        db.unit_tasks(&site, &code("227"), today).await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));

    // Only the lead unit moves its task on; done is never overdue.
    assert!(matches!(
        db.set_task_status(&site, task_id, TaskStatus::Done, now(), today)
            .await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
    let t = db
        .set_task_status(&vt, task_id, TaskStatus::InProgress, now(), today)
        .await
        .unwrap();
    assert_eq!(t.status, TaskStatus::InProgress);
    assert!(t.overdue);
    let table = db
        .task_status_table(&sec, &code("25"), today)
        .await
        .unwrap();
    let row = |c: &str| table.iter().find(|r| r.unit.as_str() == c).unwrap().clone();
    assert_eq!((row("227").overdue, row("227").done), (1, 0));
    assert_eq!((row("07888").open, row("07888").overdue), (1, 0));
    let t = db
        .set_task_status(&vt, task_id, TaskStatus::Done, now(), today)
        .await
        .unwrap();
    assert!(!t.overdue);
    let table = db
        .task_status_table(&sec, &code("25"), today)
        .await
        .unwrap();
    let done = table.iter().find(|r| r.unit.as_str() == "227").unwrap();
    assert_eq!((done.done, done.overdue), (1, 0));
    // The notice shows the current status; the status table is the office's.
    let n = db.notice(&site, id).await.unwrap();
    assert_eq!(n.doc.tasks[0].status, TaskStatus::Done);
    assert!(matches!(
        db.task_status_table(&site, &code("07888"), today).await,
        Err(MinutesError::Sched(SchedError::Forbidden(_)))
    ));
});

both_dbs!(the_draft_lists_who_the_bridge_saw, |db| async move {
    use bridge_scheduler::attendance::JoinRecord;
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let id = meeting(&db, &sec, "25", &["227", "07888"]).await;
    let room = id.room().0;
    let (start, end) = (now() + Duration::hours(1), now() + Duration::hours(3));
    db.attendance_room_opened(&room, start).await.unwrap();
    let join = JoinRecord {
        room: &room,
        participant: "p1",
        name: "Phường Dữu Lâu",
        unit: Some("07888"),
        role: "member",
    };
    db.attendance_joined(&join, start + Duration::minutes(2))
        .await
        .unwrap();
    db.attendance_left(
        &room,
        "p1",
        std::time::Duration::from_secs(60),
        start + Duration::minutes(50),
    )
    .await
    .unwrap();
    db.attendance_room_closed(&room, end).await.unwrap();

    let m = db.minutes(&sec, id).await.unwrap().minutes;
    let ward = m
        .attendees
        .iter()
        .find(|a| a.unit_name == "Phường Dữu Lâu")
        .unwrap();
    assert!(ward.present);
    assert_eq!(
        ward.joined,
        [(start + Duration::minutes(2), start + Duration::minutes(50))]
    );
    let city = m
        .attendees
        .iter()
        .find(|a| a.unit_name == "Thành phố Việt Trì")
        .unwrap();
    assert!(!city.present && city.joined.is_empty());
});

both_dbs!(limits_are_refused_and_nothing_stored, |db| async move {
    use bridge_scheduler::minutes_store::{MAX_BODY_BYTES, MAX_TASKS};
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let id = meeting(&db, &sec, "25", &["227"]).await;
    let mut m = db.minutes(&sec, id).await.unwrap().minutes;
    m.conclusions = vec!["Kết luận rất dài. ".repeat(MAX_BODY_BYTES / 10)];
    match db.save_minutes(&sec, id, 0, m, now()).await {
        Err(MinutesError::Sched(SchedError::TooLarge { limit, .. })) => {
            assert_eq!(limit, MAX_BODY_BYTES)
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut doc = db.notice(&sec, id).await.unwrap().doc;
    doc.tasks = (0..=MAX_TASKS)
        .map(|i| task(&format!("Nhiệm vụ {i}"), "227", &[], day(2026, 4, 1)))
        .collect();
    assert!(matches!(
        db.save_notice(&sec, id, 0, doc.clone(), now()).await,
        Err(MinutesError::Sched(SchedError::Invalid {
            field: "tasks",
            ..
        }))
    ));
    doc.tasks.truncate(MAX_TASKS);
    assert_eq!(
        db.save_notice(&sec, id, 0, doc, now())
            .await
            .unwrap()
            .doc
            .tasks
            .len(),
        MAX_TASKS
    );
    assert!(
        db.doc_versions(&sec, id, DocKind::Minutes)
            .await
            .unwrap()
            .is_empty()
    );
});

//! Attendance recorded from room events and read back per meeting, on both databases.

mod common;

use std::time::Duration as StdDuration;

use bridge_scheduler::attendance::{JoinRecord, UnitAttendance, attendance_csv};
use bridge_scheduler::{Db, MeetingId, Role};
use common::*;
use time::{Duration, OffsetDateTime};

/// Seconds after the fixed `now()`.
fn t(s: i64) -> OffsetDateTime {
    now() + Duration::seconds(s)
}

/// A meeting of the province (25) inviting Việt Trì (227) and commune 07888.
async fn meeting(db: &Db) -> MeetingId {
    phu_tho(db).await;
    let sec = user(db, "vp.tinh", Role::Secretary, Some("25")).await;
    let sel = vec![unit_sel("227"), unit_sel("07888")];
    db.create_meeting(&sec, draft("Giao ban", "25", sel, 0, 2), now())
        .await
        .unwrap()
        .meeting
        .id
}

async fn join(db: &Db, room: &str, who: &str, unit: Option<&str>, at: i64) {
    let r = JoinRecord {
        room,
        participant: who,
        name: &format!("Hall {who}"),
        unit,
        role: "member",
    };
    db.attendance_joined(&r, t(at)).await.unwrap();
}

async fn leave(db: &Db, room: &str, who: &str, speaking: u64, at: i64) {
    db.attendance_left(room, who, StdDuration::from_secs(speaking), t(at))
        .await
        .unwrap();
}

fn of<'a>(rows: &'a [UnitAttendance], code: &str) -> &'a UnitAttendance {
    rows.iter().find(|r| r.unit.as_str() == code).unwrap()
}

fn spans(r: &UnitAttendance) -> Vec<(i64, i64)> {
    let base = now().unix_timestamp();
    r.periods
        .iter()
        .map(|p| {
            (
                p.joined_at.unix_timestamp() - base,
                p.left_at.unix_timestamp() - base,
            )
        })
        .collect()
}

both_dbs!(leave_and_rejoin_gives_two_periods, |db| async move {
    let id = meeting(&db).await;
    let room = id.room().0;
    db.attendance_room_opened(&room, t(0)).await.unwrap();
    join(&db, &room, "p1", Some("07888"), 0).await;
    leave(&db, &room, "p1", 12, 600).await;
    join(&db, &room, "p2", Some("07888"), 900).await;
    leave(&db, &room, "p2", 3, 1200).await;
    db.attendance_room_closed(&room, t(1200)).await.unwrap();

    let rows = db.meeting_attendance_at(id, t(5000)).await.unwrap();
    let a = of(&rows, "07888");
    assert!(a.present);
    assert_eq!(spans(a), [(0, 600), (900, 1200)]);
    assert_eq!(a.connected_seconds, 900);
    assert_eq!(a.speaking_seconds, 15);
    assert_eq!(a.participants, ["Hall p1", "Hall p2"]);
    assert!(a.periods.iter().all(|p| !p.ongoing));
});

both_dbs!(overlapping_sessions_of_one_unit_merge, |db| async move {
    let id = meeting(&db).await;
    let room = id.room().0;
    db.attendance_room_opened(&room, t(0)).await.unwrap();
    // Two PCs of one hall, overlapping.
    join(&db, &room, "a", Some("227"), 10).await;
    join(&db, &room, "b", Some("227"), 100).await;
    leave(&db, &room, "a", 0, 200).await;
    leave(&db, &room, "b", 0, 300).await;
    let rows = db.meeting_attendance_at(id, t(400)).await.unwrap();
    assert_eq!(spans(of(&rows, "227")), [(10, 300)]);
    assert_eq!(of(&rows, "227").connected_seconds, 290);
});

both_dbs!(invited_units_never_seen_are_absent, |db| async move {
    let id = meeting(&db).await;
    let room = id.room().0;
    db.attendance_room_opened(&room, t(0)).await.unwrap();
    join(&db, &room, "x", Some("07888"), 0).await;
    let rows = db.meeting_attendance_at(id, t(60)).await.unwrap();
    // The organizer is invited too: 25, 227, 07888.
    assert_eq!(rows.len(), 3);
    let absent: Vec<&str> = rows
        .iter()
        .filter(|r| !r.present)
        .map(|r| r.unit.as_str())
        .collect();
    assert_eq!(absent, ["25", "227"]);
    assert!(of(&rows, "227").periods.is_empty());
    // Still connected: the period ends "now" and says so.
    let p = &of(&rows, "07888").periods[0];
    assert!(p.ongoing);
    assert_eq!(of(&rows, "07888").connected_seconds, 60);

    let csv = String::from_utf8(attendance_csv(&rows).unwrap()).unwrap();
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    assert!(csv.contains("Vắng"), "{csv}");
    assert!(csv.contains("Thành phố Việt Trì"), "{csv}");
});

both_dbs!(
    linked_unit_room_counts_only_while_meeting_open,
    |db| async move {
        let id = meeting(&db).await;
        let room = id.room().0;
        // Việt Trì's hall sits in its own room from -600 s to +3000 s, speaking 360 s; the
        // meeting room is open 0..1200 and again 1800..2400.
        join(&db, "u-227", "vt", None, -600).await;
        db.attendance_room_opened(&room, t(0)).await.unwrap();
        join(&db, &room, "chair", Some("25"), 0).await;
        leave(&db, &room, "chair", 0, 1200).await;
        db.attendance_room_closed(&room, t(1200)).await.unwrap();
        db.attendance_room_opened(&room, t(1800)).await.unwrap();
        join(&db, &room, "chair2", Some("25"), 1800).await;
        leave(&db, &room, "chair2", 0, 2400).await;
        db.attendance_room_closed(&room, t(2400)).await.unwrap();
        leave(&db, "u-227", "vt", 360, 3000).await;
        // Another unit's own room that is not invited: never counted.
        join(&db, "u-07894", "other", None, 0).await;

        let rows = db.meeting_attendance_at(id, t(4000)).await.unwrap();
        let vt = of(&rows, "227");
        assert!(vt.present);
        assert_eq!(spans(vt), [(0, 1200), (1800, 2400)]);
        assert_eq!(vt.connected_seconds, 1800);
        // 1800 of the 3600 s counted: half of the speaking time.
        assert_eq!(vt.speaking_seconds, 180);
        assert_eq!(rows.len(), 3);
    }
);

both_dbs!(
    unit_room_before_the_meeting_opened_is_not_presence,
    |db| async move {
        let id = meeting(&db).await;
        join(&db, "u-227", "vt", None, -600).await;
        leave(&db, "u-227", "vt", 0, -60).await;
        db.attendance_room_opened(&id.room().0, t(0)).await.unwrap();
        let rows = db.meeting_attendance_at(id, t(100)).await.unwrap();
        assert!(!of(&rows, "227").present);
    }
);

both_dbs!(
    periods_left_open_by_a_killed_server_close_at_last_heartbeat,
    |db| async move {
        let id = meeting(&db).await;
        let room = id.room().0;
        db.attendance_room_opened(&room, t(0)).await.unwrap();
        join(&db, &room, "p", Some("07888"), 0).await;
        db.attendance_heartbeat(t(60)).await.unwrap();
        db.attendance_heartbeat(t(120)).await.unwrap();
        // The server dies here; it restarts much later.
        assert_eq!(db.close_unfinished_attendance().await.unwrap(), 1);
        let rows = db.meeting_attendance_at(id, t(9999)).await.unwrap();
        let a = of(&rows, "07888");
        assert_eq!(spans(a), [(0, 120)]);
        assert!(!a.periods[0].ongoing);
        // Nothing left to close the second time.
        assert_eq!(db.close_unfinished_attendance().await.unwrap(), 0);
        // A leave arriving late for a closed period changes nothing.
        leave(&db, &room, "p", 5, 500).await;
        let again = db.meeting_attendance_at(id, t(9999)).await.unwrap();
        assert_eq!(spans(of(&again, "07888")), [(0, 120)]);
    }
);

both_dbs!(unknown_meeting_is_not_found, |db| async move {
    let err = db
        .meeting_attendance_at(MeetingId::new_random(), now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, bridge_scheduler::SchedError::NotFound { .. }),
        "{err}"
    );
});

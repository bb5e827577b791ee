//! Which unit rooms a conference may pull in (`Db::meeting_reaches`,
//! `Db::unit_is_below`), on both databases.

mod common;

use bridge_scheduler::Role;
use bridge_scheduler::units::UnitSelector;
use common::*;

both_dbs!(
    a_meeting_reaches_its_invited_units_and_what_lies_below_them,
    |db| async move {
        phu_tho(&db).await;
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        // Việt Trì (227) meets with one of its wards and another district's ward.
        let sel = vec![unit_sel("07888"), unit_sel("07942")];
        let m = db
            .create_meeting(&sec, draft("Giao ban", "227", sel, 1, 1), now())
            .await
            .unwrap()
            .meeting;
        // Invited, or below the organizer (invited too).
        for unit in ["227", "07888", "07894", "07900", "07942"] {
            assert!(
                db.meeting_reaches(m.id, &code(unit)).await.unwrap(),
                "{unit}"
            );
        }
        // Above, beside, or another district's ward that was not invited.
        for unit in ["25", "228", "07945", "nope"] {
            assert!(
                !db.meeting_reaches(m.id, &code(unit)).await.unwrap(),
                "{unit}"
            );
        }
        // Another meeting's invitations count for nothing here.
        let other = db
            .create_meeting(
                &sec,
                draft(
                    "Khác",
                    "228",
                    vec![UnitSelector::Subtree { code: code("228") }],
                    3,
                    1,
                ),
                now(),
            )
            .await
            .unwrap()
            .meeting;
        assert!(db.meeting_reaches(other.id, &code("07945")).await.unwrap());
        assert!(!db.meeting_reaches(m.id, &code("07945")).await.unwrap());
    }
);

both_dbs!(a_unit_reaches_what_lies_below_it_only, |db| async move {
    phu_tho(&db).await;
    for (above, below) in [("25", "227"), ("25", "07888"), ("227", "07888")] {
        assert!(
            db.unit_is_below(&code(above), &code(below)).await.unwrap(),
            "{below} below {above}"
        );
    }
    for (above, below) in [
        ("227", "227"),
        ("227", "25"),
        ("227", "07942"),
        ("07888", "07894"),
    ] {
        assert!(
            !db.unit_is_below(&code(above), &code(below)).await.unwrap(),
            "{below} not below {above}"
        );
    }
});

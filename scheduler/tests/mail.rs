//! Who receives invitation mail, on SQLite and PostgreSQL, and malformed addresses refused.
//! The MIME message itself is read back by independent parsers in the end-to-end test
//! (tests/tests/mail.rs).

mod common;

use bridge_scheduler::ical::{IcsInput, Method, render};
use bridge_scheduler::mail::{Invitation, invitation, mailbox};
use bridge_scheduler::{Role, SchedError};
use common::*;

both_dbs!(addresses_of_invited_units, |db| async move {
    phu_tho(&db).await;
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    for (name, unit) in [
        ("a.07888", "07888"),
        ("b.07888", "07888"),
        ("c.07894", "07894"),
    ] {
        user(&db, name, Role::Site, Some(unit)).await;
    }
    db.set_user_email("a.07888", Some("a@xa.gov.vn"))
        .await
        .unwrap();
    db.set_user_email("B.07888", Some("Văn thư <b@xa.gov.vn>"))
        .await
        .unwrap();
    // c.07894 has no address; a malformed one is refused and changes nothing.
    assert!(matches!(
        db.set_user_email("c.07894", Some("b@@x")).await,
        Err(SchedError::Invalid { .. })
    ));
    assert!(matches!(
        db.set_user_email("nobody", Some("n@x.vn")).await,
        Err(SchedError::NotFound { .. })
    ));
    let out = db
        .create_meeting(
            &sec,
            draft(
                "Họp",
                "25",
                vec![unit_sel("07888"), unit_sel("07894")],
                2,
                1,
            ),
            now(),
        )
        .await
        .unwrap();
    let got = db.invitation_addresses(out.meeting.id).await.unwrap();
    assert_eq!(
        got,
        vec![(
            code("07888"),
            vec!["a@xa.gov.vn".into(), "b@xa.gov.vn".into()]
        )]
    );
    assert!(db.unit_addresses(&code("07894")).await.unwrap().is_empty());

    // The message carries the calendar with its iTIP method.
    let organizer = db.unit(&code("25")).await.unwrap();
    let attendee = db.unit(&code("07888")).await.unwrap();
    let ics = render(
        Method::Request,
        &IcsInput {
            meeting: &out.meeting,
            organizer: &organizer,
            attendee: Some(&attendee),
            join_url: Some("https://bridge.test/r/m-x?t=abc"),
            mail_domain: "bridge.test",
            now: now(),
        },
    );
    let msg = invitation(
        &mailbox("Văn phòng <vp@phutho.gov.vn>").unwrap(),
        &[mailbox("a@xa.gov.vn").unwrap()],
        &Invitation {
            meeting: &out.meeting,
            organizer_name: &organizer.name,
            unit_name: &attendee.name,
            method: Method::Request,
            join_url: Some("https://bridge.test/r/m-x?t=abc"),
            ics,
        },
    )
    .unwrap();
    let raw = String::from_utf8(msg.formatted()).unwrap();
    assert!(
        raw.contains("text/calendar; charset=utf-8; method=REQUEST"),
        "{raw}"
    );
    assert!(raw.contains("To: a@xa.gov.vn"), "{raw}");
});

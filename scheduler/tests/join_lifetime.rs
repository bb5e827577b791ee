//! Join links and the server's maximum token lifetime: a link handed out weeks before
//! its meeting still admits during the meeting, and no link admits for longer than the
//! key's maximum, so the server never refuses a link the scheduler made.
mod common;

use bridge_scheduler::Role;
use bridge_token::{TokenKey, lifetime};
use common::*;
use time::Duration;

both_dbs!(
    a_link_issued_weeks_ahead_works_at_the_meeting,
    |db| async move {
        phu_tho(&db).await;
        let key = TokenKey::from_secret(&[7u8; 32]);
        let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        // Three weeks ahead: far past the default maximum of 7 days from now.
        let out = db
            .create_meeting(
                &sec,
                draft("Họp", "25", vec![unit_sel("07888")], 21 * 24, 2),
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
        let secs = |d: time::OffsetDateTime| d.unix_timestamp() as u64;
        let claims = key
            .verify(
                &t.token,
                Some(&format!("m-{id}")),
                secs(out.meeting.starts_at),
            )
            .expect("valid at the start of the meeting");
        assert_eq!(
            lifetime(&claims),
            3 * 3600,
            "the meeting and half an hour each side"
        );
        assert_eq!(t.expires_at, out.meeting.ends_at + Duration::minutes(30));
    }
);

both_dbs!(a_link_is_clamped_to_the_maximum, |db| async move {
    phu_tho(&db).await;
    // A server that allows links of 2 hours; the meeting lasts 4.
    let key =
        TokenKey::from_secret(&[7u8; 32]).with_max_lifetime(std::time::Duration::from_secs(7200));
    let sec = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let out = db
        .create_meeting(
            &sec,
            draft("Họp dài", "25", vec![unit_sel("07888")], 48, 4),
            now(),
        )
        .await
        .unwrap();
    let id = out.meeting.id;
    let t = db
        .join_ticket(&key, &sec, id, &code("07888"), now())
        .await
        .unwrap();
    let start = out.meeting.starts_at;
    assert_eq!(
        t.expires_at,
        start - Duration::minutes(30) + Duration::hours(2)
    );
    let secs = |d: time::OffsetDateTime| d.unix_timestamp() as u64;
    let claims = key
        .verify(&t.token, None, secs(start))
        .expect("the clamped link verifies");
    assert_eq!(lifetime(&claims), 7200);
});

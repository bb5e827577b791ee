//! Every authorization rule: a forbidden request gets `Forbidden` and changes nothing.
mod common;

use bridge_scheduler::authz::{self, MeetingFacts};
use bridge_scheduler::units::UnitSelector;
use bridge_scheduler::{Role, SchedError};
use common::*;
use time::Duration;

both_dbs!(
    district_secretary_invites_only_within_its_subtree,
    |db| async move {
        phu_tho(&db).await;
        let vt = user(&db, "vp.viettri", Role::Secretary, Some("227")).await;
        let own_commune = db.unit_children(Some(&code("227"))).await.unwrap()[0]
            .code
            .clone();
        // Inside its subtree: fine.
        let ok = db
            .create_meeting(
                &vt,
                draft(
                    "Họp thành phố",
                    "227",
                    vec![unit_sel(own_commune.as_str())],
                    2,
                    1,
                ),
                now(),
            )
            .await
            .unwrap();
        // Inviting a unit of another district: forbidden, nothing stored.
        let e = db
            .create_meeting(&vt, draft("Họp", "227", vec![unit_sel("228")], 2, 1), now())
            .await
            .unwrap_err();
        assert!(
            matches!(e, SchedError::Forbidden(ref m) if m.contains("228")),
            "{e:?}"
        );
        // Inviting the whole province (its parent): forbidden too.
        let e = db
            .create_meeting(
                &vt,
                draft(
                    "Họp",
                    "227",
                    vec![UnitSelector::ChildrenOf { code: code("25") }],
                    2,
                    1,
                ),
                now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SchedError::Forbidden(_)));
        // Organizing on behalf of the province: forbidden.
        let e = db
            .create_meeting(
                &vt,
                draft("Họp", "25", vec![unit_sel(own_commune.as_str())], 2, 1),
                now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SchedError::Forbidden(_)));
        assert!(
            db.upcoming_unchecked(&code("228"), now(), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            db.upcoming_unchecked(&code("227"), now(), 10)
                .await
                .unwrap()
                .len(),
            1
        );

        // Editing to add an outside unit is refused and the stored meeting is unchanged.
        let e = db
            .update_meeting(
                &vt,
                ok.meeting.id,
                0,
                draft("Đổi", "227", vec![unit_sel("228")], 2, 1),
                now(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, SchedError::Forbidden(_)));
        let m = db.load_meeting(ok.meeting.id).await.unwrap();
        assert_eq!((m.title.as_str(), m.version), ("Họp thành phố", 0));

        // The province secretary may do all of it.
        let tinh = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
        db.create_meeting(
            &tinh,
            draft(
                "Toàn tỉnh",
                "25",
                vec![UnitSelector::Subtree { code: code("25") }],
                2,
                1,
            ),
            now(),
        )
        .await
        .unwrap();
    }
);

both_dbs!(units_see_only_their_meetings, |db| async move {
    phu_tho(&db).await;
    let tinh = user(&db, "vp.tinh", Role::Secretary, Some("25")).await;
    let out = db
        .create_meeting(
            &tinh,
            draft("Chỉ Việt Trì", "227", vec![unit_sel("07888")], 2, 1),
            now(),
        )
        .await
        .unwrap();
    let invited = user(&db, "site.07888", Role::Site, Some("07888")).await;
    let organizer_site = user(&db, "site.227", Role::Site, Some("227")).await;
    let outsider = user(&db, "site.07894", Role::Site, Some("07894")).await;
    let other_sec = user(&db, "vp.phutho", Role::Secretary, Some("228")).await;
    assert!(db.meeting(&invited, out.meeting.id).await.is_ok());
    assert!(db.meeting(&organizer_site, out.meeting.id).await.is_ok());
    assert!(matches!(
        db.meeting(&outsider, out.meeting.id).await,
        Err(SchedError::Forbidden(_))
    ));
    assert!(matches!(
        db.meeting(&other_sec, out.meeting.id).await,
        Err(SchedError::Forbidden(_))
    ));
    // A unit's dashboard is for that unit (and those above it).
    assert!(matches!(
        db.upcoming_for_unit(&outsider, &code("07888"), now(), 10)
            .await,
        Err(SchedError::Forbidden(_))
    ));
    assert_eq!(
        db.upcoming_for_unit(&tinh, &code("07888"), now(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // Sites and chairs cannot cancel or edit; the meeting stays as it was.
    assert!(matches!(
        db.cancel_meeting(&invited, out.meeting.id, 0, now()).await,
        Err(SchedError::Forbidden(_))
    ));
    let chair = user(&db, "chu.tich", Role::Chair, Some("25")).await;
    assert!(matches!(
        db.update_meeting(
            &chair,
            out.meeting.id,
            0,
            draft("x", "227", vec![unit_sel("07888")], 2, 1),
            now()
        )
        .await,
        Err(SchedError::Forbidden(_))
    ));
    let m = db.load_meeting(out.meeting.id).await.unwrap();
    assert!(!m.cancelled);
    assert_eq!(m.version, 0);
});

both_dbs!(logins_sessions_and_api_tokens, |db| async move {
    phu_tho(&db).await;
    let p = user(&db, "VP.Tinh", Role::Secretary, Some("25")).await;
    assert_eq!(p.username, "vp.tinh");
    assert!(matches!(
        db.login("vp.tinh", "sai mật khẩu", now()).await,
        Err(SchedError::Unauthenticated)
    ));
    assert!(matches!(
        db.login("nobody", "mật khẩu dài", now()).await,
        Err(SchedError::Unauthenticated)
    ));
    let (secret, u) = db.login("VP.TINH ", "mật khẩu dài", now()).await.unwrap();
    assert_eq!(u.id, p.user_id);
    assert_eq!(db.session_principal(&secret.0, now()).await.unwrap(), p);
    let expired = now() + Duration::hours(13);
    assert!(matches!(
        db.session_principal(&secret.0, expired).await,
        Err(SchedError::Unauthenticated)
    ));
    db.logout(&secret.0).await.unwrap();
    assert!(matches!(
        db.session_principal(&secret.0, now()).await,
        Err(SchedError::Unauthenticated)
    ));

    let tok = db
        .create_api_token(p.user_id, "hệ thống một cửa", now())
        .await
        .unwrap();
    assert_eq!(db.api_token_principal(&tok.0).await.unwrap(), p);
    db.revoke_api_token(&tok.0, now()).await.unwrap();
    assert!(db.api_token_principal(&tok.0).await.is_err());

    // Weak passwords, missing units, duplicate names are refused.
    let weak = bridge_scheduler::accounts::NewUser {
        username: "x".into(),
        display_name: "x".into(),
        password: "short".into(),
        role: Role::Site,
        unit: Some(code("25")),
    };
    assert!(matches!(
        db.create_user(weak.clone(), now()).await,
        Err(SchedError::Invalid {
            field: "password",
            ..
        })
    ));
    let no_unit = bridge_scheduler::accounts::NewUser {
        password: "long enough".into(),
        unit: None,
        ..weak.clone()
    };
    assert!(matches!(
        db.create_user(no_unit, now()).await,
        Err(SchedError::Invalid { field: "unit", .. })
    ));
    let dup = bridge_scheduler::accounts::NewUser {
        username: "vp.tinh".into(),
        password: "long enough".into(),
        ..weak
    };
    assert!(matches!(
        db.create_user(dup, now()).await,
        Err(SchedError::UsernameTaken(_))
    ));
});

#[test]
fn stored_password_is_argon2id_and_verifies() {
    let h = bridge_scheduler::accounts::hash_password("mật khẩu").unwrap();
    assert!(h.starts_with("$argon2id$"), "{h}");
    assert!(bridge_scheduler::accounts::verify_password("mật khẩu", &h));
    assert!(!bridge_scheduler::accounts::verify_password("mat khau", &h));
    assert!(!bridge_scheduler::accounts::verify_password(
        "mật khẩu",
        "garbage"
    ));
}

#[test]
fn pure_rules() {
    use bridge_scheduler::Principal;
    let p = |role, path: &str| Principal {
        user_id: bridge_scheduler::UserId::new_random(),
        username: "u".into(),
        role,
        unit: Some(code(path.trim_matches('/').rsplit('/').next().unwrap())),
        unit_path: path.into(),
    };
    let district = p(Role::Secretary, "/25/227/");
    assert!(authz::can_invite(&district, "/25/227/07888/"));
    assert!(authz::can_invite(&district, "/25/227/"));
    assert!(!authz::can_invite(&district, "/25/228/"));
    assert!(!authz::can_invite(&district, "/25/"));
    // "/25/22/" must not contain "/25/227/" (prefix on whole segments only).
    assert!(!authz::can_invite(
        &p(Role::Secretary, "/25/22/"),
        "/25/227/"
    ));
    assert!(!authz::can_invite(&p(Role::Site, "/25/227/"), "/25/227/"));
    assert!(authz::can_manage_meeting(&district, "/25/227/"));
    assert!(!authz::can_manage_meeting(&p(Role::Chair, "/25/"), "/25/"));
    let site = p(Role::Site, "/25/227/07888/");
    let facts = |org: &'static str, invited| MeetingFacts {
        organizer_path: org,
        caller_unit_invited: invited,
        caller_is_chair: false,
    };
    assert!(authz::can_view_meeting(&site, facts("/25/", true)));
    assert!(!authz::can_view_meeting(&site, facts("/25/", false)));
    assert!(authz::can_view_meeting(
        &site,
        facts("/25/227/07888/", false)
    ));
    assert!(authz::can_view_meeting(
        &district,
        facts("/25/227/07888/", false)
    ));
    assert!(!authz::can_view_meeting(&district, facts("/25/", false)));
    assert!(authz::can_acknowledge(&site, &code("07888")));
    assert!(!authz::can_acknowledge(&site, &code("07894")));
}

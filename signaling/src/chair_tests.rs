use super::*;

fn p(s: &str) -> ParticipantId {
    ParticipantId(s.into())
}

fn room() -> Vec<(ParticipantId, Role)> {
    vec![
        (p("chair"), Role::Chair),
        (p("a"), Role::Member),
        (p("b"), Role::Member),
        (p("v"), Role::Viewer),
    ]
}

#[test]
fn moderated_room_forwards_the_chair_and_the_floor_holder_only() {
    let m = room();
    let mut f = Floor::default();
    assert!(f.audio_allowed(&p("chair"), Role::Chair, &m));
    assert!(!f.audio_allowed(&p("a"), Role::Member, &m));
    f.apply(&p("a"), ChairCommand::RaiseHand { raised: true }, &m, 10)
        .unwrap();
    f.apply(&p("b"), ChairCommand::RaiseHand { raised: true }, &m, 20)
        .unwrap();
    let hands: Vec<_> = f
        .state(&m)
        .hands
        .into_iter()
        .map(|h| h.participant_id)
        .collect();
    assert_eq!(hands, vec![p("a"), p("b")], "oldest first");

    f.apply(
        &p("chair"),
        ChairCommand::GrantFloor {
            participant: p("b"),
        },
        &m,
        30,
    )
    .unwrap();
    let s = f.state(&m);
    assert_eq!(s.holder, Some(p("b")));
    assert_eq!(s.hands.len(), 1, "the granted hand is lowered");
    assert!(f.audio_allowed(&p("b"), Role::Member, &m));
    assert!(!f.audio_allowed(&p("a"), Role::Member, &m));

    // Granting another moves the floor; revoking closes it.
    f.apply(
        &p("chair"),
        ChairCommand::GrantFloor {
            participant: p("a"),
        },
        &m,
        40,
    )
    .unwrap();
    assert!(!f.audio_allowed(&p("b"), Role::Member, &m));
    f.apply(&p("chair"), ChairCommand::RevokeFloor, &m, 50)
        .unwrap();
    assert!(!f.audio_allowed(&p("a"), Role::Member, &m));
}

#[test]
fn without_a_chair_everyone_speaks_unless_muted() {
    let m: Vec<_> = room()
        .into_iter()
        .filter(|(_, r)| *r != Role::Chair)
        .collect();
    let f = Floor::default();
    assert!(!moderated(&m));
    assert!(f.audio_allowed(&p("a"), Role::Member, &m));
}

#[test]
fn members_cannot_chair_and_nothing_changes() {
    let m = room();
    let mut f = Floor::default();
    f.apply(&p("a"), ChairCommand::RaiseHand { raised: true }, &m, 1)
        .unwrap();
    let before = f.state(&m);
    for cmd in [
        ChairCommand::GrantFloor {
            participant: p("a"),
        },
        ChairCommand::RevokeFloor,
        ChairCommand::ForceMute {
            participant: None,
            muted: true,
        },
        ChairCommand::Remove {
            participant: p("b"),
        },
        ChairCommand::Lock { locked: true },
    ] {
        assert_eq!(f.apply(&p("a"), cmd, &m, 2), Err(ChairError::NotChair));
    }
    assert_eq!(f.state(&m), before);
    assert_eq!(
        f.apply(&p("v"), ChairCommand::RaiseHand { raised: true }, &m, 3),
        Err(ChairError::Viewer)
    );
}

#[test]
fn mute_all_closes_every_member_and_the_floor() {
    let m = room();
    let mut f = Floor::default();
    f.apply(
        &p("chair"),
        ChairCommand::GrantFloor {
            participant: p("a"),
        },
        &m,
        1,
    )
    .unwrap();
    f.apply(
        &p("chair"),
        ChairCommand::ForceMute {
            participant: None,
            muted: true,
        },
        &m,
        2,
    )
    .unwrap();
    let s = f.state(&m);
    assert_eq!(s.holder, None);
    assert_eq!(s.muted_by_chair, vec![p("a"), p("b"), p("v")]);
    assert!(f.audio_allowed(&p("chair"), Role::Chair, &m));
    // Giving the floor reopens that one microphone.
    f.apply(
        &p("chair"),
        ChairCommand::GrantFloor {
            participant: p("b"),
        },
        &m,
        3,
    )
    .unwrap();
    assert!(f.audio_allowed(&p("b"), Role::Member, &m));
    assert_eq!(
        f.apply(
            &p("chair"),
            ChairCommand::ForceMute {
                participant: Some(p("chair")),
                muted: true
            },
            &m,
            4
        ),
        Err(ChairError::TargetIsChair)
    );
}

#[test]
fn removing_and_leaving_clear_what_the_participant_held() {
    let m = room();
    let mut f = Floor::default();
    f.apply(&p("b"), ChairCommand::RaiseHand { raised: true }, &m, 1)
        .unwrap();
    f.apply(
        &p("chair"),
        ChairCommand::GrantFloor {
            participant: p("a"),
        },
        &m,
        2,
    )
    .unwrap();
    let out = f
        .apply(
            &p("chair"),
            ChairCommand::Remove {
                participant: p("a"),
            },
            &m,
            3,
        )
        .unwrap();
    assert_eq!(out.remove, Some(p("a")));
    assert_eq!(f.state(&m).holder, None);
    f.left(&p("b"));
    assert!(f.state(&m).hands.is_empty());
    assert_eq!(
        f.apply(
            &p("chair"),
            ChairCommand::GrantFloor {
                participant: p("zz")
            },
            &m,
            4
        ),
        Err(ChairError::Unknown(p("zz")))
    );
}

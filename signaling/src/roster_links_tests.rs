//! Who may link and unlink which room: the rules signaling decides alone (the
//! directory's and the media plane's come after, see handler.rs).

use super::*;
use crate::messages::MuteState;

fn r(s: &str) -> RoomId {
    RoomId(s.into())
}

fn p(s: &str) -> ParticipantId {
    ParticipantId(s.into())
}

/// A roster with `who` (participant id, role) in each room.
fn roster(rooms: &[(&str, &str, Role)]) -> Roster {
    let roster = Roster::default();
    for (room, who, role) in rooms {
        let info = ParticipantInfo {
            id: p(who),
            name: who.to_string(),
            role: *role,
            unit: None,
            muted: MuteState::default(),
            tracks: Vec::new(),
            presence: Default::default(),
        };
        // Nobody reads these outboxes: a closed channel is what a leaving session has.
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        roster.admit(&r(room), info, tx, 300, None).unwrap();
    }
    roster
}

/// The province's meeting, a district running its own conference with a commune, a
/// ward's chair in its own room, and the demo room's chair.
fn province() -> Roster {
    let roster = roster(&[
        ("m-1", "province", Role::Chair),
        ("m-1", "hall", Role::Member),
        ("u-227", "district-member", Role::Member),
        ("u-228", "district", Role::Chair),
        ("u-07888", "ward", Role::Chair),
        ("demo", "demo", Role::Chair),
    ]);
    roster.linked(r("u-227"), r("m-1"), None);
    roster.linked(r("u-07942"), r("u-228"), None);
    roster
}

#[test]
fn a_malformed_or_over_long_room_id_is_refused_and_never_echoed() {
    let roster = province();
    let huge = "a".repeat(300_000);
    for bad in [huge.as_str(), "", "u-1 2", "phòng", &"a".repeat(65)] {
        for (room, who) in [("m-1", "province"), ("m-1", "hall")] {
            for e in [
                roster.may_link(&r(room), &p(who), &r(bad)).unwrap_err(),
                roster.may_unlink(&r(room), &p(who), &r(bad)).unwrap_err(),
            ] {
                assert_eq!(e, LinkError::InvalidRoom, "{who} {bad:.20}");
                assert_eq!(e.code(), ErrorCode::InvalidRoom);
                assert!(e.to_string().len() < 100, "{e}");
            }
        }
    }
    roster
        .may_link(&r("m-1"), &p("province"), &r(&"a".repeat(64)))
        .unwrap();
}

#[test]
fn a_meeting_room_is_never_linked_under_another() {
    let roster = province();
    // Open and leading its meeting's conference, or not open at all.
    for meeting in ["m-1", "m-2"] {
        for (room, chair) in [("demo", "demo"), ("u-07888", "ward"), ("u-228", "district")] {
            let e = roster
                .may_link(&r(room), &p(chair), &r(meeting))
                .unwrap_err();
            assert_eq!(e, LinkError::MeetingRoom, "{chair} {meeting}");
            assert_eq!(e.code(), ErrorCode::NotLinkable);
        }
    }
    // Nor into another meeting.
    let roster = roster_with_two_meetings();
    let e = roster.may_link(&r("m-1"), &p("a"), &r("m-2")).unwrap_err();
    assert_eq!(e, LinkError::MeetingRoom);
}

fn roster_with_two_meetings() -> Roster {
    roster(&[("m-1", "a", Role::Chair), ("m-2", "b", Role::Chair)])
}

#[test]
fn a_room_leading_its_own_conference_stays_out_until_it_releases_its_rooms() {
    let roster = province();
    let e = roster
        .may_link(&r("m-1"), &p("province"), &r("u-228"))
        .unwrap_err();
    assert_eq!(e, LinkError::LeadsConference);
    assert_eq!(e.code(), ErrorCode::NotLinkable);
    // Empty rooms lead a conference too: links outlive members.
    roster.linked(r("u-07945"), r("u-229"), None);
    let e = roster
        .may_link(&r("m-1"), &p("province"), &r("u-229"))
        .unwrap_err();
    assert_eq!(e, LinkError::LeadsConference);

    roster.unlinked(&r("u-07942"));
    roster
        .may_link(&r("m-1"), &p("province"), &r("u-228"))
        .unwrap();
}

#[test]
fn a_room_already_linked_here_or_the_top_of_this_tree_is_left_to_the_media_plane() {
    let roster = province();
    // Linking again is harmless.
    roster
        .may_link(&r("m-1"), &p("province"), &r("u-227"))
        .unwrap();
    // The district's chair pulling the province's room (the top of its own tree)
    // under it is a cycle, which the media plane refuses as `link_refused`.
    let roster = roster_in_tree();
    roster
        .may_link(&r("u-227"), &p("chair-227"), &r("u-25"))
        .unwrap();
}

/// u-07888 in u-227 in u-25 (an ad-hoc conference of unit rooms), a chair in each.
fn roster_in_tree() -> Roster {
    let roster = roster(&[
        ("u-25", "chair-25", Role::Chair),
        ("u-227", "chair-227", Role::Chair),
        ("u-07888", "chair-07888", Role::Chair),
        ("u-228", "chair-228", Role::Chair),
    ]);
    roster.linked(r("u-227"), r("u-25"), None);
    roster.linked(r("u-07888"), r("u-227"), None);
    roster
}

#[test]
fn a_rooms_own_chair_releases_it_from_its_conference() {
    let roster = roster_in_tree();
    roster
        .may_unlink(&r("u-227"), &p("chair-227"), &r("u-227"))
        .unwrap();
    roster
        .may_unlink(&r("u-07888"), &p("chair-07888"), &r("u-07888"))
        .unwrap();
    // Not linked anywhere: nothing to release.
    let e = roster
        .may_unlink(&r("u-25"), &p("chair-25"), &r("u-25"))
        .unwrap_err();
    assert_eq!(e, LinkError::NotLinked);
    assert_eq!(e.code(), ErrorCode::Forbidden);
}

#[test]
fn only_the_parents_chair_or_the_rooms_own_unlinks_it() {
    let roster = roster_in_tree();
    roster
        .may_unlink(&r("u-227"), &p("chair-227"), &r("u-07888"))
        .unwrap();
    // Not the conference's top for a grandchild, not a bystander, not the child's
    // chair for its parent.
    for (room, chair, child) in [
        ("u-25", "chair-25", "u-07888"),
        ("u-228", "chair-228", "u-07888"),
        ("u-07888", "chair-07888", "u-227"),
    ] {
        let e = roster
            .may_unlink(&r(room), &p(chair), &r(child))
            .unwrap_err();
        assert_eq!(e, LinkError::Chair(ChairError::NotLinkedHere), "{chair}");
        assert_eq!(e.code(), ErrorCode::Forbidden);
    }
}

#[test]
fn a_member_links_and_unlinks_nothing() {
    let roster = province();
    let e = roster
        .may_link(&r("m-1"), &p("hall"), &r("u-228"))
        .unwrap_err();
    assert_eq!(e, LinkError::Chair(ChairError::NotChair));
    let e = roster
        .may_unlink(&r("u-227"), &p("district-member"), &r("u-227"))
        .unwrap_err();
    assert_eq!(e, LinkError::Chair(ChairError::NotChair));
    assert_eq!(e.code(), ErrorCode::Forbidden);
}

#[test]
fn a_room_in_another_conference_or_itself_is_refused() {
    let roster = province();
    let e = roster
        .may_link(&r("demo"), &p("demo"), &r("u-227"))
        .unwrap_err();
    assert_eq!(e, LinkError::Chair(ChairError::LinkedElsewhere));
    let e = roster
        .may_link(&r("demo"), &p("demo"), &r("demo"))
        .unwrap_err();
    assert_eq!(e, LinkError::Chair(ChairError::LinkSelf));
}

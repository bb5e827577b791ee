//! Chairing over a real WebSocket with a fake media plane: hands, floor, forced mutes,
//! removal and lock, what every client sees, what the media plane is told, and that a
//! member's chair command is refused and changes nothing.

mod common;

use bridge_token::Role;
use common::*;
use serde_json::{Value, json};

fn id(joined: &Value) -> String {
    joined["participant"]["id"].as_str().unwrap().to_owned()
}

/// `audio <id> <allowed>` calls the media plane received, in order.
fn gates(s: &Server) -> Vec<String> {
    s.media
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("audio "))
        .collect()
}

#[tokio::test]
async fn a_chair_moderates_grants_the_floor_and_members_cannot() {
    let s = start(Default::default()).await;
    let (mut a, ja) = s.join("tinh", "Xã A", Role::Member).await;
    let (mut b, jb) = s.join("tinh", "Xã B", Role::Member).await;
    let (a_id, b_id) = (id(&ja), id(&jb));
    assert_eq!(jb["floor"]["moderated"], false, "no chair yet: {jb}");
    assert!(gates(&s).is_empty(), "everyone speaks without a chair");

    // The chair arrives: the room becomes moderated and the members' microphones close.
    let (mut chair, jc) = s.join("tinh", "Chủ tịch", Role::Chair).await;
    assert_eq!(jc["floor"]["moderated"], true);
    let f = a.recv_type("floor").await;
    assert_eq!(f["moderated"], true);
    let mut g = gates(&s);
    g.sort();
    let mut want = vec![format!("audio {a_id} false"), format!("audio {b_id} false")];
    want.sort();
    assert_eq!(g, want);

    // A raises its hand; everyone sees the queue.
    a.send(json!({"type": "raise_hand", "raised": true})).await;
    let f = chair.recv_type("floor").await;
    assert_eq!(f["hands"][0]["participant_id"], a_id.as_str(), "{f}");
    b.recv_type("floor").await;

    // B, a member, tries to grant itself the floor: refused, nothing changes.
    let calls_before = s.media.calls().len();
    b.send(json!({"type": "grant_floor", "participant": b_id}))
        .await;
    let err = b.recv_type("error").await;
    assert_eq!(
        (err["code"].as_str(), err["request"].as_str()),
        (Some("forbidden"), Some("grant_floor"))
    );
    b.send(json!({"type": "lock", "locked": true})).await;
    assert_eq!(b.recv_type("error").await["code"], "forbidden");
    b.assert_alive().await;
    assert_eq!(
        s.media.calls().len(),
        calls_before,
        "the media plane was not touched"
    );

    // The chair grants A the floor: A's microphone opens, its hand goes down.
    chair
        .send(json!({"type": "grant_floor", "participant": a_id}))
        .await;
    let f = b.recv_type("floor").await;
    assert_eq!(f["holder"], a_id.as_str(), "{f}");
    assert_eq!(f["hands"], json!([]));
    assert_eq!(gates(&s).last().unwrap(), &format!("audio {a_id} true"));

    // Revoked: closed again.
    chair.send(json!({"type": "revoke_floor"})).await;
    assert_eq!(b.recv_type("floor").await["holder"], Value::Null);
    assert_eq!(gates(&s).last().unwrap(), &format!("audio {a_id} false"));
}

#[tokio::test]
async fn removal_and_lock() {
    let s = start(Default::default()).await;
    let (mut chair, _) = s.join("huyen", "Chủ tịch huyện", Role::Chair).await;
    let (mut a, ja) = s.join("huyen", "Xã A", Role::Member).await;
    let a_id = id(&ja);

    chair.send(json!({"type": "lock", "locked": true})).await;
    assert_eq!(chair.recv_type("floor").await["locked"], true);
    // A new member is refused with a clear code; a chair still gets in.
    let mut late = s.connect().await;
    late.send(json!({"type": "join", "v": 1, "token": s.token("huyen", "Xã muộn", Role::Member)}))
        .await;
    assert_eq!(late.recv_type("error").await["code"], "room_locked");
    assert_eq!(late.expect_close().await, Some(1008));
    let (_chair2, _) = s.join("huyen", "Phó chủ tịch", Role::Chair).await;

    chair
        .send(json!({"type": "remove", "participant": a_id}))
        .await;
    a.expect_bye_and_close("removed", 4403).await;
    let left = chair.recv_type("participant_left").await;
    assert_eq!(
        (left["participant_id"].as_str(), left["reason"].as_str()),
        (Some(a_id.as_str()), Some("removed"))
    );

    // Removing someone not in the room is refused.
    chair
        .send(json!({"type": "remove", "participant": "p-nobody"}))
        .await;
    assert_eq!(chair.recv_type("error").await["code"], "forbidden");
}

/// A directory that knows one meeting room.
struct Meetings;

impl bridge_signaling::RoomDirectory for Meetings {
    fn describe<'a>(
        &'a self,
        room: &'a bridge_sfu::RoomId,
    ) -> bridge_signaling::BoxFuture<'a, Option<bridge_signaling::RoomInfo>> {
        Box::pin(async move {
            (room.0 == "m-1").then(|| bridge_signaling::RoomInfo {
                title: Some("Họp khẩn phòng chống lũ".into()),
                expected: [("07888", "Phường Dữu Lâu"), ("07894", "Phường Vân Cơ")]
                    .into_iter()
                    .map(|(unit, name)| bridge_signaling::rollcall::Site {
                        unit: unit.into(),
                        name: name.into(),
                    })
                    .collect(),
                links: vec![bridge_signaling::messages::LinkedRoom {
                    room: "u-07888".into(),
                    title: Some("Phường Dữu Lâu".into()),
                }],
            })
        })
    }

    fn may_pull_in<'a>(
        &'a self,
        conference: &'a bridge_sfu::RoomId,
        room: &'a bridge_sfu::RoomId,
    ) -> bridge_signaling::BoxFuture<'a, bridge_signaling::directory::LinkPermission> {
        use bridge_signaling::directory::LinkPermission;
        let invited = conference.0 == "m-1" && ["u-07888", "u-07894"].contains(&room.0.as_str());
        Box::pin(async move {
            if invited {
                LinkPermission::Allowed
            } else {
                LinkPermission::Refused("not invited".into())
            }
        })
    }
}

#[tokio::test]
async fn the_chair_gets_a_live_roll_call_of_the_expected_sites() {
    let s = start(Default::default()).await;
    s.signaling.set_directory(std::sync::Arc::new(Meetings));
    let (mut chair, joined) = s.join("m-1", "Chủ tịch", Role::Chair).await;
    assert_eq!(joined["title"], "Họp khẩn phòng chống lũ");
    let rc = chair.recv_type("roll_call").await;
    let states: Vec<_> = rc["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["unit"].clone(), e["state"].clone()))
        .collect();
    assert_eq!(
        states,
        vec![
            (json!("07888"), json!("not_joined")),
            (json!("07894"), json!("not_joined")),
            (Value::Null, json!("connected")),
        ],
        "{rc}"
    );

    // A ward hall joins: connected; it leaves: left.
    let mut hall = s.connect().await;
    let token = s.unit_token("m-1", "Phường Dữu Lâu", Role::Member, Some("07888"));
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    hall.recv_type("joined").await;
    // (Linking the ward's own room at the opening sent a roll call too.)
    let rc = loop {
        let rc = chair.recv_type("roll_call").await;
        if rc["sites"][0]["state"] == "connected" {
            break rc;
        }
    };
    assert_eq!(rc["counts"]["connected"], 2);
    assert_eq!(rc["counts"]["not_joined"], 1);
    hall.send(json!({"type": "leave"})).await;
    let rc = loop {
        let rc = chair.recv_type("roll_call").await;
        if rc["sites"][0]["state"] != "connected" {
            break rc;
        }
    };
    assert_eq!(rc["sites"][0]["state"], "left", "{rc}");

    // Members do not get the roll call.
    let (mut member, _) = s.join("m-1", "Phường Vân Cơ", Role::Member).await;
    member.assert_alive().await;
    while let Ok(Next::Msg(m)) =
        tokio::time::timeout(std::time::Duration::from_millis(300), member.next()).await
    {
        assert_ne!(m["type"], "roll_call", "a member got the roll call");
    }
}

/// `link …` and `unlink …` calls the media plane received, in order.
fn link_calls(s: &Server) -> Vec<String> {
    s.media
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("link ") || c.starts_with("unlink "))
        .collect()
}

#[tokio::test]
async fn a_meeting_pulls_in_its_units_rooms_while_open_and_releases_them_at_the_end() {
    let s = start(Default::default()).await;
    s.signaling.set_directory(std::sync::Arc::new(Meetings));
    // The ward's hall sits in its own room before the meeting starts.
    let (mut hall, _) = s.join("u-07888", "Phường Dữu Lâu", Role::Member).await;
    let (mut chair, jc) = s.join("m-1", "Chủ tịch", Role::Chair).await;
    assert_eq!(link_calls(&s), vec!["link u-07888 m-1"]);
    // The hall learns who is there and where it is; the chair sees the hall.
    let joined = hall.recv_type("participant_joined").await;
    assert_eq!(joined["participant"]["id"], jc["participant"]["id"]);
    let links = hall.recv_type("links").await;
    assert_eq!(links["into"]["room"], "m-1", "{links}");
    assert_eq!(links["into"]["title"], "Họp khẩn phòng chống lũ", "{links}");
    chair.recv_type("participant_joined").await;
    let links = chair.recv_type("links").await;
    assert_eq!(links["linked"][0]["title"], "Phường Dữu Lâu", "{links}");

    // A member of the hall's room cannot unlink it, and nothing changes.
    hall.send(json!({"type": "unlink_room", "room": "u-07888"}))
        .await;
    assert_eq!(hall.recv_type("error").await["code"], "forbidden");
    assert_eq!(link_calls(&s).len(), 1);

    // Another room's chair can neither take the ward's room nor release it.
    let (mut other, _) = s.join("u-99", "Chủ tịch xã khác", Role::Chair).await;
    for ty in ["link_room", "unlink_room"] {
        other.send(json!({"type": ty, "room": "u-07888"})).await;
        let err = other.recv_type("error").await;
        assert_eq!(
            (err["code"].as_str(), err["request"].as_str()),
            (Some("forbidden"), Some(ty)),
            "{err}"
        );
    }
    assert_eq!(link_calls(&s).len(), 1);

    // A room joined later inside the linked tree sees the conference at once.
    let (mut late, jl) = s.join("u-07888", "Cán bộ phường", Role::Member).await;
    let names: Vec<&str> = jl["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains(&"Chủ tịch"), "{jl}");
    assert_eq!(late.recv_type("links").await["into"]["room"], "m-1");

    // The meeting room closes: the ward's room is released, its people told.
    chair.send(json!({"type": "leave"})).await;
    let left = hall.recv_type("participant_left").await;
    assert_eq!(left["participant_id"], jc["participant"]["id"]);
    let links = hall.recv_type("links").await;
    assert_eq!(links["into"], Value::Null, "{links}");
    assert_eq!(link_calls(&s), vec!["link u-07888 m-1", "unlink u-07888"]);
}

#[tokio::test]
async fn each_sites_network_reaches_the_chair_and_poor_links_stand_out() {
    let s = start(Default::default()).await;
    s.signaling.set_directory(std::sync::Arc::new(Meetings));
    let (mut chair, _) = s.join("m-1", "Chủ tịch", Role::Chair).await;
    let mut hall = s.connect().await;
    let token = s.unit_token("m-1", "Phường Dữu Lâu", Role::Member, Some("07888"));
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let joined = hall.recv_type("joined").await;
    let hall_id = id(&joined);

    // Out of range: refused, the session goes on.
    hall.send(
        json!({"type": "quality", "loss_pct": 140.0, "rtt_ms": 50, "recv_kbps": 1, "send_kbps": 1}),
    )
    .await;
    let err = hall.recv_type("error").await;
    assert_eq!(
        (err["code"].as_str(), err["request"].as_str()),
        (Some("bad_message"), Some("quality"))
    );
    hall.send(json!({"type": "quality", "loss_pct": "lots"}))
        .await;
    assert_eq!(hall.recv_type("error").await["code"], "bad_message");

    // A good link: the chair and the hall itself see the figures.
    hall.send(json!({"type": "quality", "loss_pct": 0.5, "rtt_ms": 40, "recv_kbps": 900, "send_kbps": 450}))
        .await;
    let q = chair.recv_type("quality").await;
    assert_eq!(q["participant_id"], hall_id.as_str(), "{q}");
    assert_eq!(q["unit"], "07888");
    assert_eq!(q["quality"]["rtt_ms"], 40);
    assert_eq!(q["quality"]["poor"], false);
    assert_eq!(hall.recv_type("quality").await["quality"]["recv_kbps"], 900);

    // The link degrades: the roll call marks the site poor.
    hall.send(json!({"type": "quality", "loss_pct": 12.0, "rtt_ms": 650, "recv_kbps": 120, "send_kbps": 80}))
        .await;
    let rc = loop {
        let rc = chair.recv_type("roll_call").await;
        if rc["counts"]["poor"] == 1 {
            break rc;
        }
    };
    assert_eq!(rc["sites"][0]["unit"], "07888", "{rc}");
    assert_eq!(rc["sites"][0]["quality"]["poor"], true, "{rc}");
    assert_eq!(rc["sites"][0]["quality"]["loss_pct"], 12.0, "{rc}");
}

/// Waits for the `audio …` gate calls to reach `want` (in any order, after `from`).
async fn gates_after(s: &Server, from: usize, want: &[String]) {
    let mut want = want.to_vec();
    want.sort();
    let mut got = Vec::new();
    for _ in 0..100 {
        got = gates(s)[from..].to_vec();
        got.sort();
        if got == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("gates {got:?}, want {want:?}");
}

#[tokio::test]
async fn the_conference_chair_moderates_the_rooms_it_pulled_in() {
    let s = start(Default::default()).await;
    // A ward's hall and a member of the district, each in its own room, both speak.
    let (mut hall, jh) = s.join("u-07888", "Phường Dữu Lâu", Role::Member).await;
    let (mut district, jd) = s.join("u-227", "Huyện Đoan Hùng", Role::Member).await;
    let (hall_id, district_id) = (id(&jh), id(&jd));
    let (mut chair, _) = s.join("tinh", "Chủ tịch tỉnh", Role::Chair).await;
    assert!(
        gates(&s).is_empty(),
        "rooms without a chair: everyone speaks"
    );

    // Linked into the province's conference, the hall's microphone closes: the
    // province chair decides who speaks there now.
    chair
        .send(json!({"type": "link_room", "room": "u-07888"}))
        .await;
    gates_after(&s, 0, &[format!("audio {hall_id} false")]).await;
    let f = hall.recv_type("floor").await;
    assert_eq!(f["moderated"], true, "{f}");
    // The district's room, not linked, is not affected.
    assert!(!gates(&s).iter().any(|g| g.contains(&district_id)));

    // The hall raises its hand: it reaches the province chair.
    hall.send(json!({"type": "raise_hand", "raised": true}))
        .await;
    let f = loop {
        let f = chair.recv_type("floor").await;
        if !f["hands"].as_array().unwrap().is_empty() {
            break f;
        }
    };
    assert_eq!(f["hands"][0]["participant_id"], hall_id.as_str(), "{f}");

    // A member of the hall's room cannot grant itself the floor of the conference.
    hall.send(json!({"type": "grant_floor", "participant": hall_id}))
        .await;
    assert_eq!(hall.recv_type("error").await["code"], "forbidden");

    // The chair grants it: the hall speaks, and everyone in both rooms sees it.
    let n = gates(&s).len();
    chair
        .send(json!({"type": "grant_floor", "participant": hall_id}))
        .await;
    gates_after(&s, n, &[format!("audio {hall_id} true")]).await;
    let f = loop {
        let f = hall.recv_type("floor").await;
        if f["holder"] == hall_id.as_str() {
            break f;
        }
    };
    assert!(f["hands"].as_array().unwrap().is_empty(), "{f}");

    // The chair mutes everyone: the hall is closed again.
    let n = gates(&s).len();
    chair
        .send(json!({"type": "force_mute", "muted": true}))
        .await;
    gates_after(&s, n, &[format!("audio {hall_id} false")]).await;

    // Unlinked, the hall's room is its own again: unmoderated, the microphone opens.
    let n = gates(&s).len();
    chair
        .send(json!({"type": "unlink_room", "room": "u-07888"}))
        .await;
    gates_after(&s, n, &[format!("audio {hall_id} true")]).await;
    let f = loop {
        let f = hall.recv_type("floor").await;
        if f["moderated"] == false {
            break f;
        }
    };
    assert_eq!(f["holder"], Value::Null, "{f}");
    district.assert_alive().await;
}

//! `link_room` / `unlink_room` over the socket: what reaches the directory and the media
//! plane, and what a refused chair is told. The pure rules are unit-tested in
//! src/roster_links_tests.rs; the binary's directory in tests/tests/link_authz.rs.

mod common;

use bridge_sfu::RoomId;
use bridge_signaling::directory::LinkPermission;
use bridge_signaling::{BoxFuture, RoomDirectory, RoomInfo};
use bridge_token::Role;
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Which rooms each conference may hold; records what it was asked.
#[derive(Default)]
struct Units {
    asked: Mutex<Vec<String>>,
}

impl RoomDirectory for Units {
    fn describe<'a>(&'a self, _room: &'a RoomId) -> BoxFuture<'a, Option<RoomInfo>> {
        Box::pin(async { None })
    }

    fn may_pull_in<'a>(
        &'a self,
        conference: &'a RoomId,
        room: &'a RoomId,
    ) -> BoxFuture<'a, LinkPermission> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("{conference} {room}"));
        let holds: &[&str] = match conference.0.as_str() {
            "m-1" | "u-227" => &["u-07888", "u-07894"],
            _ => &[],
        };
        let ok = holds.contains(&room.0.as_str());
        Box::pin(async move {
            if ok {
                LinkPermission::Allowed
            } else {
                LinkPermission::Refused("that unit is not invited to this meeting".into())
            }
        })
    }
}

fn link_calls(s: &Server) -> Vec<String> {
    s.media
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("link ") || c.starts_with("unlink "))
        .collect()
}

async fn refused(c: &mut Client, request: &str, room: &str) -> Value {
    c.send(json!({"type": request, "room": room})).await;
    let err = c.recv_type("error").await;
    assert_eq!(err["request"], request, "{err}");
    assert!(err.to_string().len() < 400, "a long error for {room:.20}");
    err
}

#[tokio::test]
async fn a_conference_pulls_in_only_the_rooms_its_directory_allows() {
    let s = start(Default::default()).await;
    let units = Arc::new(Units::default());
    s.signaling.set_directory(units.clone());
    let (mut chair, _) = s.join("m-1", "Chủ tịch", Role::Chair).await;

    chair
        .send(json!({"type": "link_room", "room": "u-07894"}))
        .await;
    let links = chair.recv_type("links").await;
    assert_eq!(links["linked"][0]["room"], "u-07894", "{links}");

    let err = refused(&mut chair, "link_room", "u-228").await;
    assert_eq!(err["code"], "not_linkable", "{err}");
    assert_eq!(err["message"], "that unit is not invited to this meeting");
    assert_eq!(
        link_calls(&s),
        ["link u-07894 m-1"],
        "the media plane was asked"
    );
    assert_eq!(*units.asked.lock().unwrap(), ["m-1 u-07894", "m-1 u-228"]);

    // An ad-hoc room's chair holds nothing: not even a unit the meeting may hold.
    let (mut demo, _) = s.join("demo", "Thử", Role::Chair).await;
    let err = refused(&mut demo, "link_room", "u-07888").await;
    assert_eq!(err["code"], "not_linkable", "{err}");
    assert_eq!(link_calls(&s).len(), 1);
}

#[tokio::test]
async fn what_signaling_refuses_never_reaches_the_directory_or_the_media_plane() {
    let s = start(Default::default()).await;
    let units = Arc::new(Units::default());
    s.signaling.set_directory(units.clone());
    let (mut chair, _) = s.join("u-227", "Huyện", Role::Chair).await;
    let huge = "u".repeat(300_000);
    for (room, code) in [
        (huge.as_str(), "invalid_room"),
        ("u-07888/..", "invalid_room"),
        ("m-1", "not_linkable"),
        ("u-227", "forbidden"),
    ] {
        let err = refused(&mut chair, "link_room", room).await;
        assert_eq!(err["code"], code, "{err}");
    }
    let err = refused(&mut chair, "unlink_room", &huge).await;
    assert_eq!(err["code"], "invalid_room", "{err}");
    assert!(units.asked.lock().unwrap().is_empty());
    assert!(link_calls(&s).is_empty());
}

#[tokio::test]
async fn without_a_directory_plain_rooms_link_but_meetings_and_bad_ids_do_not() {
    let s = start(Default::default()).await;
    let (mut chair, _) = s.join("tinh", "Chủ tịch tỉnh", Role::Chair).await;
    chair
        .send(json!({"type": "link_room", "room": "u-07888"}))
        .await;
    assert_eq!(
        chair.recv_type("links").await["linked"][0]["room"],
        "u-07888"
    );

    let err = refused(&mut chair, "link_room", "m-0b6c").await;
    assert_eq!(err["code"], "not_linkable", "{err}");
    let err = refused(&mut chair, "link_room", &"a".repeat(300_000)).await;
    assert_eq!(err["code"], "invalid_room", "{err}");
    assert_eq!(link_calls(&s), ["link u-07888 tinh"]);
}

#[tokio::test]
async fn a_room_leading_its_own_conference_is_not_pulled_into_another() {
    let s = start(Default::default()).await;
    let (mut district, _) = s.join("u-228", "Thị xã", Role::Chair).await;
    let (mut province, _) = s.join("u-25", "Tỉnh", Role::Chair).await;
    district
        .send(json!({"type": "link_room", "room": "u-07942"}))
        .await;
    district.recv_type("links").await;
    let err = refused(&mut province, "link_room", "u-228").await;
    assert_eq!(err["code"], "not_linkable", "{err}");
    assert_eq!(link_calls(&s), ["link u-07942 u-228"]);
}

#[tokio::test]
async fn a_rooms_own_chair_releases_it_from_the_conference_it_is_in() {
    let s = start(Default::default()).await;
    let (mut ward, _) = s.join("u-07888", "Phường", Role::Chair).await;
    let (mut chair, _) = s.join("tinh", "Chủ tịch tỉnh", Role::Chair).await;
    chair
        .send(json!({"type": "link_room", "room": "u-07888"}))
        .await;
    let into = ward.recv_type("links").await;
    assert_eq!(into["into"]["room"], "tinh", "{into}");

    ward.send(json!({"type": "unlink_room", "room": "u-07888"}))
        .await;
    let links = ward.recv_type("links").await;
    assert_eq!(links["into"], Value::Null, "{links}");
    assert_eq!(link_calls(&s), ["link u-07888 tinh", "unlink u-07888"]);
    // Once released there is nothing left to release.
    let err = refused(&mut ward, "unlink_room", "u-07888").await;
    assert_eq!(err["code"], "forbidden", "{err}");
}

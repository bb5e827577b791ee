//! One live session per join link, over real WebSockets (the media plane faked): a
//! second plain `join` with the same token takes the first one's place over (same
//! participant id, floor, the chair's mutes) instead of adding a participant; the old
//! socket hears `bye {reason: "replaced"}` and close 4409; the room sees nobody leave
//! or arrive; a locked room does not refuse it; the media plane starts the participant
//! afresh with its microphone still closed by the chair.

mod common;

use bridge_signaling::SignalingConfig;
use bridge_token::Role;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn config() -> SignalingConfig {
    SignalingConfig {
        idle_timeout: Duration::from_millis(600),
        resume_grace: Duration::from_millis(3000),
        ..SignalingConfig::default()
    }
}

fn join(token: &str) -> Value {
    json!({"type": "join", "v": 1, "token": token})
}

/// Messages up to a pong: none may say that someone left or arrived.
async fn nobody_came_or_went(c: &mut Client) {
    c.send(json!({"type": "ping"})).await;
    loop {
        let v = c.recv().await;
        assert_ne!(v["type"], "participant_left", "nobody may leave: {v}");
        assert_ne!(v["type"], "participant_joined", "nobody new: {v}");
        if v["type"] == "pong" {
            return;
        }
    }
}

#[tokio::test]
async fn a_second_join_with_the_same_link_takes_the_place_over() {
    let s = start(config()).await;
    let token = s.token("tinh", "Xã Thu Cúc", Role::Member);
    let mut first = s.connect().await;
    first.send(join(&token)).await;
    let joined = first.recv_type("joined").await;
    let id = joined["participant"]["id"].as_str().unwrap().to_owned();
    let (mut chair, _) = s.join("tinh", "Chủ tịch", Role::Chair).await;
    // The chair closes the hall's microphone for good, and locks the room.
    chair
        .send(json!({"type": "force_mute", "participant": id, "muted": true}))
        .await;
    chair.recv_type("floor").await;
    chair.send(json!({"type": "lock", "locked": true})).await;
    chair.recv_type("floor").await;

    // The hall opens its page again (another tab, another PC): not refused although
    // the room is locked, and the same participant.
    let mut second = s.connect().await;
    second.send(join(&token)).await;
    let again = second.recv_type("joined").await;
    assert_eq!(again["participant"]["id"], id.as_str(), "{again}");
    assert_ne!(again["resumed"], true, "new media connections: {again}");
    assert!(
        again["floor"]["muted_by_chair"]
            .as_array()
            .is_some_and(|m| m.contains(&json!(id))),
        "the chair's mute stays: {again}"
    );
    assert!(again["resume"]["credential"].is_string());
    first.expect_bye_and_close("replaced", 4409).await;
    second.assert_alive().await;
    nobody_came_or_went(&mut chair).await;
    assert_eq!(s.signaling.stats().participants, 2);

    // The media plane started the participant afresh, microphone closed again.
    let calls = s.media.calls();
    let leave = calls.iter().position(|c| c == &format!("leave {id}"));
    let rejoin = calls.iter().rposition(|c| c == &format!("join tinh {id}"));
    assert!(
        leave.is_some() && rejoin > leave,
        "leave then join again: {calls:?}"
    );
    assert_eq!(
        calls.last().map(String::as_str),
        Some(format!("audio {id} false").as_str()),
        "{calls:?}"
    );

    // The page is closed without `leave` (parked): opening it again takes the parked
    // place over at once, without waiting for the grace period.
    drop(second);
    chair.recv_type("presence").await;
    let mut third = s.connect().await;
    third.send(join(&token)).await;
    let once_more = third.recv_type("joined").await;
    assert_eq!(once_more["participant"]["id"], id.as_str());
    third.assert_alive().await;
    nobody_came_or_went(&mut chair).await;

    // Once the hall leaves, its link makes a new participant again (the room is
    // unlocked for it by the chair first).
    chair.send(json!({"type": "lock", "locked": false})).await;
    third.send(json!({"type": "leave"})).await;
    third.expect_bye_and_close("left", 1000).await;
    let mut fourth = s.connect().await;
    fourth.send(join(&token)).await;
    let fresh = fourth.recv_type("joined").await;
    assert_ne!(fresh["participant"]["id"], id.as_str(), "{fresh}");
}

#[tokio::test]
async fn two_links_of_one_hall_are_two_participants() {
    // Only the same token is the same place: a hall given two links (two PCs on
    // purpose) is two participants, as before.
    let s = start(config()).await;
    let (_a, ja) = s.join("tinh", "Xã Thu Cúc", Role::Member).await;
    let (mut b, jb) = s.join("tinh", "Xã Thu Cúc", Role::Member).await;
    assert_ne!(ja["participant"]["id"], jb["participant"]["id"]);
    b.assert_alive().await;
    assert_eq!(s.signaling.stats().participants, 2);
}

#[tokio::test]
async fn a_removed_link_cannot_take_its_place_back() {
    let s = start(config()).await;
    let token = s.token("tinh", "Xã Thu Cúc", Role::Member);
    let mut hall = s.connect().await;
    hall.send(join(&token)).await;
    let id = hall.recv_type("joined").await["participant"]["id"].clone();
    let (mut chair, _) = s.join("tinh", "Chủ tịch", Role::Chair).await;
    chair
        .send(json!({"type": "remove", "participant": id}))
        .await;
    hall.expect_bye_and_close("removed", 4403).await;
    let mut again = s.connect().await;
    again.send(join(&token)).await;
    assert_eq!(again.recv_type("error").await["code"], "removed");
}

//! Staying in the room across a drop, over real WebSockets (the media plane faked):
//! a hall whose socket drops keeps its participant id and its place for the grace
//! period, the others see it "reconnecting", never leaving; a resume needs the
//! credential *and* the same join link; after the grace period it has left.

mod common;

use bridge_signaling::SignalingConfig;
use bridge_token::Role;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn config() -> SignalingConfig {
    SignalingConfig {
        idle_timeout: Duration::from_millis(600),
        resume_grace: Duration::from_millis(1500),
        ..SignalingConfig::default()
    }
}

/// The next message of `ty`, skipping pings' pongs and roll calls on the way; fails
/// if a `participant_left` comes first.
async fn recv_not_leaving(c: &mut Client, ty: &str) -> Value {
    loop {
        let v = c.recv().await;
        assert_ne!(v["type"], "participant_left", "nobody may leave: {v}");
        if v["type"] == ty {
            return v;
        }
    }
}

fn resume_join(token: &str, credential: &Value) -> Value {
    json!({"type": "join", "v": 1, "token": token, "resume": credential})
}

#[tokio::test]
async fn a_dropped_hall_resumes_with_the_same_id_and_nobody_sees_it_leave() {
    let s = start(config()).await;
    let token = s.token("demo", "Xã Thu Cúc", Role::Member);
    let mut hall = s.connect().await;
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let joined = hall.recv_type("joined").await;
    let id = joined["participant"]["id"].clone();
    let credential = joined["resume"]["credential"].clone();
    assert!(
        credential.as_str().is_some_and(|c| c.len() >= 32),
        "{joined}"
    );
    assert_eq!(joined["resume"]["grace_ms"], 1500);
    let (mut chair, _) = s.join("demo", "Tỉnh", Role::Chair).await;

    // The hall's network drops: the chair sees it reconnecting, not leaving.
    drop(hall);
    let p = recv_not_leaving(&mut chair, "presence").await;
    assert_eq!(
        (&p["participant_id"], &p["presence"]),
        (&id, &json!("reconnecting"))
    );

    // Another join link cannot take the place over, even with the credential.
    let mut thief = s.connect().await;
    let other = s.token("demo", "Kẻ khác", Role::Member);
    thief.send(resume_join(&other, &credential)).await;
    let err = thief.recv().await;
    assert_eq!(err["code"], "resume_failed", "{err}");
    // Nor a made-up credential.
    thief.send(resume_join(&token, &json!("forged"))).await;
    assert_eq!(thief.recv().await["code"], "resume_failed");

    // The hall comes back on a new socket: same participant, a fresh credential.
    let mut hall = s.connect().await;
    hall.send(resume_join(&token, &credential)).await;
    let again = hall.recv_type("joined").await;
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(again["participant"]["id"], id);
    assert_ne!(again["resume"]["credential"], credential);
    assert!(
        again["participants"]
            .as_array()
            .is_some_and(|l| l.len() == 1),
        "the room as it is now: {again}"
    );
    hall.assert_alive().await;
    // A credential is used once.
    let mut late = s.connect().await;
    late.send(resume_join(&token, &credential)).await;
    assert_eq!(late.recv().await["code"], "resume_failed");
    assert_eq!(s.signaling.stats().participants, 2);
    // Still no `participant_left` reached the chair.
    chair.send(json!({"type": "ping"})).await;
    recv_not_leaving(&mut chair, "pong").await;
}

#[tokio::test]
async fn a_resume_takes_over_a_socket_that_still_seems_alive() {
    let s = start(config()).await;
    let token = s.token("demo", "Xã Thu Cúc", Role::Member);
    let mut old = s.connect().await;
    old.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let joined = old.recv_type("joined").await;
    let mut new = s.connect().await;
    new.send(resume_join(&token, &joined["resume"]["credential"]))
        .await;
    let again = new.recv_type("joined").await;
    assert_eq!(again["participant"]["id"], joined["participant"]["id"]);
    // The old socket is closed with 4409, and the session lives on the new one.
    assert_eq!(old.expect_close().await, Some(4409));
    new.assert_alive().await;
}

#[tokio::test]
async fn after_the_grace_period_the_hall_has_left_and_joins_afresh() {
    let s = start(config()).await;
    let token = s.token("demo", "Xã Thu Cúc", Role::Member);
    let mut hall = s.connect().await;
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let joined = hall.recv_type("joined").await;
    let (mut chair, _) = s.join("demo", "Tỉnh", Role::Chair).await;
    drop(hall);
    let pinger = tokio::spawn(async move {
        let left = loop {
            chair.send(json!({"type": "ping"})).await;
            let v = chair.recv().await;
            if v["type"] == "participant_left" {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        (chair, left)
    });
    let (_chair, left) = pinger.await.unwrap();
    assert_eq!(left["participant_id"], joined["participant"]["id"]);
    assert_eq!(left["reason"], "timeout");
    let mut hall = s.connect().await;
    hall.send(resume_join(&token, &joined["resume"]["credential"]))
        .await;
    assert_eq!(hall.recv().await["code"], "resume_failed");
    // The same socket may then join as a new participant.
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let fresh = hall.recv_type("joined").await;
    assert_ne!(fresh["participant"]["id"], joined["participant"]["id"]);
}

//! The protocol over a real WebSocket (axum server on 127.0.0.1:0, tungstenite client),
//! with a fake media plane.

mod common;

use bridge_sfu::{SfuEvent, TrackId, TrackSource};
use bridge_signaling::SignalingConfig;
use bridge_token::{Claims, Role};
use common::{now_unix, start};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn join_returns_joined_with_roster_and_limits() {
    let s = start(SignalingConfig::default()).await;
    let (mut chair, joined) = s.join("demo", "Tỉnh Phú Thọ", Role::Chair).await;
    assert_eq!(joined["v"], 1);
    assert_eq!(joined["room"], "demo");
    assert_eq!(joined["participant"]["name"], "Tỉnh Phú Thọ");
    assert_eq!(joined["participant"]["role"], "chair");
    assert_eq!(
        joined["participant"]["muted"],
        json!({"microphone": false, "camera": false})
    );
    assert_eq!(joined["participants"], json!([]));
    assert_eq!(joined["limits"]["max_message_bytes"], 393_216);
    assert_eq!(joined["limits"]["messages_per_second"], 50);
    let chair_id = joined["participant"]["id"].clone();

    let (_member, joined2) = s.join("demo", "Xã Thanh Sơn", Role::Member).await;
    let others = joined2["participants"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0]["id"], chair_id);
    let news = chair.recv_type("participant_joined").await;
    assert_eq!(news["participant"]["name"], "Xã Thanh Sơn");
    assert_eq!(news["participant"]["id"], joined2["participant"]["id"]);
    assert_eq!(s.signaling.stats().participants, 2);
}

#[tokio::test]
async fn malformed_json_is_bad_message_and_session_goes_on() {
    let s = start(SignalingConfig::default()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    for junk in [
        "{not json",
        "[1,2]",
        "42",
        r#"{"type": 7}"#,
        r#"{"type":"mute","source":"camera"}"#,
    ] {
        c.send_text(junk.into()).await;
        let err = c.recv().await;
        assert_eq!(err["type"], "error", "{junk}");
        assert_eq!(err["code"], "bad_message", "{junk}: {err}");
    }
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await
    .unwrap();
    assert_eq!(c.recv().await["code"], "bad_message");
    c.assert_alive().await;
}

use futures_util::SinkExt;

#[tokio::test]
async fn unknown_type_is_reported_and_session_goes_on() {
    let s = start(SignalingConfig::default()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    c.send(json!({"type": "teleport"})).await;
    let err = c.recv().await;
    assert_eq!(err["code"], "unknown_type");
    assert!(err["message"].as_str().unwrap().contains("teleport"));
    c.assert_alive().await;
}

#[tokio::test]
async fn messages_before_join_are_not_joined_and_second_join_is_refused() {
    let s = start(SignalingConfig::default()).await;
    let mut c = s.connect().await;
    c.send(json!({"type": "publish_offer", "sdp": "v=0", "tracks": []}))
        .await;
    let err = c.recv().await;
    assert_eq!(err["code"], "not_joined");
    assert_eq!(err["request"], "publish_offer");
    c.send(json!({"type": "join", "token": s.token("demo", "A", Role::Member)}))
        .await;
    assert_eq!(c.recv().await["type"], "joined");
    c.send(json!({"type": "join", "token": s.token("demo", "A", Role::Member)}))
        .await;
    assert_eq!(c.recv().await["code"], "already_joined");
    c.assert_alive().await;
}

async fn assert_refused(s: &common::Server, join: serde_json::Value, code: &str) {
    let mut c = s.connect().await;
    c.send(join).await;
    let err = c.recv().await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], code, "{err}");
    assert_eq!(err["request"], "join");
    c.expect_bye_and_close("refused", 1008).await;
}

#[tokio::test]
async fn refused_tokens_get_error_bye_and_close() {
    let s = start(SignalingConfig::default()).await;
    assert_refused(&s, json!({"type": "join", "v": 1}), "token_missing").await;
    assert_refused(
        &s,
        json!({"type": "join", "v": 1, "token": ""}),
        "token_missing",
    )
    .await;

    let t = now_unix();
    let expired = Claims {
        room: "demo".into(),
        name: "A".into(),
        role: Role::Member,
        unit: None,
        sub: "x".into(),
        iat: t - 7200,
        exp: t - 3600,
        nbf: None,
    };
    let token = s.key.sign(&expired).unwrap();
    assert_refused(&s, json!({"type": "join", "token": token}), "token_expired").await;

    let other_key = bridge_token::TokenKey::generate();
    let forged = other_key
        .sign(&Claims {
            exp: t + 3600,
            ..expired.clone()
        })
        .unwrap();
    assert_refused(
        &s,
        json!({"type": "join", "token": forged}),
        "token_invalid",
    )
    .await;

    let good = s.token("demo", "A", Role::Member);
    let payload = good.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}
    let none_alg = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_refused(
        &s,
        json!({"type": "join", "token": none_alg}),
        "token_invalid",
    )
    .await;

    assert_refused(
        &s,
        json!({"type": "join", "token": good, "room": "other"}),
        "wrong_room",
    )
    .await;
    assert!(
        s.media.calls().is_empty(),
        "no refused join reached the media plane"
    );
}

#[tokio::test]
async fn message_over_the_limit_closes_with_1009() {
    let s = start(quick()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    let (mut other, _) = s.join("demo", "B", Role::Member).await;
    let huge = json!({"type": "subscribe_answer", "sdp": "a".repeat(1 << 20)}).to_string();
    // The server may close while we are still writing: a send error is fine too.
    let _ =
        c.ws.send(tokio_tungstenite::tungstenite::Message::text(huge))
            .await;
    assert_eq!(c.expect_close().await, Some(1009));
    // The socket failed, not the session: the participant is gone from the room
    // once nobody resumed it within the grace period.
    let pinger = tokio::spawn(async move {
        for _ in 0..6 {
            other.send(json!({"type": "ping"})).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        other
    });
    let mut other = pinger.await.unwrap();
    let left = other.recv_type("participant_left").await;
    assert_eq!(left["reason"], "timeout");
}

#[tokio::test]
async fn message_just_under_the_limit_is_accepted() {
    let s = start(SignalingConfig::default()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    let mut msg = json!({"type": "publish_offer", "sdp": "", "tracks": []});
    let overhead = msg.to_string().len();
    let limit = bridge_signaling::limits::MAX_MESSAGE_BYTES;
    msg["sdp"] = json!("v".repeat(limit - overhead));
    assert_eq!(msg.to_string().len(), limit);
    c.send(msg).await;
    assert_eq!(c.recv().await["type"], "publish_answer");
}

#[tokio::test]
async fn flood_is_rate_limited_and_session_goes_on() {
    let s = start(SignalingConfig::default()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    for _ in 0..300 {
        c.send(json!({"type": "ping"})).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    // 300 pings sent in far less than a second: about the burst (100) gets answered.
    while pongs + limited < 300 {
        let msg = match tokio::time::timeout(Duration::from_millis(500), c.recv()).await {
            Ok(m) => m,
            Err(_) => break,
        };
        match msg["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") if msg["code"] == "rate_limited" => limited += 1,
            _ => panic!("unexpected {msg}"),
        }
    }
    assert!(limited >= 1, "no rate_limited error");
    assert!((99..=130).contains(&pongs), "{pongs} pongs");
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.assert_alive().await;
}

fn quick() -> SignalingConfig {
    SignalingConfig {
        idle_timeout: Duration::from_millis(400),
        join_timeout: Duration::from_millis(400),
        resume_grace: Duration::from_millis(800),
        ..SignalingConfig::default()
    }
}

#[tokio::test]
async fn silent_participant_times_out_and_is_removed() {
    let s = start(quick()).await;
    let (mut silent, joined) = s.join("demo", "Silent", Role::Member).await;
    let silent_id = joined["participant"]["id"].as_str().unwrap().to_owned();
    let (mut talker, _) = s.join("demo", "Talker", Role::Member).await;
    // The talker keeps pinging, the silent one does not.
    let pinger = tokio::spawn(async move {
        for _ in 0..8 {
            talker.send(json!({"type": "ping"})).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        talker
    });
    // Its socket is closed (no `bye`: it may still resume), and once the grace
    // period is over its place is given up.
    assert_eq!(silent.expect_close().await, Some(4408));
    let mut talker = pinger.await.unwrap();
    let left = talker.recv_type("participant_left").await;
    assert_eq!(left["participant_id"], silent_id.as_str());
    assert_eq!(left["reason"], "timeout");
    assert!(s.media.calls().contains(&format!("leave {silent_id}")));
    talker.assert_alive().await;
    assert_eq!(s.signaling.stats().participants, 1);
}

#[tokio::test]
async fn no_join_in_time_closes() {
    let s = start(quick()).await;
    let mut c = s.connect().await;
    c.expect_bye_and_close("timeout", 4408).await;
}

#[tokio::test]
async fn invalid_sdp_and_candidate_are_errors_and_session_goes_on() {
    let s = start(SignalingConfig::default()).await;
    let (mut c, _) = s.join("demo", "A", Role::Member).await;
    let tracks = json!([{"mid": "0", "source": "microphone"}]);
    c.send(json!({"type": "publish_offer", "sdp": "garbage", "tracks": tracks}))
        .await;
    let err = c.recv().await;
    assert_eq!(err["code"], "invalid_sdp");
    assert_eq!(err["request"], "publish_offer");
    c.send(json!({"type": "candidate", "pc": "publish", "candidate": {"candidate": "nonsense"}}))
        .await;
    assert_eq!(c.recv().await["code"], "invalid_candidate");
    c.send(json!({"type": "publish_offer", "sdp": "v=0", "tracks": tracks}))
        .await;
    let answer = c.recv().await;
    assert_eq!(answer["type"], "publish_answer");
    assert_eq!(answer["sdp"], "answer to v=0");
}

#[tokio::test]
async fn viewer_may_not_publish_and_track_count_is_limited() {
    let s = start(SignalingConfig::default()).await;
    let (mut viewer, _) = s.join("demo", "V", Role::Viewer).await;
    let one = json!([{"mid": "0", "source": "microphone"}]);
    viewer
        .send(json!({"type": "publish_offer", "sdp": "v=0", "tracks": one}))
        .await;
    assert_eq!(viewer.recv().await["code"], "forbidden");
    let (mut member, _) = s.join("demo", "M", Role::Member).await;
    let four: Vec<_> = (0..4)
        .map(|i| json!({"mid": i.to_string(), "source": "camera"}))
        .collect();
    member
        .send(json!({"type": "publish_offer", "sdp": "v=0", "tracks": four}))
        .await;
    assert_eq!(member.recv_type("error").await["code"], "too_many_tracks");
    member.assert_alive().await;
}

#[tokio::test]
async fn tracks_mute_and_leave_are_broadcast() {
    let s = start(SignalingConfig::default()).await;
    let (mut a, ja) = s.join("demo", "A", Role::Chair).await;
    let a_id = ja["participant"]["id"].as_str().unwrap().to_owned();
    let (mut b, _) = s.join("demo", "B", Role::Member).await;
    a.recv_type("participant_joined").await;

    let tracks = json!([{"mid": "0", "source": "microphone"}, {"mid": "1", "source": "camera"}]);
    a.send(json!({"type": "publish_offer", "sdp": "v=0", "tracks": tracks}))
        .await;
    a.recv_type("publish_answer").await;
    s.media.emit(
        &a_id,
        SfuEvent::TrackLive {
            track_id: TrackId::from("t-cam"),
            source: TrackSource::Camera,
        },
    );
    let published = b.recv_type("track_published").await;
    assert_eq!(published["participant_id"], a_id.as_str());
    assert_eq!(published["track_id"], "t-cam");
    assert_eq!(published["source"], "camera");
    // A late joiner sees the track in the roster.
    let (_c, jc) = s.join("demo", "C", Role::Viewer).await;
    assert_eq!(
        jc["participants"][0]["tracks"],
        json!([{"track_id": "t-cam", "source": "camera"}])
    );

    a.send(json!({"type": "mute", "source": "microphone", "muted": true}))
        .await;
    let muted = b.recv_type("mute_changed").await;
    assert_eq!(
        muted,
        json!({"type": "mute_changed", "participant_id": a_id, "source": "microphone", "muted": true})
    );
    assert_eq!(a.recv_type("mute_changed").await["muted"], true);

    // The subscribe side: a server offer reaches the client, its answer reaches the SFU.
    s.media.emit(
        &a_id,
        SfuEvent::SubscribeOffer {
            sdp: "v=0 sub".into(),
            tracks: vec![],
        },
    );
    assert_eq!(a.recv_type("subscribe_offer").await["sdp"], "v=0 sub");
    a.send(json!({"type": "subscribe_answer", "sdp": "v=0 ans"}))
        .await;

    a.send(json!({"type": "leave"})).await;
    a.expect_bye_and_close("left", 1000).await;
    let gone = b.recv_type("track_unpublished").await;
    assert_eq!(gone["track_id"], "t-cam");
    let left = b.recv_type("participant_left").await;
    assert_eq!(left["participant_id"], a_id.as_str());
    assert_eq!(left["reason"], "left");
    let calls = s.media.calls();
    assert!(
        calls.contains(&format!("subscribe_answer {a_id}")),
        "{calls:?}"
    );
    assert!(calls.contains(&format!("leave {a_id}")), "{calls:?}");
}

#[tokio::test]
async fn full_room_refuses_the_next_participant() {
    let s = start(SignalingConfig {
        max_participants_per_room: 1,
        ..SignalingConfig::default()
    })
    .await;
    let (_a, _) = s.join("demo", "A", Role::Member).await;
    let mut b = s.connect().await;
    b.send(json!({"type": "join", "token": s.token("demo", "B", Role::Member)}))
        .await;
    assert_eq!(b.recv().await["code"], "room_full");
    b.expect_bye_and_close("refused", 1008).await;
    // Another room is fine.
    s.join("other", "B", Role::Member).await;
}

#[tokio::test]
async fn shutdown_says_bye_to_every_session() {
    let s = start(SignalingConfig::default()).await;
    let (mut a, _) = s.join("demo", "A", Role::Member).await;
    let mut waiting = s.connect().await;
    let sig = s.signaling.clone();
    let done = tokio::spawn(async move { sig.shutdown().await });
    a.expect_bye_and_close("shutdown", 1001).await;
    waiting.expect_bye_and_close("shutdown", 1001).await;
    tokio::time::timeout(Duration::from_secs(3), done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.signaling.stats().sessions, 0);
}

/// A measurement, not a check: `cargo test -p bridge-signaling --test ws -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn measure_join_and_ping_round_trips() {
    // The rate limit is lifted: this measures latency, not the limiter.
    let s = start(SignalingConfig {
        messages_per_second: 1_000_000,
        message_burst: 1_000_000,
        ..SignalingConfig::default()
    })
    .await;
    let joins = 200;
    let t0 = std::time::Instant::now();
    let mut clients = Vec::new();
    for i in 0..joins {
        clients.push(s.join("big", &format!("Xã {i}"), Role::Member).await.0);
    }
    let join_each = t0.elapsed() / joins;
    let c = &mut clients[0];
    // Drain the participant_joined backlog of the first client.
    c.assert_alive().await;
    let n = 2000;
    let t1 = std::time::Instant::now();
    for _ in 0..n {
        c.send(json!({"type": "ping"})).await;
        c.recv_type("pong").await;
    }
    let rtt = t1.elapsed() / n;
    println!(
        "{joins} joins into one room: {join_each:?} per join (connect + join + joined, incl. roster fan-out)"
    );
    println!("ping round trip: {rtt:?} mean over {n}");
}

#[tokio::test]
async fn sockets_that_never_join_are_capped() {
    let s = start(SignalingConfig {
        max_unjoined: 3,
        ..SignalingConfig::default()
    })
    .await;
    let mut waiting = Vec::new();
    for _ in 0..3 {
        waiting.push(s.connect().await);
    }
    // The fourth is refused before the upgrade, with a status a client can retry on.
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws", s.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            assert!(resp.headers().contains_key("retry-after"));
        }
        other => panic!("expected 503, got {other:?}"),
    }
    // A socket that joins no longer counts, so another may open.
    let mut first = waiting.remove(0);
    first
        .send(json!({"type": "join", "v": 1, "token": s.token("demo", "A", Role::Member), "room": "demo"}))
        .await;
    assert_eq!(first.recv().await["type"], "joined");
    let mut again = s.connect().await;
    again.send(json!({"type": "ping"})).await;
    // And one that closes gives its place back too.
    drop(waiting);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _more = (s.connect().await, s.connect().await);
}

#[tokio::test]
async fn a_removed_hall_cannot_come_back_with_the_same_link() {
    let s = start(SignalingConfig::default()).await;
    let (mut chair, _) = s.join("huyen", "Chủ tịch huyện", Role::Chair).await;
    let link = s.token("huyen", "Xã A", Role::Member);
    let mut a = s.connect().await;
    a.send(json!({"type": "join", "v": 1, "token": link, "room": "huyen"}))
        .await;
    let joined = a.recv().await;
    let a_id = joined["participant"]["id"].as_str().unwrap().to_owned();
    chair
        .send(json!({"type": "remove", "participant": a_id}))
        .await;
    a.expect_bye_and_close("removed", 4403).await;

    // The page reopens with the same link: refused, and told why.
    let mut again = s.connect().await;
    again
        .send(json!({"type": "join", "v": 1, "token": link, "room": "huyen"}))
        .await;
    let err = again.recv().await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("removed")),
        "{err}"
    );
    again.expect_bye_and_close("refused", 1008).await;

    // A new link from the secretary lets the hall in again.
    let (_back, joined) = s.join("huyen", "Xã A", Role::Member).await;
    assert_eq!(joined["type"], "joined");
}

//! Signaling over the real media plane (no WebRTC client: the E2E tests do media).

use bridge_sfu::{Sfu, SfuConfig};
use bridge_signaling::{Signaling, SignalingConfig};
use bridge_token::{Grant, Role, TokenKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

async fn recv(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn join_publish_errors_and_leave_through_the_real_sfu() {
    let config = SfuConfig {
        udp_bind: "127.0.0.1:0".parse().unwrap(),
        tcp_bind: None,
        ..SfuConfig::default()
    };
    let sfu = Sfu::start(config.clone()).await.unwrap();
    let key = TokenKey::generate();
    let signaling = Signaling::new(
        SignalingConfig::for_sfu(&config),
        Arc::new(sfu.clone()),
        key.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, signaling.router()).into_future());

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let join = |name: &str, role| {
        let grant = Grant {
            room: "demo".into(),
            name: name.into(),
            role,
            unit: Some("25222".into()),
        };
        json!({"type": "join", "v": 1, "room": "demo", "token": key.mint(grant, now, Duration::from_secs(60)).unwrap()})
            .to_string()
    };
    let (mut a, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    a.send(Message::text(join("Tỉnh Phú Thọ", Role::Chair)))
        .await
        .unwrap();
    let joined = recv(&mut a).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["participant"]["unit"], "25222");
    assert_eq!(
        joined["limits"]["max_participants"],
        config.max_participants_per_room
    );

    let (mut b, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    b.send(Message::text(join("Xã Thanh Sơn", Role::Member)))
        .await
        .unwrap();
    let joined_b = recv(&mut b).await;
    assert_eq!(joined_b["participants"][0]["name"], "Tỉnh Phú Thọ");
    assert_eq!(sfu.stats().await.participants, 2);

    // The real SDP parser refuses garbage; the session goes on.
    let bad = json!({"type": "publish_offer", "sdp": "this is not sdp", "tracks": [{"mid": "0", "source": "microphone"}]});
    b.send(Message::text(bad.to_string())).await.unwrap();
    let err = loop {
        let v = recv(&mut b).await;
        if v["type"] == "error" {
            break v;
        }
    };
    assert_eq!(err["code"], "invalid_sdp", "{err}");

    b.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    let left = loop {
        let v = recv(&mut a).await;
        if v["type"] == "participant_left" {
            break v;
        }
    };
    assert_eq!(left["participant_id"], joined_b["participant"]["id"]);
    assert_eq!(sfu.stats().await.participants, 1);
    signaling.shutdown().await;
    sfu.shutdown().await;
}

//! The chair's floor control with real WebRTC clients and the real binary: in a room with
//! a chair, members are not heard until the chair gives them the floor (enforced by the
//! server, not by the clients, which keep sending); a member's attempt to take the floor
//! is refused and changes nothing; revoking silences the member again.

use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::hearing::{assert_heard, assert_not_heard};
use bridge_e2e::server::BridgeServer;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ROOM: &str = "u-25";

fn tone(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(200_000),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_speak_only_with_the_floor() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let a = Client::join(&server, ROOM, "Huyện Tân Sơn", tone(660.0))
        .await
        .unwrap();
    let b = Client::join(&server, ROOM, "Xã Thanh Sơn", tone(880.0))
        .await
        .unwrap();
    // Before a chair is there, members hear each other.
    assert_heard(&a, &b, 880.0).await;

    let chair_token = server.token(ROOM, "Chủ tịch UBND tỉnh", "chair");
    let chair = Client::connect(&server.ws_url(), &chair_token, tone(440.0))
        .await
        .unwrap();
    assert_heard(&a, &chair, 440.0).await;
    assert_heard(&b, &chair, 440.0).await;
    assert_not_heard(&a, &b).await;
    assert_not_heard(&chair, &b).await;

    // B asks; A (a member) tries to give B the floor: refused, B stays silent.
    b.send_json(&json!({"type": "raise_hand", "raised": true}))
        .unwrap();
    wait_until(WAIT, "the chair sees B's hand", || {
        chair
            .events()
            .iter()
            .any(|e| e["type"] == "floor" && e["hands"][0]["participant_id"] == b.id.as_str())
    })
    .await
    .unwrap();
    a.send_json(&json!({"type": "grant_floor", "participant": b.id}))
        .unwrap();
    wait_until(WAIT, "A's grant refused", || {
        a.events().iter().any(|e| {
            e["type"] == "error" && e["code"] == "forbidden" && e["request"] == "grant_floor"
        })
    })
    .await
    .unwrap();
    assert_not_heard(&a, &b).await;

    // The chair grants it: everyone hears B, and B's hand is down.
    chair
        .send_json(&json!({"type": "grant_floor", "participant": b.id}))
        .unwrap();
    assert_heard(&a, &b, 880.0).await;
    assert_heard(&chair, &b, 880.0).await;
    wait_until(WAIT, "A sees B holding the floor", || {
        a.events().iter().any(|e| {
            e["type"] == "floor" && e["holder"] == b.id.as_str() && e["hands"] == json!([])
        })
    })
    .await
    .unwrap();
    // A still is not heard.
    assert_not_heard(&b, &a).await;

    chair.send_json(&json!({"type": "revoke_floor"})).unwrap();
    assert_not_heard(&a, &b).await;
    assert_heard(&b, &chair, 440.0).await;
}

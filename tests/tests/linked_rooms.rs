//! Linked rooms with real WebRTC clients and the real binary: the province chair pulls a
//! district's room and a commune's room into its conference. Their participants hear
//! the chair once linked, and the chair hears them when it gives them the floor; they
//! stop when unlinked; another
//! district's room next to it hears nothing; a member cannot link; when the chair's
//! conference closes, the rooms it pulled in are on their own again.

use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::hearing::{assert_heard, assert_not_heard, audio_packets};
use bridge_e2e::server::BridgeServer;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const PROVINCE: &str = "u-25";
const DISTRICT: &str = "u-227";
const COMMUNE: &str = "u-07888";
const OTHER_DISTRICT: &str = "u-228";

fn tone(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(150_000),
        ..Default::default()
    }
}

/// The last `links` message a client received.
fn last_links(c: &Client) -> Option<Value> {
    c.events().into_iter().rev().find(|e| e["type"] == "links")
}

fn linked_rooms(c: &Client) -> Vec<String> {
    last_links(c)
        .and_then(|l| l["linked"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["room"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_district_and_commune_rooms_hear_the_province_until_unlinked() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let chair = Client::join_as(
        &server,
        PROVINCE,
        "Chủ tịch UBND tỉnh",
        "chair",
        Some("25"),
        tone(440.0),
    )
    .await
    .unwrap();
    let member = |room: &'static str, name: &'static str, unit: &'static str, freq: f32| {
        Client::join_as(&server, room, name, "member", Some(unit), tone(freq))
    };
    let district = member(DISTRICT, "Thành phố Việt Trì", "227", 660.0)
        .await
        .unwrap();
    let commune = member(COMMUNE, "Phường Dữu Lâu", "07888", 880.0)
        .await
        .unwrap();
    let other = Client::join(&server, OTHER_DISTRICT, "Thị xã Phú Thọ", tone(550.0))
        .await
        .unwrap();

    // A member of the district room cannot pull rooms anywhere.
    district
        .send_json(&json!({"type": "link_room", "room": COMMUNE}))
        .unwrap();
    wait_until(WAIT, "the member's link refused", || {
        district.events().iter().any(|e| {
            e["type"] == "error" && e["code"] == "forbidden" && e["request"] == "link_room"
        })
    })
    .await
    .unwrap();
    // Nor can a chair link its own room into itself.
    chair
        .send_json(&json!({"type": "link_room", "room": PROVINCE}))
        .unwrap();
    wait_until(WAIT, "the self-link refused", || {
        chair.events().iter().any(|e| {
            e["type"] == "error" && e["code"] == "forbidden" && e["request"] == "link_room"
        })
    })
    .await
    .unwrap();
    assert_not_heard(&commune, &district).await;
    assert_eq!(audio_packets(&district, &chair), 0, "no link yet");

    for room in [DISTRICT, COMMUNE] {
        chair
            .send_json(&json!({"type": "link_room", "room": room}))
            .unwrap();
    }
    assert_heard(&district, &chair, 440.0).await;
    assert_heard(&commune, &chair, 440.0).await;
    // The province chair moderates the rooms it pulled in: the district speaks once it
    // is given the floor.
    assert_not_heard(&chair, &district).await;
    chair
        .send_json(&json!({"type": "grant_floor", "participant": district.id}))
        .unwrap();
    assert_heard(&chair, &district, 660.0).await;
    assert_heard(&commune, &district, 660.0).await;
    // The chair's console lists both rooms (by id) with their units' names; the
    // district knows which conference it is in, and who is there.
    wait_until(WAIT, "the chair sees both links", || {
        linked_rooms(&chair) == [COMMUNE, DISTRICT]
    })
    .await
    .unwrap();
    let links = last_links(&chair).unwrap();
    assert_eq!(links["linked"][0]["title"], "Phường Dữu Lâu", "{links}");
    assert_eq!(links["linked"][1]["title"], "Thành phố Việt Trì", "{links}");
    let into = last_links(&district).unwrap();
    assert_eq!(into["into"]["room"], PROVINCE, "{into}");
    assert_eq!(into["into"]["title"], "Tỉnh Phú Thọ", "{into}");
    assert!(district.events().iter().any(|e| {
        e["type"] == "participant_joined" && e["participant"]["id"] == chair.id.as_str()
    }));
    // The roll call counts the units present through their own rooms.
    wait_until(WAIT, "the roll call counts the linked rooms", || {
        chair
            .events()
            .iter()
            .rev()
            .find(|e| e["type"] == "roll_call")
            .is_some_and(|r| {
                let units: Vec<&str> = r["sites"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["state"] == "connected")
                    .filter_map(|s| s["unit"].as_str())
                    .collect();
                ["25", "227", "07888"].iter().all(|u| units.contains(u))
            })
    })
    .await
    .unwrap();
    // The other district runs on its own.
    assert_not_heard(&other, &chair).await;
    assert_eq!(audio_packets(&other, &chair), 0);
    assert_eq!(audio_packets(&chair, &other), 0);

    // Unlinked, the district is on its own again; the commune stays in.
    chair
        .send_json(&json!({"type": "unlink_room", "room": DISTRICT}))
        .unwrap();
    wait_until(WAIT, "the district told it left", || {
        last_links(&district).is_some_and(|l| l["into"].is_null())
    })
    .await
    .unwrap();
    assert!(chair.events().iter().any(|e| {
        e["type"] == "participant_left"
            && e["participant_id"] == district.id.as_str()
            && e["reason"] == "unlinked"
    }));
    assert_not_heard(&district, &chair).await;
    assert_not_heard(&chair, &district).await;
    assert_heard(&commune, &chair, 440.0).await;

    // The conference closes: the commune's room goes back to itself.
    chair.leave(Duration::from_secs(5)).await.unwrap();
    wait_until(WAIT, "the commune told the conference ended", || {
        last_links(&commune).is_some_and(|l| l["into"].is_null())
    })
    .await
    .unwrap();
    let stats = bridge_e2e::admin::admin_health(&server).await.unwrap();
    assert_eq!(stats["sfu"]["links"], json!([]), "{stats}");
}

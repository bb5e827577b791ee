//! The directory is told when rooms open and close and who joins and leaves, with each
//! participant's speaking time: what attendance and recording are built on.

mod common;

use bridge_sfu::{ParticipantId, RoomId, SfuEvent};
use bridge_signaling::directory::LinkPermission;
use bridge_signaling::{RoomDirectory, RoomEvent, RoomInfo};
use bridge_token::Role;
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

#[derive(Default)]
struct Recorded(Mutex<Vec<RoomEvent>>);

impl RoomDirectory for Recorded {
    fn describe<'a>(
        &'a self,
        _room: &'a RoomId,
    ) -> bridge_signaling::BoxFuture<'a, Option<RoomInfo>> {
        Box::pin(async { None })
    }
    fn may_pull_in<'a>(
        &'a self,
        _conference: &'a RoomId,
        _room: &'a RoomId,
    ) -> bridge_signaling::BoxFuture<'a, LinkPermission> {
        Box::pin(async { LinkPermission::Refused("no rooms here".into()) })
    }
    fn observe(&self, event: RoomEvent, _at: SystemTime) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorded {
    fn take(&self) -> Vec<RoomEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn eventually(rec: &Recorded, n: usize) -> Vec<RoomEvent> {
    for _ in 0..100 {
        if rec.0.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    rec.take()
}

#[tokio::test]
async fn opens_joins_leaves_and_closes_are_told_with_speaking_time() {
    // A dropped socket holds its place for the grace period: short here.
    let s = start(bridge_signaling::SignalingConfig {
        resume_grace: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let rec = Arc::new(Recorded::default());
    s.signaling.set_directory(rec.clone());
    let room = RoomId::from("m-7");

    let mut hall = s.connect().await;
    let token = s.unit_token("m-7", "Xã Tiên Phú", Role::Member, Some("08011"));
    hall.send(json!({"type": "join", "v": 1, "token": token}))
        .await;
    let joined = hall.recv_type("joined").await;
    let hall_id = ParticipantId(joined["participant"]["id"].as_str().unwrap().into());
    let (chair, _) = s.join("m-7", "Chủ tịch", Role::Chair).await;

    let events = eventually(&rec, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], RoomEvent::Opened { room: room.clone() });
    assert_eq!(
        events[1],
        RoomEvent::Joined {
            room: room.clone(),
            participant: hall_id.clone(),
            name: "Xã Tiên Phú".into(),
            unit: Some("08011".into()),
            role: Role::Member,
        }
    );
    assert!(
        matches!(&events[2], RoomEvent::Joined { name, unit: None, role: Role::Chair, .. } if name == "Chủ tịch"),
        "{events:?}"
    );

    // The hall is ranked among the speakers for about 400 ms, then drops out.
    s.media.emit(
        &hall_id.0,
        SfuEvent::Speakers {
            ordered: vec![hall_id.clone()],
        },
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.media
        .emit(&hall_id.0, SfuEvent::Speakers { ordered: vec![] });
    tokio::time::sleep(Duration::from_millis(100)).await;
    hall.send(json!({"type": "leave"})).await;
    let events = eventually(&rec, 1).await;
    let [
        RoomEvent::Left {
            room: r,
            participant,
            speaking,
        },
    ] = events.as_slice()
    else {
        panic!("expected one Left, got {events:?}");
    };
    assert_eq!((r, participant), (&room, &hall_id));
    assert!(
        *speaking >= Duration::from_millis(350) && *speaking < Duration::from_millis(1500),
        "speaking {speaking:?}"
    );

    // The last one drops its connection without `leave`: once the grace period is
    // over it left, and the room closed.
    drop(chair);
    let events = eventually(&rec, 2).await;
    assert!(
        matches!(&events[..], [RoomEvent::Left { speaking, .. }, RoomEvent::Closed { room: r }] if speaking.is_zero() && r == &room),
        "{events:?}"
    );
}

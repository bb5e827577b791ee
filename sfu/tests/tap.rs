//! Taps: a room's published media copied, as plain RTP, to a consumer outside the
//! media loop (the recorder), without ever making the loop wait.

mod common;

use bridge_sfu::*;
use common::{Client, wait_until};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Reads a tap for `secs`, counting packets per (participant, source).
async fn drain(tap: &mut Tap, secs: u64) -> HashMap<(String, TrackSource), Vec<TapPacket>> {
    let mut got: HashMap<(String, TrackSource), Vec<TapPacket>> = HashMap::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(ev)) = tokio::time::timeout_at(end, tap.events.recv()).await {
        if let TapEvent::Rtp(p) = ev {
            got.entry((p.participant_id.0.clone(), p.source))
                .or_default()
                .push(p);
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_copies_the_rooms_audio_and_video_and_nothing_else() {
    let sfu = common::start_sfu(false).await;
    let mut tap = sfu.start_tap(&RoomId::from("room-1"), 4096).unwrap();
    let mut other = sfu.start_tap(&RoomId::from("room-2"), 4096).unwrap();
    let alice = Client::join(&sfu, "room-1", "alice").await;
    let bob = Client::join(&sfu, "room-1", "bob").await;
    let got = drain(&mut tap, 3).await;
    for who in ["alice", "bob"] {
        let audio = &got[&(who.to_owned(), TrackSource::Microphone)];
        let video = &got[&(who.to_owned(), TrackSource::Camera)];
        assert!(audio.len() > 50, "{who}: {} audio packets", audio.len());
        assert!(video.len() > 20, "{who}: {} video packets", video.len());
        assert_eq!(audio[0].mime.to_lowercase(), "audio/opus");
        assert_eq!(video[0].mime.to_lowercase(), "video/vp8");
        // Plain RTP: consecutive sequence numbers, the VP8 descriptor then the frame.
        let seqs: Vec<u16> = audio.iter().map(|p| p.sequence).collect();
        assert!(
            seqs.windows(2)
                .filter(|w| w[1] == w[0].wrapping_add(1))
                .count()
                > seqs.len() * 9 / 10
        );
        assert!(video.iter().any(|p| p.marker));
    }
    assert_eq!(tap.dropped(), 0);
    assert!(
        other.events.try_recv().is_err(),
        "another room's tap got media"
    );
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tap_drops_and_counts_while_media_flows_on() {
    let sfu = common::start_sfu(false).await;
    // Never read: fills after 8 events.
    let tap = sfu.start_tap(&RoomId::from("room-1"), 8).unwrap();
    let alice = Client::join(&sfu, "room-1", "alice").await;
    let bob = Client::join(&sfu, "room-1", "bob").await;
    let flowing = wait_until(Duration::from_secs(20), || {
        bob.received(&alice, "video") > 100 && alice.received(&bob, "audio") > 100
    })
    .await;
    assert!(flowing, "media stopped behind a full tap");
    assert!(tap.dropped() > 100, "dropped {}", tap.dropped());
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_asks_for_keyframes_through_the_rate_limit_and_stops() {
    let sfu = common::start_sfu(false).await;
    let room = RoomId::from("room-1");
    let mut tap = sfu.start_tap(&room, 4096).unwrap();
    let alice = Client::join(&sfu, "room-1", "alice").await;
    let got = drain(&mut tap, 2).await;
    let camera = got[&("alice".to_owned(), TrackSource::Camera)][0]
        .track_id
        .clone();
    tokio::time::sleep(Duration::from_millis(1200)).await; // past any earlier request's gate
    let before = alice.shared.keyframe_requests.load(Ordering::Relaxed);
    for _ in 0..20 {
        sfu.request_keyframe(&camera).unwrap();
    }
    let asked = wait_until(Duration::from_secs(3), || {
        alice.shared.keyframe_requests.load(Ordering::Relaxed) > before
    })
    .await;
    assert!(asked, "no keyframe request reached the publisher");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = alice.shared.keyframe_requests.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        1,
        "20 requests within the gate's interval make one"
    );

    sfu.stop_tap(&room).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    while tap.events.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tap.events.try_recv().is_err(),
        "a stopped tap still receives"
    );
    alice.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_room_keeps_the_lowest_layer_of_a_speaker_nobody_watches() {
    use common::simulcast::{Participant, Publish};
    let sfu = common::start_sfu(false).await;
    let room = RoomId::from("room-1");
    let speaker = Participant::join(
        &sfu,
        "room-1",
        "speaker",
        Publish {
            audio_level: Some(20),
            simulcast: Some([300, 900, 2400]),
        },
        false,
        None,
    )
    .await;
    let layers = || *speaker.shared.layers_active.lock().unwrap();
    // Alone in the room, nobody receives its video: every encoding is paused.
    assert!(
        wait_until(Duration::from_secs(15), || layers() == [false; 3]).await,
        "layers {:?}",
        layers()
    );
    // Recorded, its lowest encoding comes back on, and the tap gets it.
    let mut tap = sfu.start_tap(&room, 4096).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || layers() == [true, false, false]).await,
        "layers {:?}",
        layers()
    );
    let got = drain(&mut tap, 2).await;
    let video = got
        .get(&("speaker".to_owned(), TrackSource::Camera))
        .map_or(&[][..], Vec::as_slice);
    assert!(video.len() > 10, "{} video packets", video.len());
    assert!(video.iter().all(|p| p.layer == 0));
    // The recording stops: nothing needs the video any more.
    sfu.stop_tap(&room).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || layers() == [false; 3]).await,
        "layers {:?}",
        layers()
    );
    speaker.close().await;
}

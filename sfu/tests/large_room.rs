//! A large room over real WebRTC: a chair publishing three simulcast encodings and a
//! loud tone, many sites each publishing a tone of its own loudness, a subscriber that
//! shows the chair as a thumbnail, and one on a link that is throttled and freed again.

mod common;

use bridge_sfu::*;
use common::proxy::throttle;
use common::simulcast::{Participant, Publish};
use common::wait_until;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Sites besides the chair and the two observers (each with a publish and a subscribe
/// connection: 2 + 2·SITES + 2 connections in one debug test process).
const SITES: usize = 30;
const ROOM: &str = "province";
/// Frame sizes of the q, h, f encodings at 25 fps: about 80, 240 and 700 kbit/s.
const SIZES: [usize; 3] = [400, 1200, 3500];

async fn received_video(sfu: &SfuHandle, who: &ParticipantId) -> Option<ReceivedVideo> {
    sfu.stats()
        .await
        .subscribers
        .into_iter()
        .find(|s| &s.participant_id == who)?
        .videos
        .into_iter()
        .next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_links_and_loudness_decide_what_each_site_receives() {
    let sfu = common::start_sfu(false).await;
    let chair = Participant::join(
        &sfu,
        ROOM,
        "chair",
        Publish {
            audio_level: Some(20),
            simulcast: Some(SIZES),
        },
        false,
        None,
    )
    .await;
    let mut sites = Vec::new();
    for i in 0..SITES {
        // Quieter and quieter: -40, -42, ... dBov.
        let publish = Publish {
            audio_level: Some(40 + 2 * i as u8),
            simulcast: None,
        };
        sites.push(
            Participant::join(&sfu, ROOM, &format!("site-{i:02}"), publish, false, None).await,
        );
    }
    let thumb = Participant::join(&sfu, ROOM, "thumb", Publish::default(), false, None).await;
    assert!(
        wait_until(Duration::from_secs(60), || thumb
            .got(&chair.id, "video")
            .packets
            > 50)
        .await,
        "the thumbnail observer receives the chair's video"
    );
    let track = received_video(&sfu, &thumb.id).await.unwrap().track_id;

    // (a) The view: a thumbnail gets the lowest layer. The sites report no bandwidth
    // estimate, so they keep the chair on the main stage at f: nobody needs h, and the
    // chair is told to pause it. (Checked before the throttled observer joins: its
    // estimate moves with the machine's load and could ask for h at any moment.)
    sfu.set_view(&thumb.id, &track, View::Low).await.unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || thumb
            .got(&chair.id, "video")
            .layer
            == Some(0))
        .await,
        "thumbnail on q: {:?}",
        thumb.got(&chair.id, "video").layer
    );
    let v = received_video(&sfu, &thumb.id).await.unwrap();
    assert_eq!(
        (v.view, v.layer, v.rid.as_deref()),
        (View::Low, Some(0), Some("q"))
    );
    assert!(
        wait_until(Duration::from_secs(5), || {
            *chair.shared.layers_active.lock().unwrap() == [true, false, true]
        })
        .await,
        "h paused at the publisher: {:?}",
        chair.shared.layers_active.lock().unwrap()
    );

    // The main stage over a free link gets the highest layer.
    let link = throttle(sfu.udp_addr()).await;
    let thin = Participant::join(&sfu, ROOM, "thin", Publish::default(), true, Some(&link)).await;
    assert!(
        wait_until(Duration::from_secs(30), || thin
            .got(&chair.id, "video")
            .layer
            == Some(2))
        .await,
        "main stage on f: {:?}",
        thin.got(&chair.id, "video").layer
    );

    // (b) Audio: the three loudest are forwarded, nobody else.
    let expected = vec!["chair".to_owned(), "site-00".into(), "site-01".into()];
    assert!(
        wait_until(Duration::from_secs(10), || thumb
            .hearing(Duration::from_millis(500))
            == expected)
        .await,
        "hears {:?}",
        thumb.hearing(Duration::from_millis(500))
    );
    // A quiet site gets louder than everyone: it leads the ranking and is heard.
    let loud = &sites[SITES - 1];
    loud.level.store(0, Ordering::Relaxed);
    let raised = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || thumb
            .speakers()
            .is_some_and(|(_, r)| r.first() == Some(&loud.id)))
        .await,
        "the louder site leads: {:?}",
        thumb.speakers()
    );
    let (at, _) = thumb.speakers().unwrap();
    println!("active speaker moved after {:?}", at - raised);
    // It is heard, and whoever it displaced is not (at most three at any time).
    assert!(
        wait_until(Duration::from_secs(5), || {
            let h = thumb.hearing(Duration::from_millis(500));
            h.contains(&loud.id.0) && h.len() == 3
        })
        .await,
        "hears {:?}",
        thumb.hearing(Duration::from_millis(500))
    );

    // (c) The link: throttled to 200 kbit/s, the main stage falls to the lowest layer.
    let estimate_before = received_estimate(&sfu, &thin.id).await;
    link.limit_bps.store(200_000, Ordering::Relaxed);
    let throttled = Instant::now();
    assert!(
        wait_until(Duration::from_secs(5), || thin
            .got(&chair.id, "video")
            .layer
            == Some(0))
        .await,
        "moved down (estimate {estimate_before:?} -> {:?})",
        received_estimate(&sfu, &thin.id).await
    );
    println!(
        "down after {:?}, estimate {:?}, {} packets dropped",
        throttled.elapsed(),
        received_estimate(&sfu, &thin.id).await,
        link.relay.dropped.load(Ordering::Relaxed)
    );
    link.limit_bps.store(0, Ordering::Relaxed);
    let freed = Instant::now();
    assert!(
        wait_until(Duration::from_secs(40), || thin
            .got(&chair.id, "video")
            .layer
            .is_some_and(|l| l > 0))
        .await,
        "moved up again (estimate {:?})",
        received_estimate(&sfu, &thin.id).await
    );
    println!(
        "up after {:?}, estimate {:?}",
        freed.elapsed(),
        received_estimate(&sfu, &thin.id).await
    );

    // In sequence order, every change of layer begins with a keyframe of the new layer
    // (unless the throttled link lost packets right there); every frame start is whole.
    for p in [&thumb, &thin] {
        let g = p.got(&chair.id, "video");
        let switches = g.switches_in_order();
        println!("{}: switches {switches:?}", p.id);
        assert!(
            switches.iter().all(|(_, _, key, gap)| *key || *gap),
            "{}: {switches:?}",
            p.id
        );
        assert_eq!(g.unmarked, 0);
    }
    let switches = thin.got(&chair.id, "video").switches_in_order();
    assert!(switches.iter().any(|s| s.1 == 0) && switches.last().is_some_and(|s| s.1 > 0));
    let g = thumb.got(&chair.id, "video");
    assert_eq!(g.seq.lost(), 0, "thumbnail stream continuous: {:?}", g.seq);

    for p in sites.into_iter().chain([chair, thumb, thin]) {
        p.close().await;
    }
    sfu.shutdown().await;
}

async fn received_estimate(sfu: &SfuHandle, who: &ParticipantId) -> Option<u64> {
    sfu.stats()
        .await
        .subscribers
        .into_iter()
        .find(|s| &s.participant_id == who)?
        .estimate_bps
}

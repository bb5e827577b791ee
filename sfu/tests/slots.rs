//! Subscribe slots (sfu/src/slots.rs) over real WebRTC on loopback: a site that shows
//! one video is given one video m-line, and what that m-line carries changes with its
//! `view` without a new offer, the `Slots` event naming the new source.

mod common;

use bridge_sfu::{ParticipantId, TrackId, TrackSource, View};
use common::{Client, Options, wait_until};
use std::collections::HashMap;
use std::time::Duration;

fn offers(c: &Client) -> Vec<Vec<bridge_sfu::RemoteTrack>> {
    c.shared.offers.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_shows_one_video_on_one_m_line_and_switches_it_without_an_offer() {
    let sfu = common::start_sfu(false).await;
    let mut sites = Vec::new();
    for name in ["s1", "s2", "s3", "s4"] {
        sites.push(Client::join(&sfu, "conf", name).await);
    }
    let all_seen = wait_until(Duration::from_secs(20), || {
        sites.iter().all(|a| {
            sites
                .iter()
                .filter(|b| b.id != a.id)
                .all(|b| a.received(b, "video") >= 20)
        })
    })
    .await;
    assert!(all_seen, "the sites do not see each other");
    // Camera track ids, as any client learns them (here: from the offers).
    let mut cameras: HashMap<ParticipantId, TrackId> = HashMap::new();
    for c in &sites {
        for t in offers(c).into_iter().flatten() {
            if t.source == TrackSource::Camera {
                cameras.insert(t.participant_id, t.track_id);
            }
        }
    }
    assert_eq!(cameras.len(), 4);
    let (s2, s3) = (&sites[1], &sites[2]);

    // Receive only: with four open microphones every one is heard (a fifth would
    // leave only the ranked loudest, and the synthetic tones are not ranked).
    let hall = Client::join_with(
        &sfu,
        "conf",
        "hall",
        Options {
            default_view: View::Off,
            ..Options::default()
        },
    )
    .await;
    let heard = wait_until(Duration::from_secs(20), || {
        sites.iter().all(|s| hall.received(s, "audio") >= 20)
    })
    .await;
    assert!(heard, "the hall does not hear the sites");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &sites {
        assert_eq!(hall.received(s, "video"), 0, "{} is shown unasked", s.id);
    }
    let kinds: Vec<TrackSource> = offers(&hall)
        .into_iter()
        .flatten()
        .map(|t| t.source)
        .collect();
    assert!(
        kinds.iter().all(|k| *k == TrackSource::Microphone),
        "a hall that shows nothing was offered {kinds:?}"
    );

    sfu.set_view(&hall.id, &cameras[&s2.id], View::High)
        .await
        .unwrap();
    let shown = wait_until(Duration::from_secs(10), || hall.received(s2, "video") >= 20).await;
    assert!(shown, "the hall does not receive the video it shows");
    let video_lines: Vec<String> = offers(&hall)
        .last()
        .unwrap()
        .iter()
        .filter(|t| t.source == TrackSource::Camera)
        .map(|t| t.mid.clone())
        .collect();
    assert_eq!(video_lines.len(), 1, "one video shown, one video m-line");
    let offers_then = offers(&hall).len();

    // The main stage moves to s3: asked for before s2 is let go, as a page does.
    sfu.set_view(&hall.id, &cameras[&s3.id], View::High)
        .await
        .unwrap();
    sfu.set_view(&hall.id, &cameras[&s2.id], View::Off)
        .await
        .unwrap();
    let moved = wait_until(Duration::from_secs(10), || hall.received(s3, "video") >= 20).await;
    assert!(moved, "the hall does not receive the video it now shows");
    let s2_then = hall.received(s2, "video");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        hall.received(s2, "video"),
        s2_then,
        "s2 still reaches the hall"
    );
    assert_eq!(offers(&hall).len(), offers_then, "the switch cost an offer");
    let last = hall.shared.slots.lock().unwrap().last().cloned().unwrap();
    let on_line: Vec<&bridge_sfu::RemoteTrack> =
        last.iter().filter(|t| t.mid == video_lines[0]).collect();
    assert_eq!(on_line.len(), 1);
    assert_eq!(
        on_line[0].participant_id, s3.id,
        "the m-line names its new source"
    );
    assert!(hall.failures().is_empty(), "{:?}", hall.failures());

    for c in sites.into_iter().chain([hall]) {
        c.close().await;
    }
    sfu.shutdown().await;
}

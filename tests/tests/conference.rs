//! A meeting as its participants experience it: the real `bridge` binary on loopback,
//! Rust WebRTC clients that each publish a sine tone at their own frequency and ~1 Mbit/s
//! of VP8, and check what they receive by decoding it.

use bridge_e2e::client::{Client, ClientOptions, hears_tone, wait_until};
use bridge_e2e::media::ToneReport;
use bridge_e2e::recv::Kind;
use bridge_e2e::server::BridgeServer;
use serde_json::Value;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const ROOM: &str = "phu-tho-province";

fn opts(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(1_000_000),
        // Keyframes only at the start and when asked (PLI/FIR): a late joiner's first
        // picture depends on the SFU asking the publishers for one.
        keyframe_every: None,
        ..Default::default()
    }
}

/// Waits until `listener` hears `speaker`'s tone, or fails with what it heard instead.
async fn hears(listener: &Client, speaker: &Client, freq: f32) -> ToneReport {
    hears_tone(listener, speaker, freq, WAIT).await.unwrap_or_else(|| {
        panic!(
            "{} does not hear {}'s {freq} Hz tone; last analysis {:?}, audio stream {:?}, failures {:?}",
            listener.id,
            speaker.id,
            listener.tone(&speaker.id, 0.5),
            listener.stream(&speaker.id, Kind::Audio),
            listener.failures(),
        )
    })
}

/// Every client hears every other's tone, and never its own.
async fn all_hear_each_other(clients: &[(&Client, f32)]) {
    for (listener, own) in clients {
        for (speaker, freq) in clients {
            if listener.id == speaker.id {
                continue;
            }
            let t = hears(listener, speaker, *freq).await;
            let own_share = listener.share_at(&speaker.id, *own, 0.5).unwrap_or(1.0);
            assert!(
                own_share < 0.05,
                "{} hears its own {own} Hz tone in {}'s stream (share {own_share}, {t:?})",
                listener.id,
                speaker.id
            );
        }
        assert!(
            !listener.senders_seen().contains(&listener.id),
            "{} receives its own media back",
            listener.id
        );
    }
}

async fn all_get_video(clients: &[&Client], min_packets: u64) {
    for l in clients {
        for s in clients {
            if l.id == s.id {
                continue;
            }
            wait_until(
                WAIT,
                &format!("{} to get video from {}", l.id, s.id),
                || {
                    l.stream(&s.id, Kind::Video)
                        .is_some_and(|v| v.packets >= min_packets)
                },
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{e}; stream {:?}; subscribed {:?}",
                    l.stream(&s.id, Kind::Video),
                    l.subscribed_tracks()
                )
            });
        }
    }
}

/// Over an observation window after warm-up, no video packet is lost on loopback.
async fn video_without_loss(clients: &[&Client], window: Duration) {
    for c in clients {
        c.reset_loss();
    }
    tokio::time::sleep(window).await;
    for l in clients {
        for s in clients {
            if l.id == s.id {
                continue;
            }
            let v = l
                .stream(&s.id, Kind::Video)
                .expect("video stream seen before");
            // ~100 packets/s at 1 Mbit/s: demand at least a third of that.
            let min = window.as_secs() * 30;
            assert!(
                v.expected >= min,
                "{} got only {} video packets from {} in {window:?}",
                l.id,
                v.expected,
                s.id
            );
            assert_eq!(
                v.lost, 0,
                "{} lost video packets from {}: {v:?}",
                l.id, s.id
            );
        }
    }
}

fn has_event(c: &Client, f: impl Fn(&Value) -> bool) -> bool {
    c.events().iter().any(f)
}

fn join_time(c: &Client) -> Option<Duration> {
    c.first_video_at().map(|t| t.duration_since(c.opened_at))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_talk_a_fourth_joins_late_and_one_leaves() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();

    let a = Client::join(&server, ROOM, "Tỉnh Phú Thọ", opts(440.0))
        .await
        .unwrap();
    let b = Client::join(&server, ROOM, "Huyện Tân Sơn", opts(660.0))
        .await
        .unwrap();
    let c = Client::join(&server, ROOM, "Xã Thanh Sơn", opts(880.0))
        .await
        .unwrap();

    // The roster: the third sees the first two in `joined`.
    let others: Vec<&str> = c.joined["participants"]
        .as_array()
        .expect("joined.participants")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(
        others.contains(&a.id.as_str()) && others.contains(&b.id.as_str()),
        "{others:?}"
    );
    assert!(!others.contains(&c.id.as_str()));

    all_hear_each_other(&[(&a, 440.0), (&b, 660.0), (&c, 880.0)]).await;

    // The server ranks the three talkers from the audio levels of their packets.
    for listener in [&a, &b, &c] {
        wait_until(
            WAIT,
            &format!("{} told the active speakers", listener.id),
            || {
                listener.events().iter().any(|e| {
                    e["type"] == "active_speakers"
                        && [&a, &b, &c].iter().all(|t| {
                            e["participants"]
                                .as_array()
                                .is_some_and(|l| l.iter().any(|p| p == t.id.as_str()))
                        })
                })
            },
        )
        .await
        .unwrap();
    }
    all_get_video(&[&a, &b, &c], 50).await;
    video_without_loss(&[&a, &b, &c], Duration::from_secs(5)).await;
    println!(
        "join time (ws open -> first remote video packet), 3rd participant: {:?}",
        join_time(&c)
    );

    // The subscribe offer maps every mid to its participant and source.
    let tracks = a.subscribed_tracks();
    for p in [&b, &c] {
        for source in ["microphone", "camera"] {
            assert!(
                tracks.iter().any(|t| t["participant_id"] == p.id.as_str()
                    && t["source"] == source
                    && t["mid"].is_string()),
                "{source} of {} missing in a's subscribe offer tracks {tracks:?}",
                p.id
            );
        }
    }

    // A fourth joins late and gets everything.
    let t0 = Instant::now();
    let d = Client::join(&server, ROOM, "Xã Kiệt Sơn", opts(1100.0))
        .await
        .unwrap();
    // Its `joined` lists the three with their live tracks.
    let roster = d.joined["participants"].as_array().expect("participants");
    for p in [&a, &b, &c] {
        let entry = roster
            .iter()
            .find(|x| x["id"] == p.id.as_str())
            .unwrap_or_else(|| panic!("{} missing from the late joiner's roster", p.id));
        let mut sources: Vec<&str> = entry["tracks"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["source"].as_str()).collect())
            .unwrap_or_default();
        sources.sort();
        assert_eq!(
            sources,
            ["camera", "microphone"],
            "tracks of {} in {entry}",
            p.id
        );
    }
    all_hear_each_other(&[(&a, 440.0), (&b, 660.0), (&c, 880.0), (&d, 1100.0)]).await;
    all_get_video(&[&a, &b, &c, &d], 50).await;
    println!(
        "late joiner: join time (ws open -> first remote video packet) {:?}; all tones + video after {:?}",
        join_time(&d),
        t0.elapsed()
    );
    for p in [&a, &b, &c] {
        wait_until(
            WAIT,
            &format!("a keyframe from {} for the late joiner", p.id),
            || {
                d.stream(&p.id, Kind::Video)
                    .is_some_and(|v| v.keyframes >= 1)
            },
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e}; {:?}; keyframe requests seen by the publisher: {}",
                d.stream(&p.id, Kind::Video),
                p.keyframe_requests()
            )
        });
    }
    let first_key = [&a, &b, &c]
        .iter()
        .filter_map(|p| d.stream(&p.id, Kind::Video)?.first_keyframe_at)
        .max()
        .map(|t| t.duration_since(d.opened_at));
    println!("late joiner: ws open -> a keyframe from every publisher: {first_key:?}");
    println!(
        "keyframe requests (PLI/FIR) that reached the publishers: a {}, b {}, c {}",
        a.keyframe_requests(),
        b.keyframe_requests(),
        c.keyframe_requests()
    );
    assert!(has_event(&a, |e| e["type"] == "participant_joined"
        && e["participant"]["id"] == d.id.as_str()));
    for source in ["microphone", "camera"] {
        wait_until(WAIT, "track_published of the late joiner", || {
            has_event(&a, |e| {
                e["type"] == "track_published"
                    && e["participant_id"] == d.id.as_str()
                    && e["source"] == source
            })
        })
        .await
        .unwrap();
    }
    video_without_loss(&[&a, &b, &c, &d], Duration::from_secs(3)).await;

    // A mutes the microphone; the others are told.
    a.send_json(&serde_json::json!({"type": "mute", "source": "microphone", "muted": true}))
        .unwrap();
    for o in [&b, &c, &d] {
        wait_until(WAIT, "mute_changed", || {
            has_event(o, |e| {
                e["type"] == "mute_changed"
                    && e["participant_id"] == a.id.as_str()
                    && e["source"] == "microphone"
                    && e["muted"] == true
            })
        })
        .await
        .unwrap();
    }

    // One leaves; the others are told and stop receiving its tracks.
    let b_id = b.id.clone();
    let bye = b.leave(Duration::from_secs(10)).await.unwrap();
    assert!(bye.is_some(), "no bye after leave");
    for o in [&a, &c, &d] {
        wait_until(WAIT, &format!("{} told that {b_id} left", o.id), || {
            has_event(o, |e| {
                e["type"] == "participant_left"
                    && e["participant_id"] == b_id.as_str()
                    && e["reason"] == "left"
            })
        })
        .await
        .unwrap();
        for source in ["microphone", "camera"] {
            wait_until(
                WAIT,
                &format!("{} told {b_id}'s {source} ended", o.id),
                || {
                    has_event(o, |e| {
                        e["type"] == "track_unpublished"
                            && e["participant_id"] == b_id.as_str()
                            && e["source"] == source
                    })
                },
            )
            .await
            .unwrap();
        }
        wait_until(
            WAIT,
            "a subscribe offer without the leaver's tracks",
            || {
                !o.subscribed_tracks()
                    .iter()
                    .any(|t| t["participant_id"] == b_id.as_str())
            },
        )
        .await
        .unwrap();
    }
    // Grace period for packets already in flight, then nothing more from b.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<u64> = [&a, &c, &d].iter().map(|o| o.packets_from(&b_id)).collect();
    let others_before = a.packets_from(&c.id);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: Vec<u64> = [&a, &c, &d].iter().map(|o| o.packets_from(&b_id)).collect();
    assert_eq!(
        before, after,
        "packets from {b_id} still arrive after it left"
    );
    // The meeting goes on for the others.
    assert!(
        a.packets_from(&c.id) > others_before + 50,
        "a stopped receiving c"
    );

    // C vanishes without a word (tab closed, link cut): the socket and both peer
    // connections just go away. The others are told and its media stops.
    let c_id = c.id.clone();
    assert!(
        c.failures().is_empty(),
        "client failures: {:?}",
        c.failures()
    );
    let mut c = c;
    c.close().await;
    for o in [&a, &d] {
        wait_until(WAIT, &format!("{} told that {c_id} is gone", o.id), || {
            has_event(o, |e| {
                e["type"] == "participant_left" && e["participant_id"] == c_id.as_str()
            })
        })
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = a.packets_from(&c_id);
    let d_before = a.packets_from(&d.id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        a.packets_from(&c_id),
        before,
        "media from {c_id} after it vanished"
    );
    assert!(
        a.packets_from(&d.id) > d_before + 50,
        "a stopped receiving d"
    );

    for mut x in [a, d] {
        assert!(
            x.failures().is_empty(),
            "client failures: {:?}",
            x.failures()
        );
        x.close().await;
    }
    assert!(server.is_alive());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_participant_loses_its_socket_after_15_s_and_its_place_after_30_s() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let mut watcher = Client::join(&server, ROOM, "watcher", ClientOptions::silent())
        .await
        .unwrap();
    // Joins, then never sends anything again (no pings).
    let mut mute = bridge_e2e::signal::Signal::connect(&server.ws_url())
        .await
        .unwrap();
    mute.send_json(&bridge_e2e::signal::join_msg(
        &server.token(ROOM, "mute", "member"),
    ))
    .unwrap();
    let (joined, _) = mute.expect_type("joined", WAIT).await.unwrap();
    let id = joined["participant"]["id"].as_str().unwrap().to_owned();
    let t0 = Instant::now();
    let (code, got) = mute.expect_close(Duration::from_secs(40)).await.unwrap();
    let idle = t0.elapsed();
    // The socket is closed (4408), not the session: no `bye`, the place is held for
    // a resume (docs/protocol.md, "Staying in the room across a drop").
    assert_eq!(code, Some(4408), "{got:?}");
    assert!(
        !got.iter().any(|m| m["type"] == "bye"),
        "a held place gets no bye: {got:?}"
    );
    assert!(
        idle >= Duration::from_secs(14),
        "closed after only {idle:?}"
    );
    assert!(
        !has_event(&watcher, |e| e["type"] == "participant_left"),
        "the place is held: nobody saw it leave yet"
    );
    wait_until(WAIT, "participant_left with reason timeout", || {
        has_event(&watcher, |e| {
            e["type"] == "participant_left"
                && e["participant_id"] == id.as_str()
                && e["reason"] == "timeout"
        })
    })
    .await
    .unwrap();
    let gone = t0.elapsed();
    assert!(
        gone >= Duration::from_secs(29),
        "left after {gone:?}, before the 30 s grace period ended"
    );
    // The watcher pinged all along and is still there.
    assert!(watcher.pongs() >= 2, "watcher pongs: {}", watcher.pongs());
    assert!(watcher.closed_by_server().is_none());
    watcher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_that_can_only_use_tcp_joins_over_ice_tcp() {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    assert!(server.tcp.is_some(), "the server announces no ICE-TCP port");
    let a = Client::join(&server, ROOM, "Tỉnh Phú Thọ", opts(440.0))
        .await
        .unwrap();
    let tcp = ClientOptions {
        tcp_only: true,
        ..opts(660.0)
    };
    let b = Client::join(&server, ROOM, "Xã vùng cao", tcp)
        .await
        .unwrap();
    all_hear_each_other(&[(&a, 440.0), (&b, 660.0)]).await;
    all_get_video(&[&a, &b], 50).await;
    video_without_loss(&[&a, &b], Duration::from_secs(3)).await;
    println!(
        "ICE-TCP join time (ws open -> first remote video packet): {:?}",
        join_time(&b)
    );
    for mut x in [a, b] {
        x.close().await;
    }
}

/// A hall that shows one video: it joins with `default_view: off`, gets the audio but
/// no video, then names one camera with `view` (from the room's published tracks, not
/// from what it receives) and gets that one only; it moves its main stage to another
/// camera and the media is credited to the new sender, through the mid map however the
/// server refills the m-line (a new offer or a `slots` message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_that_shows_one_video_gets_only_that_one() {
    use bridge_e2e::client::Quality;
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await.unwrap();
    let a = Client::join(&server, ROOM, "Tỉnh Phú Thọ", opts(440.0))
        .await
        .unwrap();
    let b = Client::join(&server, ROOM, "Huyện Tân Sơn", opts(660.0))
        .await
        .unwrap();
    let hall_opts = ClientOptions {
        default_view: Some(Quality::Off),
        ..ClientOptions::silent()
    };
    let hall = Client::join(&server, ROOM, "Hội trường", hall_opts)
        .await
        .unwrap();
    // The audio comes as ever; no video yet.
    hears(&hall, &a, 440.0).await;
    hears(&hall, &b, 660.0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for p in [&a, &b] {
        assert!(
            hall.stream(&p.id, Kind::Video).is_none(),
            "video from {} without a view: {:?}; m-lines {:?}",
            p.id,
            hall.stream(&p.id, Kind::Video),
            hall.subscribed_tracks()
        );
    }

    // The main stage: a's camera, known from the room, not from what the hall receives.
    let track_of = |p: &Client| {
        hall.video_track_of(&p.id)
            .unwrap_or_else(|| panic!("no camera of {} in {:?}", p.id, hall.published_tracks()))
    };
    hall.view(&track_of(&a), Quality::High).unwrap();
    let got_video = |from: &Client, min: u64| {
        hall.stream(&from.id, Kind::Video)
            .is_some_and(|v| v.packets >= min && v.keyframes >= 1)
    };
    wait_until(WAIT, "the hall to get a's video", || got_video(&a, 50))
        .await
        .unwrap_or_else(|e| panic!("{e}; m-lines {:?}", hall.subscribed_tracks()));
    assert!(
        hall.stream(&b.id, Kind::Video).is_none(),
        "b's video unasked"
    );

    // A keyframe request for a's video reaches a (on the m-line that carries it).
    let kf = a.keyframe_requests();
    let deadline = Instant::now() + WAIT;
    while a.keyframe_requests() == kf {
        assert!(Instant::now() < deadline, "no keyframe request reached a");
        hall.request_keyframe(&a.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        hall.request_keyframe(&b.id).await.is_err(),
        "no m-line carries b's video"
    );

    // The main stage moves to b: b's video takes over the m-line at b's next keyframe
    // (the server asks b for one), and a `slots` message (or an offer) names b. As a
    // page does, the new video is asked for before the old one is let go.
    hall.view(&track_of(&b), Quality::High).unwrap();
    hall.view(&track_of(&a), Quality::Off).unwrap();
    let fail = |e: anyhow::Error| -> ! {
        panic!(
            "{e}; {} slots messages; b's video at the hall {:?}; unattributed {:?}; m-lines {:?}",
            hall.slots_messages(),
            hall.stream(&b.id, Kind::Video),
            hall.unattributed(),
            hall.subscribed_tracks()
        )
    };
    wait_until(WAIT, "the hall to get b's video", || {
        hall.stream(&b.id, Kind::Video)
            .is_some_and(|v| v.packets >= 50)
    })
    .await
    .unwrap_or_else(|e| fail(e));
    // The keyframe that began b on a reused m-line travels faster than the `slots`
    // message naming b, so it may have been counted as a's: a keyframe b sends now is
    // b's.
    let first_keyframe_was_bs = got_video(&b, 1);
    let deadline = Instant::now() + WAIT;
    while !got_video(&b, 50) {
        if Instant::now() > deadline {
            fail(anyhow::anyhow!("no keyframe from b at the hall"));
        }
        hall.request_keyframe(&b.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let a_before = hall.stream(&a.id, Kind::Video).map_or(0, |v| v.packets);
    let b_before = hall.stream(&b.id, Kind::Video).map_or(0, |v| v.packets);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        hall.stream(&a.id, Kind::Video).map_or(0, |v| v.packets),
        a_before,
        "a's video goes on after its view went off; m-lines {:?}",
        hall.subscribed_tracks()
    );
    assert!(
        hall.stream(&b.id, Kind::Video).map_or(0, |v| v.packets) > b_before + 20,
        "b's video stalled"
    );
    println!(
        "hall: {} subscribe offers, {} slots messages, unattributed packets (audio, video) \
         {:?}, the keyframe that began b counted as b's: {first_keyframe_was_bs}",
        hall.subscribe_offers(),
        hall.slots_messages(),
        hall.unattributed()
    );

    // A view must name a track published in the room.
    hall.view("no-such-track", Quality::High).unwrap();
    wait_until(WAIT, "bad_message for an unknown track", || {
        hall.errors().iter().any(|e| e["code"] == "bad_message")
    })
    .await
    .unwrap();

    for mut x in [a, b, hall] {
        assert!(
            x.failures().is_empty(),
            "{} client failures: {:?}",
            x.id,
            x.failures()
        );
        x.close().await;
    }
}

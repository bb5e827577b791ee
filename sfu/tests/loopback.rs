//! The SFU on 127.0.0.1:0 with real WebRTC clients (the async `webrtc` crate)
//! connected through the handle: everyone hears and sees everyone else, garbage on
//! the media port changes nothing, and leaving frees all state.

mod common;

use bridge_sfu::*;
use common::{Client, wait_until};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Random bytes, RTP-looking bytes and STUN binding requests naming unknown ufrags.
async fn spray_garbage(to: SocketAddr, rounds: usize) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..rounds {
        let mut junk: Vec<u8> = (0..(i % 300) + 1).map(|_| rand::random::<u8>()).collect();
        if i % 3 == 1 {
            junk[0] = 0x80; // looks like RTP
        }
        let _ = sock.send_to(&junk, to).await;
        let mut stun = vec![0x00, 0x01, 0x00, 0x0C, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[9u8; 12]);
        stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
        stun.extend_from_slice(b"nobody:x");
        let _ = sock.send_to(&stun, to).await;
        // Paced, so a busy machine's socket buffer does not lose them before the SFU
        // reads (and drops) each one.
        if i % 25 == 24 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

fn all_received(clients: &[Client], min: u64) -> bool {
    clients.iter().all(|me| {
        clients
            .iter()
            .filter(|o| o.id != me.id)
            .all(|o| me.received(o, "audio") >= min && me.received(o, "video") >= min)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_exchange_audio_and_video_despite_garbage() {
    let sfu = common::start_sfu(true).await;
    spray_garbage(sfu.udp_addr(), 200).await;

    let mut clients = Vec::new();
    for name in ["alice", "bob", "carol"] {
        clients.push(Client::join(&sfu, "room-1", name).await);
        // Garbage while connections are being set up.
        spray_garbage(sfu.udp_addr(), 50).await;
    }
    let ok = wait_until(Duration::from_secs(20), || all_received(&clients, 20)).await;
    let report: Vec<_> = clients
        .iter()
        .map(|c| {
            (
                c.id.0.clone(),
                c.shared.received.lock().unwrap().clone(),
                c.failures(),
            )
        })
        .collect();
    assert!(
        ok,
        "not everyone received everyone: {report:#?}\n{:?}",
        sfu.stats().await
    );

    // Garbage while media flows does not stop it.
    let before: Vec<u64> = clients
        .iter()
        .map(|c| c.received(&clients[0], "video"))
        .collect();
    spray_garbage(sfu.udp_addr(), 500).await;
    let baseline = before.clone();
    let ok = wait_until(Duration::from_secs(10), || {
        clients[1..]
            .iter()
            .zip(&baseline[1..])
            .all(|(c, b)| c.received(&clients[0], "video") >= b + 50)
    })
    .await;
    assert!(ok, "media stopped after garbage");

    let stats = sfu.stats().await;
    for c in &clients {
        let kf = c
            .shared
            .keyframe_requests
            .load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "{}: {:?} keyframe requests {kf}",
            c.id,
            c.shared.received.lock().unwrap()
        );
    }
    eprintln!("{stats:?}");
    assert_eq!(stats.rooms, 1);
    assert_eq!(stats.participants, 3);
    assert_eq!(stats.published_tracks, 6);
    assert_eq!(stats.connections, 6);
    assert!(stats.dropped_datagrams >= 1000, "{stats:?}");
    assert!(stats.packets_forwarded > stats.packets_in, "{stats:?}");
    // Every subscriber asked for a keyframe on joining, yet the aggregation keeps
    // what reaches each publisher to about one per second.
    for c in &clients {
        let kf = c
            .shared
            .keyframe_requests
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(kf <= 30, "{} got {kf} keyframe requests", c.id);
    }
    for c in &clients {
        assert!(c.failures().is_empty(), "{}: {:?}", c.id, c.failures());
        // The last offer lists the 4 tracks of the other two, each on its own m-line.
        let offers = c.shared.offers.lock().unwrap();
        let last = offers.last().unwrap();
        assert_eq!(last.len(), 4, "{last:?}");
        let mut mids: Vec<&str> = last.iter().map(|t| t.mid.as_str()).collect();
        mids.sort();
        mids.dedup();
        assert_eq!(mids.len(), 4, "{last:?}");
        assert!(
            last.iter()
                .all(|t| t.participant_id != c.id && !t.mid.is_empty())
        );
        let sources: Vec<_> = last.iter().map(|t| t.source).collect();
        assert_eq!(
            sources.iter().filter(|s| s.is_audio()).count(),
            2,
            "{last:?}"
        );
    }

    // Carol leaves: the others' m-lines no longer carry her tracks (a new offer or a
    // `Slots` event says so).
    let carol = clients.pop().unwrap();
    let carol_id = carol.id.clone();
    sfu.leave(&carol_id).await;
    carol.close().await;
    let ok = wait_until(Duration::from_secs(10), || {
        clients.iter().all(|c| {
            let mids = c.shared.mids.lock().unwrap();
            mids.len() == 2 && mids.values().all(|p| *p != carol_id.0)
        })
    })
    .await;
    assert!(
        ok,
        "m-lines still carry carol: {:?}",
        clients
            .iter()
            .map(|c| c.shared.mids.lock().unwrap().clone())
            .collect::<Vec<_>>()
    );

    for c in clients {
        sfu.leave(&c.id).await;
        sfu.leave(&c.id).await; // idempotent
        c.close().await;
    }
    assert_all_freed(&sfu).await;
    sfu.shutdown().await;
    assert_eq!(sfu.stats().await, SfuStats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_and_leaving_many_frees_everything() {
    let sfu = common::start_sfu(true).await;
    let mut clients = Vec::new();
    for i in 0..6 {
        clients.push(Client::join(&sfu, &format!("room-{}", i % 2), &format!("p{i}")).await);
    }
    // Wait until media flows in both rooms (tracks live, subscriptions made).
    let ok = wait_until(Duration::from_secs(20), || {
        clients[0].received(&clients[2], "video") > 0
            && clients[1].received(&clients[3], "video") > 0
    })
    .await;
    assert!(ok);
    // Nobody hears across rooms.
    assert_eq!(clients[0].received(&clients[1], "audio"), 0);
    let stats = sfu.stats().await;
    assert_eq!(
        (stats.rooms, stats.participants, stats.connections),
        (2, 6, 12)
    );

    // Leave in an order that leaves offers outstanding for the rest.
    for c in clients {
        sfu.leave(&c.id).await;
        c.close().await;
    }
    assert_all_freed(&sfu).await;
    // Unknown participants get typed errors, not panics.
    let ghost = ParticipantId::from("ghost");
    assert_eq!(
        sfu.publish_offer(&ghost, "v=0".into(), vec![]).await,
        Err(SfuError::UnknownParticipant(ghost.clone()))
    );
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    sfu.join("r".into(), ghost.clone(), tx.clone())
        .await
        .unwrap();
    assert_eq!(
        sfu.join("r".into(), ghost.clone(), tx).await,
        Err(SfuError::AlreadyJoined(ghost.clone()))
    );
    assert!(matches!(
        sfu.publish_offer(&ghost, "not sdp".into(), vec![]).await,
        Err(SfuError::InvalidSdp(_))
    ));
    assert_eq!(
        sfu.subscribe_answer(&ghost, "v=0".into()).await,
        Err(SfuError::UnexpectedAnswer)
    );
    sfu.shutdown().await;
    assert_eq!(
        sfu.join(
            "r".into(),
            "x".into(),
            tokio::sync::mpsc::unbounded_channel().0
        )
        .await,
        Err(SfuError::Stopped)
    );
}

/// Every join renegotiates every member, and applying an answer costs the media thread
/// in proportion to the room: offers are paced, and a newcomer's microphone and camera
/// (live a few packets apart) reach each member in one offer, not one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomers_tracks_reach_each_member_in_one_offer() {
    let sfu = common::start_sfu(false).await;
    let mut members = Vec::new();
    for name in ["a", "b", "c"] {
        members.push(Client::join(&sfu, "paced", name).await);
    }
    assert!(wait_until(Duration::from_secs(20), || all_received(&members, 20)).await);
    // Past every member's pace (tens of milliseconds in a room this small).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<usize> = members
        .iter()
        .map(|c| c.shared.offers.lock().unwrap().len())
        .collect();

    let newcomer = Client::join(&sfu, "paced", "d").await;
    let ok = wait_until(Duration::from_secs(20), || {
        members
            .iter()
            .all(|c| c.received(&newcomer, "audio") >= 20 && c.received(&newcomer, "video") >= 20)
    })
    .await;
    assert!(ok, "the members do not receive the newcomer");
    for (c, before) in members.iter().zip(before) {
        let offers = c.shared.offers.lock().unwrap();
        let new: Vec<usize> = offers[before..].iter().map(Vec::len).collect();
        // The two others' 4 tracks and the newcomer's 2, in one offer.
        assert_eq!(
            new,
            vec![6],
            "{}: track counts of the offers since the join",
            c.id
        );
    }
    for c in members.into_iter().chain([newcomer]) {
        c.close().await;
    }
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_flows_over_ice_tcp_alone() {
    let sfu = common::start_sfu(true).await;
    let tcp = sfu.tcp_addr().unwrap();
    // Junk connections: random bytes, an oversized frame header, a bogus STUN frame.
    let mut junk = Vec::new();
    for i in 0..5u8 {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(tcp).await.unwrap();
        let bytes: Vec<u8> = match i {
            0 => (0..500).map(|_| rand::random::<u8>()).collect(),
            1 => vec![0xFF, 0xFF, 1, 2, 3],
            _ => [
                &[0u8, 28][..],
                &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42],
                &[7u8; 12],
                b"\x00\x06\x00\x04nope",
            ]
            .concat(),
        };
        s.write_all(&bytes).await.unwrap();
        junk.push(s); // held open while the real clients connect
    }
    let opts = common::Options {
        publish: Some(common::Publish { frame_bytes: 1000 }),
        tcp: true,
        ..Default::default()
    };
    let a = Client::join_with(&sfu, "tcp-room", "tcp-a", opts).await;
    let b = Client::join_with(&sfu, "tcp-room", "tcp-b", opts).await;
    let ok = wait_until(Duration::from_secs(20), || {
        b.received(&a, "video") >= 20
            && b.received(&a, "audio") >= 20
            && a.received(&b, "video") >= 20
            && a.received(&b, "audio") >= 20
    })
    .await;
    let stats = sfu.stats().await;
    assert!(
        ok,
        "a: {:?} b: {:?} {stats:?}",
        a.shared.received.lock().unwrap(),
        b.shared.received.lock().unwrap(),
    );
    assert!(
        stats.dropped_datagrams >= 1,
        "the bogus STUN frame was counted: {stats:?}"
    );
    drop(junk);
    for c in [a, b] {
        sfu.leave(&c.id).await;
        c.close().await;
    }
    assert_eq!(sfu.stats().await.connections, 0);
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_packets_are_retransmitted_from_the_cache_with_a_cap() {
    let sfu = common::start_sfu(true).await;
    let publisher = Client::join(&sfu, "nack-room", "sender").await;
    let proxy = common::proxy::lossy_proxy(sfu.udp_addr(), 25).await;
    let opts = common::Options {
        sub_via: Some(proxy.addr),
        ..Default::default()
    };
    let viewer = Client::join_with(&sfu, "nack-room", "viewer", opts).await;
    let ok = wait_until(Duration::from_secs(20), || {
        viewer.received(&publisher, "video") >= 300 && proxy.dropped.load(Ordering::Relaxed) >= 10
    })
    .await;
    let stats = sfu.stats().await;
    let dropped = proxy.dropped.load(Ordering::Relaxed);
    assert!(ok, "dropped {dropped}, {stats:?}");
    eprintln!("dropped {dropped}, {stats:?}");
    // Video losses are repaired from the SFU's cache; each packet is resent at most
    // MAX_RETRANSMISSIONS (2) times (a retransmission can be dropped by the proxy too).
    assert!(
        stats.retransmissions >= dropped / 2,
        "dropped {dropped}, {stats:?}"
    );
    assert!(
        stats.retransmissions <= 2 * dropped + 2,
        "dropped {dropped}, {stats:?}"
    );
    for c in [publisher, viewer] {
        sfu.leave(&c.id).await;
        c.close().await;
    }
    sfu.shutdown().await;
}

/// The signaling layer boxes these futures as `Send`.
#[allow(dead_code)]
fn handle_futures_are_send(h: SfuHandle, p: ParticipantId) {
    fn send<T: Send>(_: T) {}
    let (tx, _) = tokio::sync::mpsc::unbounded_channel();
    send(h.join("r".into(), p.clone(), tx));
    send(h.publish_offer(&p, String::new(), vec![]));
    send(h.subscribe_answer(&p, String::new()));
    send(h.leave(&p));
    send(h.stats());
    send(h.shutdown());
}

/// After everyone left: no room, participant, connection or track is left behind.
async fn assert_all_freed(sfu: &SfuHandle) {
    let stats = sfu.stats().await;
    assert_eq!(
        (
            stats.rooms,
            stats.participants,
            stats.connections,
            stats.published_tracks
        ),
        (0, 0, 0, 0),
        "{stats:?}"
    );
}

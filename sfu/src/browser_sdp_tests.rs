//! What a browser's publish offer gets back, without any sockets: the codecs,
//! extensions and candidates the answer carries decide whether Chrome can send.

use crate::api::*;
use crate::layers::View;
use crate::state::State;
use std::time::Instant;

const CHROME_OFFER: &str = include_str!("testdata/chrome_offer.sdp");

fn state() -> State {
    let config = SfuConfig {
        udp_bind: "0.0.0.0:40000".parse().unwrap(),
        tcp_bind: Some("0.0.0.0:40001".parse().unwrap()),
        ..SfuConfig::default()
    };
    State::new(
        config,
        "0.0.0.0:40000".parse().unwrap(),
        Some("0.0.0.0:40001".parse().unwrap()),
    )
    .unwrap()
}

fn section<'a>(sdp: &'a str, kind: &str) -> &'a str {
    let start = sdp.find(&format!("m={kind}")).unwrap();
    let rest = &sdp[start..];
    let end = rest[2..].find("\nm=").map_or(rest.len(), |i| i + 2);
    &rest[..end]
}

/// What the page declares beside CHROME_OFFER: its microphone and its camera.
fn chrome_tracks() -> Vec<TrackSpec> {
    vec![
        TrackSpec {
            mid: "0".into(),
            source: TrackSource::Microphone,
        },
        TrackSpec {
            mid: "1".into(),
            source: TrackSource::Camera,
        },
    ]
}

#[test]
fn chrome_publish_offer_gets_a_usable_answer() {
    let mut s = state();
    let now = Instant::now();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let p = ParticipantId::from("chrome");
    s.join(RoomId::from("r"), p.clone(), tx, View::High, now)
        .unwrap();
    let tracks = vec![
        TrackSpec {
            mid: "0".into(),
            source: TrackSource::Microphone,
        },
        TrackSpec {
            mid: "1".into(),
            source: TrackSource::Camera,
        },
    ];
    let answer = s
        .publish_offer(&p, CHROME_OFFER.to_owned(), tracks, now)
        .unwrap();
    let audio = section(&answer, "audio");
    let video = section(&answer, "video");

    assert!(audio.contains("a=rtpmap:111 opus/48000/2"), "{audio}");
    assert!(audio.contains("a=recvonly"), "{audio}");
    assert!(
        audio.contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        "{audio}"
    );
    assert!(video.contains("VP8/90000"), "{video}");
    assert!(video.contains("profile-level-id=42e01f"), "{video}");
    assert!(video.contains("nack pli"), "{video}");
    assert!(video.contains("ccm fir"), "{video}");
    // No RTX: retransmissions come from the original SSRC (docs/architecture.md, "Pitfalls").
    assert!(!answer.contains("rtx/90000"), "{answer}");
    assert!(!answer.contains("AV1"), "{answer}");
    // Loopback host candidates on the shared ports, UDP and passive TCP.
    assert!(answer.contains("127.0.0.1 40000 typ host"), "{answer}");
    assert!(
        answer.contains("127.0.0.1 40001 typ host tcptype passive"),
        "{answer}"
    );
    assert!(!answer.contains("a=setup:actpass"), "{answer}");

    // The mDNS candidate Chrome trickles is accepted (and ignored), as is the end marker.
    let mdns = IceCandidate {
        candidate:
            "candidate:1 1 udp 2113937151 0f2a3b4c-aaaa-bbbb-cccc-0123456789ab.local 50000 typ host"
                .into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    };
    assert_eq!(s.remote_candidate(&p, PcKind::Publish, mdns), Ok(()));
    let end = IceCandidate {
        candidate: String::new(),
        sdp_mid: None,
        sdp_m_line_index: None,
    };
    assert_eq!(s.remote_candidate(&p, PcKind::Publish, end), Ok(()));
    let bad = IceCandidate {
        candidate: "candidate:garbage".into(),
        sdp_mid: None,
        sdp_m_line_index: None,
    };
    assert!(matches!(
        s.remote_candidate(&p, PcKind::Publish, bad),
        Err(SfuError::InvalidCandidate(_))
    ));
    // Too many tracks is refused before anything changes.
    let four = (0..4)
        .map(|i| TrackSpec {
            mid: i.to_string(),
            source: TrackSource::Camera,
        })
        .collect();
    assert_eq!(
        s.publish_offer(&p, CHROME_OFFER.to_owned(), four, now),
        Err(SfuError::TooManyTracks { max: 3 })
    );
    s.leave(&p, now);
    assert_eq!(s.stats().connections, 0);
    assert!(s.by_ufrag.is_empty() && s.by_flow.is_empty());
}

/// Mangled versions of a real offer: every one is refused or answered, none panics.
#[test]
fn mangled_offers_never_panic() {
    let mut s = state();
    let now = Instant::now();
    let lines: Vec<&str> = CHROME_OFFER.split("\r\n").collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let p = ParticipantId(format!("p{round}"));
        s.join(RoomId::from("fuzz"), p.clone(), tx, View::High, now)
            .unwrap();
        let mut l: Vec<String> = lines.iter().map(|x| x.to_string()).collect();
        for _ in 0..(1 + next() % 4) {
            let i = (next() as usize) % l.len();
            match next() % 4 {
                0 => {
                    l.remove(i);
                }
                1 => {
                    let j = (next() as usize) % l.len();
                    l.swap(i, j);
                }
                2 => {
                    let cut = (next() as usize) % (l[i].len() + 1);
                    l[i].truncate(cut);
                }
                _ => {
                    let junk = [
                        "a=mid:",
                        "m=video 0",
                        "a=ssrc:x",
                        "a=rtpmap:96",
                        "a=fmtp:",
                        "a=extmap:99999 x",
                        "a=group:BUNDLE 7",
                        "c=IN",
                    ];
                    l.insert(i, junk[(next() as usize) % junk.len()].to_owned());
                }
            }
        }
        let sdp = l.join("\r\n");
        let _ = s.publish_offer(&p, sdp.clone(), chrome_tracks(), now);
        // A second offer on the same connection (renegotiation path).
        let _ = s.publish_offer(&p, sdp, chrome_tracks(), now);
        let _ = s.subscribe_answer(&p, CHROME_OFFER.to_owned(), now);
        s.leave(&p, now);
    }
    assert_eq!(s.stats().connections, 0);
}

#[test]
fn a_failed_connection_is_dropped_and_can_be_replaced() {
    let mut s = state();
    let now = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let p = ParticipantId::from("p");
    s.join(RoomId::from("r"), p.clone(), tx, View::High, now)
        .unwrap();
    s.publish_offer(&p, CHROME_OFFER.to_owned(), chrome_tracks(), now)
        .unwrap();
    let id = s.participants[&p].publish.unwrap();
    s.fail_conn(id, now);
    assert_eq!(s.stats().connections, 0);
    assert!(s.by_ufrag.is_empty());
    let mut saw_failed = false;
    while let Ok(ev) = rx.try_recv() {
        saw_failed |= ev
            == SfuEvent::ConnectionState {
                pc: PcKind::Publish,
                state: ConnState::Failed,
            };
    }
    assert!(saw_failed);
    // The client can publish again on a fresh connection.
    s.publish_offer(&p, CHROME_OFFER.to_owned(), chrome_tracks(), now)
        .unwrap();
    assert_eq!(s.stats().connections, 1);
    s.leave(&p, now);
    assert_eq!(s.stats(), SfuStats::default());
}

/// The publisher adds a screen share: the same connection is renegotiated with a
/// third m-line, and the answer accepts it.
#[test]
fn a_renegotiated_publish_offer_adds_a_screen() {
    let mut s = state();
    let now = Instant::now();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let p = ParticipantId::from("p");
    s.join(RoomId::from("r"), p.clone(), tx, View::High, now)
        .unwrap();
    s.publish_offer(&p, CHROME_OFFER.to_owned(), chrome_tracks(), now)
        .unwrap();
    let video_start = CHROME_OFFER.find("m=video").unwrap();
    let screen = CHROME_OFFER[video_start..]
        .replace("a=mid:1", "a=mid:2")
        .replace("2222", "4444")
        .replace("3333", "5555")
        .replace("track-video", "track-screen");
    let offer = format!("{CHROME_OFFER}{screen}")
        .replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2")
        .replace(" 2 IN IP4", " 3 IN IP4");
    let mut tracks = chrome_tracks();
    tracks.push(TrackSpec {
        mid: "2".into(),
        source: TrackSource::Screen,
    });
    let answer = s.publish_offer(&p, offer, tracks, now).unwrap();
    assert_eq!(answer.matches("m=video").count(), 2, "{answer}");
    assert!(answer.contains("a=mid:2"), "{answer}");
    assert_eq!(s.stats().connections, 1, "renegotiated, not replaced");
}

/// A STUN binding request whose USERNAME is `ufrag:remote` (no integrity: the demux
/// only reads the USERNAME; rtc checks the rest).
fn binding_request(ufrag: &str) -> Vec<u8> {
    let name = format!("{ufrag}:remote");
    let padded = name.len().div_ceil(4) * 4;
    let mut b = vec![0x00, 0x01];
    b.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
    b.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    b.extend_from_slice(&[9u8; 12]);
    b.extend_from_slice(&[0x00, 0x06]);
    b.extend_from_slice(&(name.len() as u16).to_be_bytes());
    b.extend_from_slice(name.as_bytes());
    b.resize(20 + 4 + padded, 0);
    b
}

#[test]
fn an_address_taken_by_a_forged_candidate_returns_to_its_owner() {
    use rtc::shared::TransportProtocol;
    let mut s = state();
    let now = Instant::now();
    let mut conns = Vec::new();
    for name in ["attacker", "victim"] {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let p = ParticipantId::from(name);
        s.join(RoomId::from("r"), p.clone(), tx, View::High, now)
            .unwrap();
        s.publish_offer(&p, CHROME_OFFER.to_owned(), chrome_tracks(), now)
            .unwrap();
        let id = s.participants[&p].publish.unwrap();
        conns.push((id, s.conns[&id].ufrags[0].clone()));
    }
    let (attacker, _) = conns[0].clone();
    let (victim, victim_ufrag) = conns[1].clone();
    let victim_addr = "127.0.0.1:5555".parse().unwrap();
    let flow = (TransportProtocol::UDP, victim_addr);
    // As if the attacker's connection had sent checks to a candidate forged with the
    // victim's address before the victim's first packet arrived.
    s.by_flow.insert(flow, attacker);
    s.handle_datagram(
        now,
        TransportProtocol::UDP,
        victim_addr,
        &binding_request(&victim_ufrag),
    );
    assert_eq!(s.by_flow.get(&flow), Some(&victim));
    // Non-STUN traffic from the address now reaches the victim's connection, and an
    // unknown address is still refused.
    let before = s.stats().dropped_datagrams;
    s.handle_datagram(
        now,
        TransportProtocol::UDP,
        "127.0.0.1:6666".parse().unwrap(),
        &[0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2],
    );
    assert_eq!(s.stats().dropped_datagrams, before + 1);
}

/// The browser restarts ICE (`restartIce()`, a new publish offer with a new ufrag):
/// our answer carries new credentials too, and binding requests naming either the
/// old or the new ufrag reach the same connection until it closes.
#[test]
fn a_publish_offer_with_new_ice_credentials_restarts_ice() {
    use rtc::shared::TransportProtocol;
    let mut s = state();
    let now = Instant::now();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let p = ParticipantId::from("hall");
    s.join(RoomId::from("r"), p.clone(), tx, View::High, now)
        .unwrap();
    let first = s
        .publish_offer(&p, CHROME_OFFER.to_owned(), chrome_tracks(), now)
        .unwrap();
    let restarted = CHROME_OFFER
        .replace("a=ice-ufrag:Xy7q", "a=ice-ufrag:Zz9w")
        .replace(
            "a=ice-pwd:p4ssw0rdp4ssw0rdp4ssw0rd",
            "a=ice-pwd:n3wpassn3wpassn3wpassn3",
        );
    let second = s
        .publish_offer(&p, restarted, chrome_tracks(), now)
        .unwrap();
    let (old, new) = (
        crate::state::sdp_ufrag(&first).unwrap().to_owned(),
        crate::state::sdp_ufrag(&second).unwrap().to_owned(),
    );
    assert_ne!(old, new, "the answer to a restart has new credentials");
    let id = s.participants[&p].publish.unwrap();
    assert_eq!(s.conns[&id].ufrags, vec![old.clone(), new.clone()]);
    // From a new address (the hall's 4G), a check with the new ufrag finds the
    // connection.
    let addr = "127.0.0.1:7777".parse().unwrap();
    s.handle_datagram(now, TransportProtocol::UDP, addr, &binding_request(&new));
    assert_eq!(s.by_flow.get(&(TransportProtocol::UDP, addr)), Some(&id));
    s.leave(&p, now);
    assert!(s.by_ufrag.is_empty() && s.by_flow.is_empty());
}

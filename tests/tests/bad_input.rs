//! Hostile and broken input, each time with a meeting going on: two good participants
//! exchange tones and video, and after the bad input they still do, a newcomer can
//! still join, and the server still answers /healthz.

use bridge_e2e::client::{Client, ClientOptions, wait_for, wait_until};
use bridge_e2e::server::BridgeServer;
use bridge_e2e::signal::{Signal, error_code, join_msg};
use bridge_token::{Claims, Role, TokenKey, random_id};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(30);
const ROOM: &str = "huyen-tan-son";

struct Meeting {
    server: BridgeServer,
    g1: Client,
    g2: Client,
}

fn good(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(300_000),
        ..Default::default()
    }
}

async fn meeting() -> Meeting {
    let server = BridgeServer::start().await.unwrap();
    let g1 = Client::join(&server, ROOM, "good one", good(440.0))
        .await
        .unwrap();
    let g2 = Client::join(&server, ROOM, "good two", good(660.0))
        .await
        .unwrap();
    let m = Meeting { server, g1, g2 };
    hear_each_other(&m).await;
    m
}

async fn hear_each_other(m: &Meeting) {
    for (l, s, f) in [(&m.g1, &m.g2, 660.0), (&m.g2, &m.g1, 440.0)] {
        let heard = wait_for(WAIT, || {
            l.tone(&s.id, 0.5)
                .filter(|t| (t.peak_hz - f).abs() <= 10.0 && t.peak_share > 0.5)
        })
        .await;
        assert!(
            heard.is_some(),
            "{} does not hear {}: {:?}, failures {:?}",
            l.id,
            s.id,
            l.tone(&s.id, 0.5),
            l.failures()
        );
    }
}

/// The meeting still works: the process lives, /healthz answers, both good clients
/// get pongs and fresh media from each other, and a newcomer can join and be seen.
async fn still_works(m: &Meeting) {
    assert!(m.server.is_alive(), "the server process died");
    let health = reqwest::get(format!("{}/healthz", m.server.http_url()))
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200);
    for (l, s) in [(&m.g1, &m.g2), (&m.g2, &m.g1)] {
        let pongs = l.pongs();
        l.send_json(&json!({"type": "ping"})).unwrap();
        wait_until(WAIT, "a pong", || l.pongs() > pongs)
            .await
            .unwrap();
        let n = l.packets_from(&s.id);
        wait_until(WAIT, "fresh media", || l.packets_from(&s.id) > n + 50)
            .await
            .unwrap();
    }
    hear_each_other(m).await;
    let mut newcomer = Client::join(&m.server, ROOM, "newcomer", ClientOptions::silent())
        .await
        .unwrap();
    wait_until(WAIT, "participant_joined for the newcomer", || {
        m.g1.events().iter().any(|e| {
            e["type"] == "participant_joined" && e["participant"]["id"] == newcomer.id.as_str()
        })
    })
    .await
    .unwrap();
    newcomer.close().await;
}

async fn joined_socket(server: &BridgeServer, name: &str) -> Signal {
    let mut s = Signal::connect(&server.ws_url()).await.unwrap();
    s.send_json(&join_msg(&server.token(ROOM, name, "member")))
        .unwrap();
    s.expect_type("joined", WAIT).await.unwrap();
    s
}

/// Sends `bad`, expects an `error` with `code`, and that the session goes on (a ping
/// still gets its pong on the same socket).
async fn rejected_but_session_goes_on(server: &BridgeServer, bad: String, code: &str) {
    let mut s = joined_socket(server, "clumsy").await;
    s.send_text(bad).unwrap();
    let (err, _) = s.expect_type("error", WAIT).await.unwrap();
    assert_eq!(error_code(&err), Some(code), "{err}");
    s.send_json(&json!({"type": "ping"})).unwrap();
    s.expect_type("pong", WAIT).await.unwrap();
}

/// Joins with `token`; expects `error` with `code`, then `bye`, then the close.
async fn token_refused(server: &BridgeServer, token: &str, code: &str) {
    let mut s = Signal::connect(&server.ws_url()).await.unwrap();
    s.send_json(&join_msg(token)).unwrap();
    let (close, got) = s.expect_close(WAIT).await.unwrap();
    let err = got
        .iter()
        .find(|v| v["type"] == "error")
        .unwrap_or_else(|| panic!("no error before close: {got:?}"));
    assert_eq!(error_code(err), Some(code), "{got:?}");
    assert!(got.iter().any(|v| v["type"] == "bye"), "no bye: {got:?}");
    assert!(
        !got.iter().any(|v| v["type"] == "joined"),
        "joined anyway: {got:?}"
    );
    println!("refused token closed with {close:?}");
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(exp: u64) -> Claims {
    Claims {
        room: ROOM.into(),
        name: "intruder".into(),
        role: Role::Member,
        unit: None,
        sub: random_id(),
        iat: now_unix() - 7200,
        exp,
        nbf: None,
    }
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_gets_bad_message() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    rejected_but_session_goes_on(&m.server, r#"{"type": "ping""#.into(), "bad_message").await;
    rejected_but_session_goes_on(&m.server, "not json at all".into(), "bad_message").await;
    // JSON, but a field of the wrong type.
    rejected_but_session_goes_on(
        &m.server,
        json!({"type": "mute", "source": "microphone", "muted": "yes"}).to_string(),
        "bad_message",
    )
    .await;
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_type_gets_unknown_type() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    rejected_but_session_goes_on(
        &m.server,
        json!({"type": "launch_missiles"}).to_string(),
        "unknown_type",
    )
    .await;
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_sdp_gets_invalid_sdp() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    let bad = json!({
        "type": "publish_offer",
        "sdp": "v=0\r\nthis is not a session description\r\n",
        "tracks": [{"mid": "0", "source": "microphone"}],
    });
    rejected_but_session_goes_on(&m.server, bad.to_string(), "invalid_sdp").await;
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    // Signed with the server's own secret, expired an hour ago.
    let key = TokenKey::load_or_create(m.server.data_dir()).unwrap();
    let token = key.sign(&claims(now_unix() - 3600)).unwrap();
    token_refused(&m.server, &token, "token_expired").await;
    // Made by the CLI with a one-second lifetime, used after it ran out.
    let short = m
        .server
        .token_with_ttl(ROOM, "late", "member", Some("1s"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    token_refused(&m.server, &short, "token_expired").await;
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_are_refused() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    let valid_claims = claims(now_unix() + 3600);
    // The right claims signed with another key.
    let forged = TokenKey::generate().sign(&valid_claims).unwrap();
    token_refused(&m.server, &forged, "token_invalid").await;
    // `alg: none`, no signature.
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64url(serde_json::to_string(&valid_claims).unwrap().as_bytes());
    token_refused(&m.server, &format!("{header}.{body}."), "token_invalid").await;
    // A valid token with its payload swapped for another room's.
    let real = m.server.token(ROOM, "honest", "member");
    let parts: Vec<&str> = real.split('.').collect();
    let mut other: Value = serde_json::to_value(claims(now_unix() + 3600)).unwrap();
    other["role"] = json!("chair");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(other.to_string().as_bytes()),
        parts[2]
    );
    token_refused(&m.server, &tampered, "token_invalid").await;
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mebibyte_message_closes_with_1009() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    let mut s = joined_socket(&m.server, "flooder").await;
    let pad = "x".repeat(1 << 20);
    s.send_json(&json!({"type": "ping", "pad": pad})).unwrap();
    let (code, _) = s.expect_close(WAIT).await.unwrap();
    assert_eq!(code, Some(1009), "close code for a 1 MiB message");
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_bogus_stun_on_the_media_port() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut seed = 0x9e37_79b9u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for i in 0..500 {
        let len = 1 + (next() % 1400) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Steer some into each demultiplexing branch (RFC 7983): STUN, DTLS, RTP/RTCP.
        d[0] = match i % 4 {
            0 => d[0] & 0x03,
            1 => 20 + d[0] % 44,
            2 => 128 + d[0] % 64,
            _ => d[0],
        };
        sock.send_to(&d, m.server.udp).await.unwrap();
    }
    for i in 0..500u32 {
        let mut tid = [0u8; 12];
        tid[..4].copy_from_slice(&i.to_be_bytes());
        tid[4..8].copy_from_slice(&next().to_be_bytes());
        let req = bridge_e2e::stun::binding_request(tid, &format!("nosuch{i}:intruder"));
        sock.send_to(&req, m.server.udp).await.unwrap();
    }
    // A binding success for an unknown ufrag would make the server a reflector.
    let mut buf = [0u8; 2048];
    let mut successes = 0;
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf)).await
    {
        if n >= 2 && buf[0] == 0x01 && buf[1] == 0x01 {
            successes += 1;
        }
    }
    assert_eq!(successes, 0, "binding success answers to unknown ufrags");
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_joins_and_floods_are_refused_politely() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    // Anything but `join` (and `ping`, which the server answers) before `join`.
    let mut s = Signal::connect(&m.server.ws_url()).await.unwrap();
    s.send_json(&json!({"type": "mute", "source": "microphone", "muted": true}))
        .unwrap();
    let (err, _) = s.expect_type("error", WAIT).await.unwrap();
    assert_eq!(error_code(&err), Some("not_joined"), "{err}");
    // A second `join` on a joined socket.
    let mut s = joined_socket(&m.server, "twice").await;
    s.send_json(&join_msg(&m.server.token(ROOM, "twice", "member")))
        .unwrap();
    let (err, _) = s.expect_type("error", WAIT).await.unwrap();
    assert_eq!(error_code(&err), Some("already_joined"), "{err}");
    // A flood well over the burst of 100: refused with rate_limited, socket kept.
    for _ in 0..400 {
        s.send_json(&json!({"type": "ping"})).unwrap();
    }
    let (err, _) = s.expect_type("error", WAIT).await.unwrap();
    assert_eq!(error_code(&err), Some("rate_limited"), "{err}");
    // Once the bucket refills (50/s), the same session is served again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Drain the replies to the flood.
    while let Some(bridge_e2e::signal::Incoming::Msg(_)) =
        s.recv_timeout(Duration::from_millis(200)).await
    {}
    s.send_json(&json!({"type": "ping"})).unwrap();
    s.expect_type("pong", WAIT).await.unwrap();
    still_works(&m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_watches_but_may_not_publish() {
    let _serial = bridge_e2e::serial().await;
    let m = meeting().await;
    let token = m.server.token(ROOM, "viewer", "viewer");
    let mut v = Client::connect(&m.server.ws_url(), &token, good(880.0))
        .await
        .unwrap();
    wait_until(
        WAIT,
        "a forbidden error for the viewer's publish_offer",
        || {
            v.events()
                .iter()
                .any(|e| error_code(e) == Some("forbidden"))
        },
    )
    .await
    .unwrap();
    // It still sees and hears the others.
    for (s, f) in [(&m.g1, 440.0), (&m.g2, 660.0)] {
        let heard = wait_for(WAIT, || {
            v.tone(&s.id, 0.5)
                .filter(|t| (t.peak_hz - f).abs() <= 10.0 && t.peak_share > 0.5)
        })
        .await;
        assert!(heard.is_some(), "the viewer does not hear {}", s.id);
        let n = v.packets_from(&s.id);
        wait_until(WAIT, "video for the viewer", || {
            v.stream(&s.id, bridge_e2e::recv::Kind::Video)
                .is_some_and(|x| x.packets > 10)
                && v.packets_from(&s.id) > n
        })
        .await
        .unwrap();
    }
    // And nothing of it reaches the others.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        m.g1.packets_from(&v.id),
        0,
        "media from a viewer was forwarded"
    );
    v.close().await;
    still_works(&m).await;
}

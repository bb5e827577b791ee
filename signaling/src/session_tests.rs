//! The state machine on a virtual clock: no sockets, no sleeping.

use super::*;
use bridge_token::{Grant, Role};
use serde_json::json;

const NOW_UNIX: u64 = 1_800_000_000;

fn setup() -> (Session, TokenKey, Instant) {
    let t0 = Instant::now();
    let config = Arc::new(SignalingConfig::default());
    (
        Session::new(config, ParticipantId::from("p-1"), t0),
        TokenKey::generate(),
        t0,
    )
}

fn token(key: &TokenKey, role: Role) -> String {
    let grant = Grant {
        room: "demo".into(),
        name: "Xã Thanh Sơn".into(),
        role,
        unit: Some("25222".into()),
    };
    key.mint(grant, NOW_UNIX, Duration::from_secs(3600))
        .unwrap()
}

fn error_code(actions: &[Action]) -> Option<ErrorCode> {
    actions.iter().find_map(|a| match a {
        Action::Send(ServerMsg::Error { code, .. }) => Some(*code),
        _ => None,
    })
}

/// Joins through the whole exchange; returns the time after joining.
fn joined(session: &mut Session, key: &TokenKey, t: Instant, role: Role) -> Instant {
    let msg = json!({"type": "join", "token": token(key, role)}).to_string();
    let actions = session.on_text(&msg, t, NOW_UNIX, key);
    let [
        Action::Join {
            room, participant, ..
        },
    ] = actions.as_slice()
    else {
        panic!("{actions:?}")
    };
    assert_eq!(room, &RoomId::from("demo"));
    assert_eq!(participant.unit.as_deref(), Some("25222"));
    let done = session.join_done(Ok(JoinedRoom {
        room: room.clone(),
        participant: participant.clone(),
        others: Vec::new(),
        floor: Default::default(),
        title: None,
        links: Default::default(),
    }));
    assert!(matches!(
        done.as_slice(),
        [Action::Send(ServerMsg::Joined { .. })]
    ));
    t
}

#[test]
fn parse_tells_bad_message_from_unknown_type() {
    let (mut s, key, t) = setup();
    let cases = [
        ("nope", ErrorCode::BadMessage),
        ("{}", ErrorCode::BadMessage),
        (r#"{"type":null}"#, ErrorCode::BadMessage),
        (r#"{"type":"dance"}"#, ErrorCode::UnknownType),
        (
            r#"{"type":"candidate","pc":"sideways","candidate":{"candidate":"x"}}"#,
            ErrorCode::BadMessage,
        ),
        (
            r#"{"type":"publish_offer","sdp":"v=0","tracks":[]}"#,
            ErrorCode::NotJoined,
        ),
    ];
    for (text, code) in cases {
        let actions = s.on_text(text, t, NOW_UNIX, &key);
        assert_eq!(error_code(&actions), Some(code), "{text}");
    }
}

#[test]
fn version_other_than_one_is_refused_but_session_stays_open() {
    let (mut s, key, t) = setup();
    let msg = json!({"type": "join", "v": 2, "token": token(&key, Role::Member)}).to_string();
    let actions = s.on_text(&msg, t, NOW_UNIX, &key);
    assert_eq!(error_code(&actions), Some(ErrorCode::BadMessage));
    assert!(s.ended().is_none());
    joined(&mut s, &key, t, Role::Member);
}

#[test]
fn refused_token_closes_with_policy_code() {
    let (mut s, key, t) = setup();
    let expired = json!({"type": "join", "token": token(&key, Role::Member)}).to_string();
    let actions = s.on_text(&expired, t, NOW_UNIX + 3600, &key);
    assert_eq!(error_code(&actions), Some(ErrorCode::TokenExpired));
    assert_eq!(
        actions.last(),
        Some(&Action::Close {
            bye: ByeReason::Refused,
            code: close_code::POLICY
        })
    );
    // Nothing more happens on a closed session.
    assert!(
        s.on_text(r#"{"type":"ping"}"#, t, NOW_UNIX, &key)
            .is_empty()
    );
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn join_deadline_then_idle_deadline() {
    let (mut s, key, t0) = setup();
    assert_eq!(s.next_deadline(), Some(t0 + JOIN));
    assert!(s.on_tick(t0 + JOIN - Duration::from_millis(1)).is_empty());
    let t1 = joined(&mut s, &key, t0 + Duration::from_secs(3), Role::Member);
    assert_eq!(s.next_deadline(), Some(t1 + IDLE));
    // A ping moves the deadline.
    let t2 = t1 + Duration::from_secs(10);
    assert_eq!(
        s.on_text(r#"{"type":"ping"}"#, t2, NOW_UNIX, &key),
        vec![Action::Send(ServerMsg::Pong)]
    );
    assert!(s.on_tick(t1 + IDLE).is_empty());
    let actions = s.on_tick(t2 + IDLE);
    assert_eq!(
        actions,
        vec![Action::Close {
            bye: ByeReason::Timeout,
            code: close_code::TIMEOUT
        }]
    );
    assert_eq!(s.ended(), Some(LeaveReason::Timeout));
}

const JOIN: Duration = crate::limits::JOIN_TIMEOUT;
const IDLE: Duration = crate::limits::IDLE_TIMEOUT;

#[test]
fn no_join_in_time_times_out() {
    let (mut s, _key, t0) = setup();
    let actions = s.on_tick(t0 + JOIN);
    assert_eq!(
        actions,
        vec![Action::Close {
            bye: ByeReason::Timeout,
            code: close_code::TIMEOUT
        }]
    );
}

#[test]
fn rate_limit_drops_and_reports_once_per_second() {
    let (mut s, key, t) = setup();
    joined(&mut s, &key, t, Role::Member);
    let ping = r#"{"type":"ping"}"#;
    let mut pongs = 0;
    let mut errors = 0;
    for _ in 0..200 {
        for a in s.on_text(ping, t, NOW_UNIX, &key) {
            match a {
                Action::Send(ServerMsg::Pong) => pongs += 1,
                Action::Send(ServerMsg::Error {
                    code: ErrorCode::RateLimited,
                    ..
                }) => errors += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(pongs, 99, "burst of 100 minus the join");
    assert_eq!(errors, 1);
    // After a second the bucket has refilled by 50 and errors are reported again.
    let t1 = t + Duration::from_secs(1);
    let answered = (0..60)
        .filter(|_| s.on_text(ping, t1, NOW_UNIX, &key) == vec![Action::Send(ServerMsg::Pong)])
        .count();
    assert_eq!(answered, 50);
}

#[test]
fn viewer_cannot_publish_member_limited_to_max_tracks() {
    let (mut s, key, t) = setup();
    joined(&mut s, &key, t, Role::Viewer);
    let offer = json!({"type": "publish_offer", "sdp": "v=0", "tracks": [{"mid": "0", "source": "camera"}]});
    let actions = s.on_text(&offer.to_string(), t, NOW_UNIX, &key);
    assert_eq!(error_code(&actions), Some(ErrorCode::Forbidden));

    let (mut s, key, t) = setup();
    joined(&mut s, &key, t, Role::Member);
    let actions = s.on_text(&offer.to_string(), t, NOW_UNIX, &key);
    assert!(
        matches!(actions.as_slice(), [Action::PublishOffer { tracks, .. }] if tracks.len() == 1)
    );
    let four: Vec<_> = (0..4)
        .map(|i| json!({"mid": i.to_string(), "source": "camera"}))
        .collect();
    let offer = json!({"type": "publish_offer", "sdp": "v=0", "tracks": four});
    let actions = s.on_text(&offer.to_string(), t, NOW_UNIX, &key);
    assert_eq!(error_code(&actions), Some(ErrorCode::TooManyTracks));
}

#[test]
fn sfu_events_become_messages_only_after_join() {
    let (mut s, key, t) = setup();
    let offer = SfuEvent::SubscribeOffer {
        sdp: "v=0".into(),
        tracks: Vec::new(),
    };
    assert!(s.on_sfu_event(offer.clone()).is_empty());
    joined(&mut s, &key, t, Role::Member);
    assert_eq!(
        s.on_sfu_event(offer),
        vec![Action::Send(ServerMsg::SubscribeOffer {
            sdp: "v=0".into(),
            tracks: Vec::new()
        })]
    );
    let live = SfuEvent::TrackLive {
        track_id: TrackId::from("t1"),
        source: TrackSource::Microphone,
    };
    assert_eq!(
        s.on_sfu_event(live),
        vec![Action::TrackLive {
            track_id: TrackId::from("t1"),
            source: TrackSource::Microphone
        }]
    );
}

#[test]
fn media_errors_map_to_protocol_codes() {
    let cases = [
        (SfuError::InvalidSdp("x".into()), ErrorCode::InvalidSdp),
        (
            SfuError::InvalidCandidate("x".into()),
            ErrorCode::InvalidCandidate,
        ),
        (SfuError::TooManyTracks { max: 3 }, ErrorCode::TooManyTracks),
        (
            SfuError::RoomFull {
                room: RoomId::from("r"),
                max: 2,
            },
            ErrorCode::RoomFull,
        ),
        (SfuError::Stopped, ErrorCode::Internal),
    ];
    for (e, code) in cases {
        assert!(matches!(sfu_error(&e, "x"), ServerMsg::Error { code: c, .. } if c == code));
    }
}

#[test]
fn room_full_on_join_refuses_and_closes() {
    let (mut s, key, t) = setup();
    let msg = json!({"type": "join", "token": token(&key, Role::Member)}).to_string();
    s.on_text(&msg, t, NOW_UNIX, &key);
    let full = SfuError::RoomFull {
        room: RoomId::from("demo"),
        max: 1,
    };
    let actions = s.join_done(Err(sfu_error(&full, "join")));
    assert_eq!(error_code(&actions), Some(ErrorCode::RoomFull));
    assert!(matches!(
        actions.last(),
        Some(Action::Close {
            bye: ByeReason::Refused,
            ..
        })
    ));
}

#[test]
fn server_messages_have_the_documented_shape() {
    let msg = ServerMsg::ParticipantLeft {
        participant_id: ParticipantId::from("p"),
        reason: LeaveReason::Timeout,
    };
    assert_eq!(
        serde_json::to_value(&msg).unwrap(),
        json!({"type": "participant_left", "participant_id": "p", "reason": "timeout"})
    );
    assert_eq!(
        serde_json::to_value(ServerMsg::Pong).unwrap(),
        json!({"type": "pong"})
    );
    let err = ServerMsg::error(ErrorCode::InvalidSdp, "m", Some("publish_offer"));
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"type": "error", "code": "invalid_sdp", "message": "m", "request": "publish_offer"})
    );
}

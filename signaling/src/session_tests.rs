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
    let done = session.join_done(
        Ok(JoinedRoom {
            room: room.clone(),
            participant: participant.clone(),
            others: Vec::new(),
            floor: Default::default(),
            title: None,
            links: Default::default(),
        }),
        Some(grant()),
    );
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
    // Silent past the idle timeout: the socket is given up, the participant kept
    // until the grace period (counted from when it was last heard) ends.
    assert_eq!(s.on_tick(t2 + IDLE), vec![Action::Detach]);
    assert!(s.parked());
    assert_eq!(s.ended(), None);
    assert_eq!(s.next_deadline(), Some(t2 + GRACE));
    assert!(s.on_tick(t2 + GRACE - Duration::from_millis(1)).is_empty());
    let actions = s.on_tick(t2 + GRACE);
    assert_eq!(
        actions,
        vec![Action::Close {
            bye: ByeReason::Timeout,
            code: close_code::TIMEOUT
        }]
    );
    assert_eq!(s.ended(), Some(LeaveReason::Timeout));
}

fn grant() -> ResumeGrant {
    ResumeGrant {
        credential: "c-1".into(),
        grace_ms: 30_000,
    }
}

#[test]
fn a_dropped_socket_parks_the_participant_and_a_resume_brings_it_back() {
    let (mut s, key, t0) = setup();
    let t1 = joined(&mut s, &key, t0, Role::Member);
    s.on_disconnect();
    assert!(s.parked());
    // Nothing is read while parked; media-plane messages are still produced (kept).
    assert!(
        s.on_text(r#"{"type":"ping"}"#, t1, NOW_UNIX, &key)
            .is_empty()
    );
    assert!(matches!(
        s.on_sfu_event(SfuEvent::Slots { tracks: Vec::new() })
            .as_slice(),
        [Action::Send(ServerMsg::Slots { .. })]
    ));
    let snapshot = JoinedRoom {
        room: RoomId::from("demo"),
        participant: ParticipantInfo {
            id: ParticipantId::from("p-1"),
            name: "Xã Thanh Sơn".into(),
            role: Role::Member,
            unit: None,
            muted: MuteState::default(),
            tracks: Vec::new(),
            presence: Default::default(),
        },
        others: Vec::new(),
        floor: Default::default(),
        title: None,
        links: Default::default(),
    };
    let t2 = t1 + Duration::from_secs(20);
    let out = s.on_resumed(t2, snapshot.clone(), grant(), true);
    let [
        Action::Send(ServerMsg::Joined {
            participant,
            resumed: true,
            resume: Some(r),
            ..
        }),
    ] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!(participant.id, ParticipantId::from("p-1"));
    assert_eq!(r.credential, "c-1");
    assert!(!s.parked());
    assert_eq!(s.next_deadline(), Some(t2 + IDLE));
    // Taken over by another page with the same link: the same place, but not
    // `resumed` (that page brings new media connections).
    let out = s.on_resumed(t2, snapshot, grant(), false);
    assert!(
        matches!(
            out.as_slice(),
            [Action::Send(ServerMsg::Joined { resumed: false, .. })]
        ),
        "{out:?}"
    );
}

#[test]
fn a_join_with_resume_is_handed_over_or_refused_and_a_plain_join_may_follow() {
    let (mut s, key, t0) = setup();
    let tok = token(&key, Role::Member);
    let msg = json!({"type": "join", "token": tok, "resume": "c-9"}).to_string();
    let out = s.on_text(&msg, t0, NOW_UNIX, &key);
    let [
        Action::Resume {
            credential,
            token: tid,
        },
    ] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!(credential, "c-9");
    assert!(!tid.id.is_empty());
    // Refused: the socket stays, a plain join works.
    let out = s.resume_done(Err("grace period over".into()));
    assert_eq!(error_code(&out), Some(ErrorCode::ResumeFailed));
    joined(&mut s, &key, t0, Role::Member);
    // Handed over: this session has nothing more to do, and never says bye.
    let (mut s, key, t0) = setup();
    let tok = token(&key, Role::Member);
    let msg = json!({"type": "join", "token": tok, "resume": "c-9"}).to_string();
    s.on_text(&msg, t0, NOW_UNIX, &key);
    assert!(s.resume_done(Ok(())).is_empty());
    assert!(s.handed_off());
    assert!(s.on_shutdown().is_empty());
    assert_eq!(s.next_deadline(), None);
    // A forged token is refused before any credential is looked at.
    let (mut s, key, t0) = setup();
    let msg = json!({"type": "join", "token": "x.y.z", "resume": "c-9"}).to_string();
    let out = s.on_text(&msg, t0, NOW_UNIX, &key);
    assert_eq!(error_code(&out), Some(ErrorCode::TokenInvalid));
}

const JOIN: Duration = crate::limits::JOIN_TIMEOUT;
const IDLE: Duration = crate::limits::IDLE_TIMEOUT;
const GRACE: Duration = crate::limits::RESUME_GRACE;

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
    let actions = s.join_done(Err(sfu_error(&full, "join")), None);
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

//! A link used before its meeting opens: what the refusal can tell the hall.
//!
//! `TokenKey::verify` checks the signature before `nbf`, so when it answers
//! `NotYetValid` the payload is authentic and its `room` and `nbf` may be read back
//! here (the token crate's error carries neither). The hall then hears "opens at
//! 08:30" instead of "invalid link".

use serde::Deserialize;

/// The claims an early refusal needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Early {
    pub room: String,
    pub nbf: Option<u64>,
}

/// The payload of a JWT whose signature was already checked; `None` if it cannot be
/// read (then the refusal simply carries no time).
pub(crate) fn early_claims(token: &str) -> Option<Early> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&base64url_decode(payload)?).ok()
}

/// Unpadded base64url (RFC 7515 §2); `None` on any other character.
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in bytes {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::SignalingConfig;
    use crate::messages::{ErrorCode, ServerMsg};
    use crate::session::{Action, Session, close_code};
    use bridge_sfu::ParticipantId;
    use bridge_token::{Claims, Role, TokenKey};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn decodes_room_and_nbf_of_a_signed_token() {
        let key =
            TokenKey::from_secret(&[7u8; 32]).with_max_lifetime(Duration::from_secs(86_400 * 7));
        let claims = Claims {
            room: "m-89ec".into(),
            name: "Xã Thanh Sơn".into(),
            role: Role::Member,
            unit: Some("07888".into()),
            sub: "s1".into(),
            iat: 1_000,
            exp: 200_000,
            nbf: Some(100_000),
        };
        let token = key.sign(&claims).expect("sign");
        assert_eq!(
            early_claims(&token),
            Some(Early {
                room: "m-89ec".into(),
                nbf: Some(100_000)
            })
        );
    }

    fn early_token(key: &TokenKey, room: &str, nbf: u64) -> String {
        let claims = Claims {
            room: room.into(),
            name: "Xã Thanh Sơn".into(),
            role: Role::Member,
            unit: None,
            sub: "s2".into(),
            iat: 1_000,
            exp: nbf + 3_600,
            nbf: Some(nbf),
        };
        key.sign(&claims).expect("sign")
    }

    fn join(token: &str, room: Option<&str>, now: u64, key: &TokenKey) -> Vec<Action> {
        let mut s = Session::new(
            Arc::new(SignalingConfig::default()),
            ParticipantId::from("p-1"),
            Instant::now(),
        );
        let msg = serde_json::json!({"type": "join", "token": token, "room": room}).to_string();
        s.on_text(&msg, Instant::now(), now, key)
    }

    #[test]
    fn an_early_link_is_not_yet_open_with_its_time_then_closes() {
        let key = TokenKey::generate();
        let token = early_token(&key, "m-89ec", 100_000);
        let actions = join(&token, Some("m-89ec"), 50_000, &key);
        assert!(
            matches!(
                actions.first(),
                Some(Action::RefuseEarly { room: Some(r), opens_at: Some(100_000), .. }) if r.0 == "m-89ec"
            ),
            "{actions:?}"
        );
        assert!(
            actions.iter().any(|a| matches!(
                a,
                Action::Close { code, .. } if *code == close_code::POLICY
            )),
            "{actions:?}"
        );
    }

    #[test]
    fn an_early_link_for_another_room_is_wrong_room() {
        let key = TokenKey::generate();
        let token = early_token(&key, "m-other", 100_000);
        let actions = join(&token, Some("m-89ec"), 50_000, &key);
        assert!(
            matches!(
                actions.first(),
                Some(Action::Send(ServerMsg::Error {
                    code: ErrorCode::WrongRoom,
                    ..
                }))
            ),
            "{actions:?}"
        );
    }

    #[test]
    fn a_forged_early_link_stays_token_invalid() {
        let key = TokenKey::generate();
        let token = early_token(&TokenKey::generate(), "m-89ec", 100_000);
        let actions = join(&token, Some("m-89ec"), 50_000, &key);
        assert!(
            matches!(
                actions.first(),
                Some(Action::Send(ServerMsg::Error {
                    code: ErrorCode::TokenInvalid,
                    opens_at: None,
                    ..
                }))
            ),
            "{actions:?}"
        );
    }

    #[test]
    fn the_refusal_serializes_opens_at_and_title_only_when_set() {
        let msg = ServerMsg::Error {
            code: ErrorCode::NotYetOpen,
            message: "x".into(),
            request: Some("join".into()),
            opens_at: Some(100_000),
            title: Some("Giao ban".into()),
        };
        let v = serde_json::to_value(&msg).expect("json");
        assert_eq!(v["code"], "not_yet_open");
        assert_eq!(v["opens_at"], 100_000);
        assert_eq!(v["title"], "Giao ban");
        let plain =
            serde_json::to_value(ServerMsg::error(ErrorCode::RoomFull, "y", None)).expect("json");
        assert!(
            plain.get("opens_at").is_none() && plain.get("title").is_none(),
            "{plain}"
        );
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        for t in ["", "a", "a.b", "a.%%%.c", "a.bm90IGpzb24.c", "..."] {
            assert_eq!(early_claims(t), None, "{t}");
        }
    }

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url_decode("").unwrap(), b"");
        assert_eq!(base64url_decode("Zg").unwrap(), b"f");
        assert_eq!(base64url_decode("Zm8").unwrap(), b"fo");
        assert_eq!(base64url_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64url_decode("Pz8_").unwrap(), b"???");
        assert_eq!(base64url_decode("-_8").unwrap(), [0xfb, 0xff]);
    }
}

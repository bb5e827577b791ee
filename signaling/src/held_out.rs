//! Join tokens of participants a chair removed. Without this, `remove` was a pause: the
//! hall's page rejoined at once with the same link. A removed token stays out of every
//! room until it expires; the hall needs a new link from the secretary.

use crate::messages::{ErrorCode, ServerMsg};
use crate::session::TokenId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Tokens held out at most; expired ones go first when full.
const MAX_HELD: usize = 100_000;

#[derive(Debug, Default)]
pub struct HeldOut(Mutex<HashMap<String, u64>>);

impl HeldOut {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, u64>) -> T) -> T {
        match self.0.lock() {
            Ok(mut m) => f(&mut m),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    pub fn hold(&self, token: TokenId, now: u64) {
        self.with(|m| {
            if m.len() >= MAX_HELD {
                m.retain(|_, expires| *expires > now);
            }
            if m.len() < MAX_HELD {
                m.insert(token.id, token.expires);
            }
        });
    }

    pub fn holds(&self, token: &TokenId, now: u64) -> bool {
        self.with(|m| m.get(&token.id).is_some_and(|expires| *expires > now))
    }
}

/// What a held-out token's join gets.
pub fn refusal() -> ServerMsg {
    ServerMsg::error(
        ErrorCode::Removed,
        "the chair removed this link's holder from the meeting; ask for a new link".to_owned(),
        Some("join"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_token_is_refused_until_it_expires() {
        let held = HeldOut::default();
        let token = TokenId {
            id: "abc".into(),
            expires: 1_000,
        };
        assert!(!held.holds(&token, 10));
        held.hold(token.clone(), 10);
        assert!(held.holds(&token, 10));
        let other = TokenId {
            id: "def".into(),
            expires: 1_000,
        };
        assert!(
            !held.holds(&other, 10),
            "another link of the same hall is fine"
        );
        assert!(
            !held.holds(&token, 1_000),
            "an expired token needs no holding"
        );
    }
}

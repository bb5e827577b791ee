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

    /// The error a held-out token's join gets.
    pub fn check(&self, token: &TokenId, now: u64) -> Result<(), ServerMsg> {
        let held = self.with(|m| m.get(&token.id).is_some_and(|expires| *expires > now));
        if held {
            return Err(ServerMsg::error(
                ErrorCode::Removed,
                "the chair removed this link's holder from the meeting; ask for a new link"
                    .to_owned(),
                Some("join"),
            ));
        }
        Ok(())
    }
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
        assert!(held.check(&token, 10).is_ok());
        held.hold(token.clone(), 10);
        assert!(held.check(&token, 10).is_err());
        let other = TokenId {
            id: "def".into(),
            expires: 1_000,
        };
        assert!(
            held.check(&other, 10).is_ok(),
            "another link of the same hall is fine"
        );
        assert!(
            held.check(&token, 1_000).is_ok(),
            "an expired token needs no holding"
        );
    }
}

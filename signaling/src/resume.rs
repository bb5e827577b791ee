//! Staying in the room across a drop: each joined session holds a resume credential
//! (`joined.resume`), bound to its participant and its join token. A new socket that
//! presents it, with the same token, is handed to that session, which goes on with
//! the same participant id, tile, floor and media connections.

use axum::extract::ws::{Message, WebSocket};
use bridge_sfu::ParticipantId;
use futures_util::stream::{SplitSink, SplitStream};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

/// A new socket for a session that may have lost its own.
pub(crate) struct Handoff {
    pub sink: SplitSink<WebSocket, Message>,
    pub stream: SplitStream<WebSocket>,
    pub kind: HandoffKind,
}

/// How the new socket came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandoffKind {
    /// `join` with the session's resume credential: the same client, keeping its
    /// peer connections.
    Resume,
    /// A plain `join` with the session's token (live.rs): another page, which brings
    /// new peer connections and shows videos as `default_view` says.
    Takeover { default_view: bridge_sfu::View },
}

struct Slot {
    participant: ParticipantId,
    /// The join token's `sub`: a credential alone does not resume.
    token: String,
    to: UnboundedSender<Handoff>,
}

/// The credentials of the sessions that can be resumed.
#[derive(Default)]
pub(crate) struct Resumes(Mutex<HashMap<String, Slot>>);

/// Why a resume was refused, as the client is told.
pub(crate) const UNKNOWN: &str =
    "nothing to resume: the grace period is over or the credential was used; join again";
pub(crate) const OTHER_TOKEN: &str = "the resume credential belongs to another join link";

impl Resumes {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Slot>) -> T) -> T {
        // Every use is one map operation: a poisoned lock still holds a consistent map.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// A fresh credential for `participant`, replacing `old` (each is used once).
    pub fn grant(
        &self,
        participant: &ParticipantId,
        token: &str,
        to: UnboundedSender<Handoff>,
        old: Option<&str>,
    ) -> String {
        // 244 random bits from the OS generator (uuid v4).
        let credential = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.with(|map| {
            if let Some(old) = old {
                map.remove(old);
            }
            map.insert(
                credential.clone(),
                Slot {
                    participant: participant.clone(),
                    token: token.to_owned(),
                    to,
                },
            );
        });
        credential
    }

    /// The session a credential resumes, if `token` is the one it was granted with.
    /// The credential is spent; a wrong token leaves it to its owner.
    pub fn take(
        &self,
        credential: &str,
        token: &str,
    ) -> Result<(ParticipantId, UnboundedSender<Handoff>), &'static str> {
        self.with(|map| {
            let slot = map.get(credential).ok_or(UNKNOWN)?;
            if slot.token != token {
                return Err(OTHER_TOKEN);
            }
            let slot = map.remove(credential).ok_or(UNKNOWN)?;
            Ok((slot.participant, slot.to))
        })
    }

    pub fn revoke(&self, credential: &str) {
        self.with(|map| map.remove(credential));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.with(|map| map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_resumes_once_and_only_with_its_token() {
        let r = Resumes::default();
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let p = ParticipantId("p-1".into());
        let c = r.grant(&p, "sub-1", tx.clone(), None);
        assert!(c.len() >= 64);
        assert_eq!(r.take(&c, "sub-2").err(), Some(OTHER_TOKEN));
        assert_eq!(r.take("forged", "sub-1").err(), Some(UNKNOWN));
        let (who, _) = r.take(&c, "sub-1").expect("resumes");
        assert_eq!(who, p);
        assert_eq!(r.take(&c, "sub-1").err(), Some(UNKNOWN));
        // A new grant replaces the old credential; revoking forgets it.
        let c1 = r.grant(&p, "sub-1", tx.clone(), None);
        let c2 = r.grant(&p, "sub-1", tx, Some(&c1));
        assert_ne!(c1, c2);
        assert_eq!(r.take(&c1, "sub-1").err(), Some(UNKNOWN));
        r.revoke(&c2);
        assert_eq!(r.len(), 0);
    }
}

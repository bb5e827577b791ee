//! One live session per join token. A second plain `join` with a token whose holder is
//! already in a room (joined, or parked after a drop) does not make a second participant:
//! the new socket takes the first one's place over (same participant id, floor, hands,
//! the chair's mutes, one attendance period), with new media connections, and the old
//! socket hears `bye {reason: "replaced"}`. So a hall that reopens its page (a crash, a
//! second PC, a reload that lost its resume credential) is never refused, not even by a
//! locked or full room, and a leaked link cannot add a silent extra site: using it shows
//! at once on the hall's own page.

use crate::resume::Handoff;
use bridge_sfu::ParticipantId;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

struct Holder {
    participant: ParticipantId,
    to: UnboundedSender<Handoff>,
}

/// Join tokens (`sub`) of the sessions now in a room, with where to hand a socket.
#[derive(Default)]
pub(crate) struct LiveTokens(Mutex<HashMap<String, Holder>>);

/// What a verified `join` does with its token.
pub(crate) enum Claim {
    /// Nobody holds it: this session does, from now on (released when it ends).
    Mine,
    /// Another session holds it: hand this socket over.
    TakeOver(UnboundedSender<Handoff>),
}

impl LiveTokens {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Holder>) -> T) -> T {
        // One map operation per use: a poisoned lock still holds a consistent map.
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Checks and reserves in one step, so two joins with one token at the same moment
    /// make one participant, not two. A holder whose task has ended (its channel is
    /// closed, it is about to release) does not count.
    pub fn claim(
        &self,
        token: &str,
        participant: &ParticipantId,
        to: UnboundedSender<Handoff>,
    ) -> Claim {
        self.with(|map| {
            if let Some(h) = map.get(token)
                && &h.participant != participant
                && !h.to.is_closed()
            {
                return Claim::TakeOver(h.to.clone());
            }
            map.insert(
                token.to_owned(),
                Holder {
                    participant: participant.clone(),
                    to,
                },
            );
            Claim::Mine
        })
    }

    /// The session of `participant` ended (or its join failed): the token is free.
    pub fn release(&self, token: &str, participant: &ParticipantId) {
        self.with(|map| {
            if map
                .get(token)
                .is_some_and(|h| &h.participant == participant)
            {
                map.remove(token);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_held_by_one_session_until_it_releases() {
        let live = LiveTokens::default();
        let (tx1, _rx1) = tokio::sync::mpsc::unbounded_channel();
        let (tx2, _rx2) = tokio::sync::mpsc::unbounded_channel();
        let (p1, p2) = (ParticipantId("p-1".into()), ParticipantId("p-2".into()));
        assert!(matches!(live.claim("sub", &p1, tx1.clone()), Claim::Mine));
        // Claiming again as the holder is fine; anyone else takes over.
        assert!(matches!(live.claim("sub", &p1, tx1.clone()), Claim::Mine));
        let Claim::TakeOver(to) = live.claim("sub", &p2, tx2.clone()) else {
            panic!("a second session must take over");
        };
        assert!(to.same_channel(&tx1));
        // Another token is independent; a release by a non-holder changes nothing.
        assert!(matches!(live.claim("other", &p2, tx2.clone()), Claim::Mine));
        live.release("sub", &p2);
        assert!(matches!(
            live.claim("sub", &p2, tx2.clone()),
            Claim::TakeOver(_)
        ));
        live.release("sub", &p1);
        assert!(matches!(live.claim("sub", &p2, tx2), Claim::Mine));
    }

    #[test]
    fn a_holder_whose_task_ended_does_not_count() {
        let live = LiveTokens::default();
        let (tx1, rx1) = tokio::sync::mpsc::unbounded_channel();
        let (tx2, _rx2) = tokio::sync::mpsc::unbounded_channel();
        assert!(matches!(
            live.claim("sub", &ParticipantId("p-1".into()), tx1),
            Claim::Mine
        ));
        drop(rx1);
        assert!(matches!(
            live.claim("sub", &ParticipantId("p-2".into()), tx2),
            Claim::Mine
        ));
    }
}

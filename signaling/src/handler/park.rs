//! The driver's side of staying in the room across a drop: parking a session whose
//! socket is gone, adopting the socket that resumes it, and the participant's
//! presence from its media connections.

use super::Driver;
use crate::messages::{ByeReason, Presence, ResumeGrant, ServerMsg};
use crate::resume::Handoff;
use crate::session::{Action, close_code};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bridge_sfu::{ConnState, PcKind};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::collections::VecDeque;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;

/// Media-plane messages kept for a resumed socket (offers, slots, candidates): a
/// few per second at most. Past this the oldest go; the client's ICE restart brings
/// a whole new offer anyway.
const KEPT_MAX: usize = 256;
/// A close code of ours: this socket was taken over by a resume on another one.
const RESUMED_ELSEWHERE: u16 = 4409;

pub(super) struct Park {
    handoff: UnboundedSender<Handoff>,
    credential: Option<String>,
    kept: VecDeque<ServerMsg>,
    publish: Option<ConnState>,
    subscribe: Option<ConnState>,
    /// A media connection has been up at least once.
    was_up: bool,
}

impl Park {
    pub(super) fn new(handoff: UnboundedSender<Handoff>) -> Self {
        Self {
            handoff,
            credential: None,
            kept: VecDeque::new(),
            publish: None,
            subscribe: None,
            was_up: false,
        }
    }

    /// A message for the client while it has no socket.
    pub(super) fn keep(&mut self, msg: ServerMsg) {
        // Ephemeral, and sent again on the next change.
        if matches!(msg, ServerMsg::ActiveSpeakers { .. } | ServerMsg::Pong) {
            return;
        }
        if self.kept.len() == KEPT_MAX {
            self.kept.pop_front();
        }
        self.kept.push_back(msg);
    }

    pub(super) fn revoke(&mut self, sig: &crate::Signaling) {
        if let Some(c) = self.credential.take() {
            sig.inner.resumes.revoke(&c);
        }
    }

    fn presence(&self, parked: bool) -> Presence {
        let up = [self.publish, self.subscribe].contains(&Some(ConnState::Connected));
        if up {
            Presence::Connected
        } else if parked || self.was_up {
            Presence::Reconnecting
        } else {
            Presence::NoMedia
        }
    }
}

/// A chair's removal ends a parked session too.
pub(super) fn is_removal(msg: &ServerMsg) -> bool {
    matches!(
        msg,
        ServerMsg::Bye {
            reason: ByeReason::Removed
        }
    )
}

impl Driver {
    /// A credential for `joined.resume`, replacing the one before.
    pub(super) fn grant(&mut self, token: &str) -> ResumeGrant {
        let id = self.session.participant_id().clone();
        let credential = self.sig.inner.resumes.grant(
            &id,
            token,
            self.park.handoff.clone(),
            self.park.credential.as_deref(),
        );
        self.park.credential = Some(credential.clone());
        ResumeGrant {
            credential,
            grace_ms: crate::limits::millis(self.sig.inner.config.resume_grace),
        }
    }

    /// The socket is gone (or we give up on a silent one: close code 4408 without
    /// `bye`, for the session is not over): keep the participant, tell the room.
    pub(super) async fn detach(&mut self) {
        if let Some(mut sink) = self.sink.take() {
            let frame = CloseFrame {
                code: close_code::TIMEOUT,
                reason: "silent too long; resume or join again".into(),
            };
            let _ = tokio::time::timeout(super::CLOSE_LINGER, async {
                let _ = sink.send(Message::Close(Some(frame))).await;
                sink.close().await
            })
            .await;
        }
        if self.session.parked() {
            tracing::info!(participant = %self.session.participant_id(), "socket lost; holding the place for a resume");
            self.update_presence();
        }
    }

    /// A new socket resumes this session: it replaces the old one (if that still
    /// seemed alive), and the client learns the room as it is now.
    pub(super) async fn adopt(&mut self, sink: SplitSink<WebSocket, Message>) -> Vec<Action> {
        if let Some(mut old) = self.sink.replace(sink) {
            let frame = CloseFrame {
                code: RESUMED_ELSEWHERE,
                reason: "resumed on another connection".into(),
            };
            let _ =
                tokio::time::timeout(super::CLOSE_LINGER, old.send(Message::Close(Some(frame))))
                    .await;
        }
        let id = self.session.participant_id().clone();
        let snapshot = self
            .joined
            .as_ref()
            .and_then(|room| self.sig.inner.roster.snapshot(room, &id));
        let (Some(snapshot), Some(token)) = (snapshot, self.session.token_id()) else {
            // Gone from the room meanwhile (the conference ended): say so and stop.
            return vec![Action::Close {
                bye: ByeReason::Left,
                code: close_code::NORMAL,
            }];
        };
        let grant = self.grant(&token);
        let mut out = self.session.on_resumed(Instant::now(), snapshot, grant);
        out.extend(self.park.kept.drain(..).map(Action::Send));
        self.update_presence();
        out
    }

    pub(super) fn media_state(&mut self, pc: PcKind, state: ConnState) {
        match pc {
            PcKind::Publish => self.park.publish = Some(state),
            PcKind::Subscribe => self.park.subscribe = Some(state),
        }
        self.park.was_up |= state == ConnState::Connected;
        self.update_presence();
    }

    fn update_presence(&self) {
        if let Some(room) = &self.joined {
            let presence = self.park.presence(self.session.parked());
            let id = self.session.participant_id();
            self.sig.inner.roster.set_presence(room, id, presence);
        }
    }
}

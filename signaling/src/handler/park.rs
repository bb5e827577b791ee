//! The driver's side of staying in the room across a drop: parking a session whose
//! socket is gone, adopting the socket that resumes it, and the participant's
//! presence from its media connections.

use super::Driver;
use crate::messages::{ByeReason, Presence, ResumeGrant, ServerMsg};
use crate::resume::{Handoff, HandoffKind};
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

    /// Where a socket for this session is to be sent.
    pub(super) fn handoff(&self) -> UnboundedSender<Handoff> {
        self.handoff.clone()
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

/// Closes the socket another one replaced: after a resume the client itself moved on
/// (no `bye`); after a takeover another page holds the place and this one must not come
/// back (`bye {reason: "replaced"}`). Close code 4409 either way.
async fn close_taken_over(mut old: SplitSink<WebSocket, Message>, kind: HandoffKind) {
    let reason = match kind {
        HandoffKind::Resume => "resumed on another connection",
        HandoffKind::Takeover { .. } => "this link was opened on another page",
    };
    let _ = tokio::time::timeout(super::CLOSE_LINGER, async {
        if matches!(kind, HandoffKind::Takeover { .. }) {
            let bye = ServerMsg::Bye {
                reason: ByeReason::Replaced,
            };
            if let Ok(text) = serde_json::to_string(&bye) {
                let _ = old.send(Message::Text(text.into())).await;
            }
        }
        let frame = CloseFrame {
            code: close_code::TAKEN_OVER,
            reason: reason.into(),
        };
        let _ = old.send(Message::Close(Some(frame))).await;
    })
    .await;
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

    /// A new socket resumes this session, or takes it over with the same link: it
    /// replaces the old one (if that still seemed alive), and the client learns the
    /// room as it is now.
    pub(super) async fn adopt(
        &mut self,
        sink: SplitSink<WebSocket, Message>,
        kind: HandoffKind,
    ) -> Vec<Action> {
        if let Some(old) = self.sink.replace(sink) {
            close_taken_over(old, kind).await;
        }
        let id = self.session.participant_id().clone();
        if let (HandoffKind::Takeover { default_view }, Some(room)) = (kind, self.joined.clone())
            && let Err(e) = self.renew_media(&room, default_view).await
        {
            tracing::warn!(participant = %id, error = %e, "new media connections refused");
            return vec![
                Action::Send(crate::session::sfu_error(&e, "join")),
                Action::Close {
                    bye: ByeReason::Left,
                    code: close_code::NORMAL,
                },
            ];
        }
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
        let resumed = kind == HandoffKind::Resume;
        let mut out = self
            .session
            .on_resumed(Instant::now(), snapshot, grant, resumed);
        out.extend(self.park.kept.drain(..).map(Action::Send));
        self.update_presence();
        if !resumed {
            tracing::info!(participant = %id, "taken over by a new page with the same link");
        }
        out
    }

    /// A second page with the same link brings its own peer connections: the place in
    /// the roster stays (id, floor, hands, the chair's mutes), the media plane starts
    /// this participant afresh, and its old tracks end for everyone.
    async fn renew_media(
        &mut self,
        room: &bridge_sfu::RoomId,
        default_view: bridge_sfu::View,
    ) -> Result<(), bridge_sfu::SfuError> {
        let inner = &self.sig.inner;
        let id = self.session.participant_id().clone();
        inner.media.leave(&id).await;
        inner.roster.keep_sources(room, &id, &[]);
        // What was kept for the old page (offers, candidates) is of no use to the new.
        self.park.kept.clear();
        (self.park.publish, self.park.subscribe, self.park.was_up) = (None, None, false);
        inner
            .media
            .join(room.clone(), id.clone(), self.events.clone(), default_view)
            .await?;
        // The media plane opens a new participant's microphone: close it again if the
        // chair's floor says so.
        if !inner.roster.audio_gate(room, &id)
            && let Err(e) = inner.media.set_audio_allowed(&id, false).await
        {
            tracing::debug!(participant = %id, error = %e, "microphone gate not applied");
        }
        Ok(())
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

//! One client's session as a pure state machine: (message, state, now) -> actions.
//!
//! The driver ([`crate::handler`]) owns the socket, the clock and the media plane; it
//! feeds what happens into a [`Session`] and carries out the [`Action`]s it returns.

use crate::chair::{ChairCommand, FloorState};
use crate::limits::SignalingConfig;
use crate::messages::{
    ByeReason, CLIENT_TYPES, ClientMsg, ErrorCode, LeaveReason, MuteState, PROTOCOL_VERSION,
    ParticipantInfo, ResumeGrant, RoomLinks, ServerMsg,
};
use crate::rate::TokenBucket;
use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RoomId, SfuError, SfuEvent, TrackId, TrackSource,
    TrackSpec,
};
use bridge_token::{TokenError, TokenKey};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// WebSocket close codes the server uses (see docs/protocol.md).
pub mod close_code {
    /// `leave` honoured.
    pub const NORMAL: u16 = 1000;
    /// Another socket has this session now: a resume (no `bye`), or a second `join`
    /// with the same link (`bye {reason: "replaced"}` first). Do not reconnect.
    pub const TAKEN_OVER: u16 = 4409;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The join was refused (token, room full).
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The room's chair removed the participant.
    pub const REMOVED: u16 = 4403;
    /// No `join` in time, or silent for too long.
    pub const TIMEOUT: u16 = 4408;
}

/// A successful join: the room, this participant, those already there, the chairing.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedRoom {
    pub room: RoomId,
    pub participant: ParticipantInfo,
    pub others: Vec<ParticipantInfo>,
    pub floor: FloorState,
    pub title: Option<String>,
    /// Sent as `links` right after `joined` when the room is linked at all.
    pub links: RoomLinks,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(ServerMsg),
    /// Join the media plane and the roster, then call [`Session::join_done`].
    Join {
        room: RoomId,
        participant: ParticipantInfo,
        default_view: bridge_sfu::View,
        token: TokenId,
    },
    /// Hand this socket to the session holding the participant that `credential`
    /// names (same token), then call [`Session::resume_done`].
    Resume {
        credential: String,
        token: TokenId,
    },
    /// The socket is gone (closed, or silent past the idle timeout) but the session
    /// is not: drop the socket, keep the participant for the grace period.
    Detach,
    /// Restart ICE on the subscribe connection (a new offer follows).
    RestartIce,
    /// A peer connection's state changed (presence comes from the media plane).
    MediaState {
        pc: PcKind,
        state: bridge_sfu::ConnState,
    },
    /// The chair removed us: this token may not join again until it expires.
    HoldOut(TokenId),
    /// Refuse a correctly signed link used before its meeting opens: send
    /// `error not_yet_open` with `opens_at` and the room's title (the driver asks the
    /// directory for it); the close follows as its own action.
    RefuseEarly {
        room: Option<RoomId>,
        opens_at: Option<u64>,
        message: String,
    },
    PublishOffer {
        sdp: String,
        tracks: Vec<TrackSpec>,
    },
    SubscribeAnswer {
        sdp: String,
    },
    Candidate {
        pc: PcKind,
        candidate: IceCandidate,
    },
    Mute {
        source: TrackSource,
        muted: bool,
    },
    /// A chairing command for the roster (which checks who may do what).
    Chair(ChairCommand),
    /// How the client shows a video it receives.
    View {
        track: TrackId,
        quality: bridge_sfu::View,
    },
    TrackLive {
        track_id: TrackId,
        source: TrackSource,
    },
    TrackEnded {
        track_id: TrackId,
    },
    /// A checked network report, to join with the media plane's view and record.
    Quality(crate::quality::QualityReport),
    /// Chair only (the roster checks): link a room into ours, or unlink it.
    Link {
        room: RoomId,
        linked: bool,
    },
    /// Send `bye`, close the socket with `code`, leave the room (if joined).
    Close {
        bye: ByeReason,
        code: u16,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    AwaitingJoin,
    Joining,
    /// A `join` with `resume` is being handed to the session it names.
    Resuming,
    Joined {
        room: RoomId,
        info: ParticipantInfo,
    },
    /// Joined, but the socket dropped: waiting (until the grace period ends) for a
    /// new socket to resume it. Nothing is sent meanwhile.
    Parked {
        room: RoomId,
        info: ParticipantInfo,
    },
    /// This socket resumed another session and has nothing more to do.
    HandedOff,
    Closed {
        leave: LeaveReason,
    },
}

pub struct Session {
    config: Arc<SignalingConfig>,
    id: ParticipantId,
    state: State,
    bucket: TokenBucket,
    started: Instant,
    last_heard: Instant,
    /// Flood replies are themselves limited: one `rate_limited` error per second.
    last_rate_error: Option<Instant>,
    /// The join token's id and expiry, once verified: a removal holds it out.
    token: Option<TokenId>,
}

/// A join token by its unique id (`sub`), with its expiry (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    pub id: String,
    pub expires: u64,
}

impl Session {
    /// `id` is the participant id this session will have once joined.
    pub fn new(config: Arc<SignalingConfig>, id: ParticipantId, now: Instant) -> Self {
        let bucket = TokenBucket::new(config.messages_per_second, config.message_burst, now);
        Self {
            config,
            id,
            state: State::AwaitingJoin,
            bucket,
            started: now,
            last_heard: now,
            last_rate_error: None,
            token: None,
        }
    }

    pub fn participant_id(&self) -> &ParticipantId {
        &self.id
    }

    /// The room, once joined.
    pub fn room(&self) -> Option<&RoomId> {
        match &self.state {
            State::Joined { room, .. } | State::Parked { room, .. } => Some(room),
            _ => None,
        }
    }

    /// Set once the session ended: why the participant left.
    /// The join token's `sub`, once joined: a resume must come with the same token.
    pub fn token_id(&self) -> Option<String> {
        self.token.as_ref().map(|t| t.id.clone())
    }

    /// Whether the socket is gone and the participant waits for a resume.
    pub fn parked(&self) -> bool {
        matches!(self.state, State::Parked { .. })
    }

    /// Whether this socket was handed to the session it resumed.
    pub fn handed_off(&self) -> bool {
        matches!(self.state, State::HandedOff)
    }

    pub fn ended(&self) -> Option<LeaveReason> {
        match self.state {
            State::Closed { leave } => Some(leave),
            _ => None,
        }
    }

    /// When [`Session::on_tick`] must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::AwaitingJoin | State::Joining | State::Resuming => {
                Some(self.started + self.config.join_timeout)
            }
            State::Joined { .. } => Some(self.last_heard + self.config.idle_timeout),
            State::Parked { .. } => Some(self.last_heard + self.config.resume_grace),
            State::Closed { .. } | State::HandedOff => None,
        }
    }

    /// A text frame from the client. `now_unix` (seconds) is for token expiry.
    pub fn on_text(
        &mut self,
        text: &str,
        now: Instant,
        now_unix: u64,
        key: &TokenKey,
    ) -> Vec<Action> {
        if matches!(
            self.state,
            State::Closed { .. } | State::Parked { .. } | State::HandedOff
        ) {
            return Vec::new();
        }
        self.last_heard = now;
        if !self.bucket.try_take(now) {
            let quiet = self
                .last_rate_error
                .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1));
            if quiet {
                return Vec::new();
            }
            self.last_rate_error = Some(now);
            return vec![error(
                ErrorCode::RateLimited,
                "too many messages; this one was dropped",
                None,
            )];
        }
        match parse(text) {
            Ok(msg) => self.on_message(msg, now_unix, key),
            Err(reply) => vec![*reply],
        }
    }

    /// A binary frame: not part of the protocol, but the session goes on.
    pub fn on_binary(&mut self, now: Instant) -> Vec<Action> {
        self.last_heard = now;
        vec![error(
            ErrorCode::BadMessage,
            "binary frames are not used; send JSON text",
            None,
        )]
    }

    /// A WebSocket-level ping or pong: counts as a sign of life.
    pub fn on_activity(&mut self, now: Instant) {
        self.last_heard = now;
    }

    fn on_message(&mut self, msg: ClientMsg, now_unix: u64, key: &TokenKey) -> Vec<Action> {
        let request = msg.type_name();
        let joined = matches!(self.state, State::Joined { .. });
        match msg {
            ClientMsg::Ping => vec![Action::Send(ServerMsg::Pong)],
            ClientMsg::Join {
                v,
                token,
                room,
                default_view,
                resume,
            } => match self.state {
                State::AwaitingJoin => {
                    self.join(v, token, room, default_view, resume, now_unix, key)
                }
                _ => vec![error(
                    ErrorCode::AlreadyJoined,
                    "this session has already joined",
                    Some(request),
                )],
            },
            _ if !joined => vec![error(
                ErrorCode::NotJoined,
                "send join first",
                Some(request),
            )],
            ClientMsg::Leave => self.close(ByeReason::Left, close_code::NORMAL),
            ClientMsg::PublishOffer { sdp, tracks } => self.publish(sdp, tracks),
            ClientMsg::SubscribeAnswer { sdp } => vec![Action::SubscribeAnswer { sdp }],
            // An empty candidate is the browser's end-of-candidates marker.
            ClientMsg::Candidate { candidate, .. } if candidate.candidate.is_empty() => Vec::new(),
            ClientMsg::Candidate { pc, candidate } => vec![Action::Candidate { pc, candidate }],
            ClientMsg::Mute {
                source: TrackSource::Screen,
                ..
            } => vec![error(
                ErrorCode::BadMessage,
                "only microphone and camera can be muted; stop the screen share instead",
                Some(request),
            )],
            ClientMsg::Mute { source, muted } => vec![Action::Mute { source, muted }],
            ClientMsg::RaiseHand { raised } => {
                vec![Action::Chair(ChairCommand::RaiseHand { raised })]
            }
            ClientMsg::GrantFloor { participant } => {
                vec![Action::Chair(ChairCommand::GrantFloor { participant })]
            }
            ClientMsg::RevokeFloor => vec![Action::Chair(ChairCommand::RevokeFloor)],
            ClientMsg::ForceMute { participant, muted } => {
                vec![Action::Chair(ChairCommand::ForceMute {
                    participant,
                    muted,
                })]
            }
            ClientMsg::Remove { participant } => {
                vec![Action::Chair(ChairCommand::Remove { participant })]
            }
            ClientMsg::Lock { locked } => vec![Action::Chair(ChairCommand::Lock { locked })],
            ClientMsg::View { track, quality } => vec![Action::View { track, quality }],
            ClientMsg::LinkRoom { room } => vec![Action::Link { room, linked: true }],
            ClientMsg::Quality(report) => match report.check() {
                Ok(report) => vec![Action::Quality(report)],
                Err(e) => vec![error(ErrorCode::BadMessage, e.to_string(), Some("quality"))],
            },
            ClientMsg::UnlinkRoom { room } => vec![Action::Link {
                room,
                linked: false,
            }],
            ClientMsg::RestartIce => vec![Action::RestartIce],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &mut self,
        v: u32,
        token: Option<String>,
        room: Option<RoomId>,
        default_view: bridge_sfu::View,
        resume: Option<String>,
        now_unix: u64,
        key: &TokenKey,
    ) -> Vec<Action> {
        if v != PROTOCOL_VERSION {
            return vec![error(
                ErrorCode::BadMessage,
                format!(
                    "protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}"
                ),
                Some("join"),
            )];
        }
        let token = token.unwrap_or_default();
        match key.verify(&token, room.as_ref().map(|r| r.0.as_str()), now_unix) {
            Ok(claims) => {
                let token = TokenId {
                    id: claims.sub,
                    expires: claims.exp,
                };
                if let Some(credential) = resume {
                    self.state = State::Resuming;
                    return vec![Action::Resume { credential, token }];
                }
                self.state = State::Joining;
                self.token = Some(token.clone());
                vec![Action::Join {
                    room: RoomId(claims.room),
                    default_view,
                    token,
                    participant: ParticipantInfo {
                        id: self.id.clone(),
                        name: claims.name,
                        role: claims.role,
                        unit: claims.unit,
                        muted: MuteState::default(),
                        tracks: Vec::new(),
                        presence: Default::default(),
                    },
                }]
            }
            Err(e) => {
                let mut out = vec![match e {
                    TokenError::NotYetValid => early_refusal(&token, room.as_ref(), &e),
                    _ => error(
                        ErrorCode::from_token_code(e.code()),
                        e.to_string(),
                        Some("join"),
                    ),
                }];
                out.extend(self.close(ByeReason::Refused, close_code::POLICY));
                out
            }
        }
    }

    /// The outcome of [`Action::Resume`]: handed over (this socket belongs to the
    /// resumed session now), or refused, and then a plain `join` may follow.
    pub fn resume_done(&mut self, result: Result<(), String>) -> Vec<Action> {
        match result {
            Ok(()) => {
                self.state = State::HandedOff;
                Vec::new()
            }
            Err(why) => {
                self.state = State::AwaitingJoin;
                vec![error(ErrorCode::ResumeFailed, why, Some("join"))]
            }
        }
    }

    /// A new socket took this session over: `joined` again from the roster's present
    /// state, under the new credential; `resumed` when the client keeps its media
    /// connections (a resume), not when it brings new ones (a second page's `join`).
    pub fn on_resumed(
        &mut self,
        now: Instant,
        snapshot: JoinedRoom,
        resume: ResumeGrant,
        resumed: bool,
    ) -> Vec<Action> {
        let (State::Joined { room, info } | State::Parked { room, info }) = &self.state else {
            return Vec::new();
        };
        self.state = State::Joined {
            room: room.clone(),
            info: info.clone(),
        };
        self.last_heard = now;
        self.joined_msgs(snapshot, Some(resume), resumed)
    }

    /// The outcome of [`Action::Join`]; a refusal carries the error message to send.
    pub fn join_done(
        &mut self,
        result: Result<JoinedRoom, ServerMsg>,
        resume: Option<ResumeGrant>,
    ) -> Vec<Action> {
        match result {
            Ok(joined) => {
                self.state = State::Joined {
                    room: joined.room.clone(),
                    info: joined.participant.clone(),
                };
                self.joined_msgs(joined, resume, false)
            }
            Err(refusal) => {
                let mut out = vec![Action::Send(refusal)];
                out.extend(self.close(ByeReason::Refused, close_code::POLICY));
                out
            }
        }
    }

    fn joined_msgs(
        &self,
        joined: JoinedRoom,
        resume: Option<ResumeGrant>,
        resumed: bool,
    ) -> Vec<Action> {
        let JoinedRoom {
            room,
            participant,
            others: participants,
            floor,
            title,
            links,
        } = joined;
        let mut out = vec![Action::Send(ServerMsg::Joined {
            v: PROTOCOL_VERSION,
            participant,
            room,
            participants,
            limits: self.config.limits(),
            floor,
            title,
            resume,
            resumed,
        })];
        if links != RoomLinks::default() {
            out.push(Action::Send(ServerMsg::Links(links)));
        }
        out
    }

    fn publish(&mut self, sdp: String, tracks: Vec<TrackSpec>) -> Vec<Action> {
        let State::Joined { info, .. } = &self.state else {
            return Vec::new();
        };
        if !info.role.may_publish() {
            return vec![error(
                ErrorCode::Forbidden,
                format!("role {} may not publish", info.role),
                Some("publish_offer"),
            )];
        }
        if tracks.len() > self.config.max_tracks_per_participant {
            return vec![error(
                ErrorCode::TooManyTracks,
                format!(
                    "at most {} tracks per participant",
                    self.config.max_tracks_per_participant
                ),
                Some("publish_offer"),
            )];
        }
        vec![Action::PublishOffer { sdp, tracks }]
    }

    /// A message another session caused (via the roster): passed on, except the chair's
    /// removal, which ends this session.
    pub fn on_room_msg(&mut self, msg: ServerMsg) -> Vec<Action> {
        match msg {
            ServerMsg::Bye {
                reason: ByeReason::Removed,
            } => {
                // Otherwise the same link would bring the hall straight back.
                let hold = self.token.clone().map(Action::HoldOut);
                let mut out: Vec<Action> = hold.into_iter().collect();
                out.extend(self.close(ByeReason::Removed, close_code::REMOVED));
                out
            }
            other => vec![Action::Send(other)],
        }
    }

    /// An event from the media plane for this participant.
    /// While parked, what is for the client comes back as `Send` all the same: the
    /// driver keeps it for the resumed socket.
    pub fn on_sfu_event(&mut self, event: SfuEvent) -> Vec<Action> {
        if !matches!(self.state, State::Joined { .. } | State::Parked { .. }) {
            return Vec::new();
        }
        match event {
            SfuEvent::SubscribeOffer { sdp, tracks } => {
                vec![Action::Send(ServerMsg::SubscribeOffer { sdp, tracks })]
            }
            SfuEvent::Slots { tracks } => {
                vec![Action::Send(ServerMsg::Slots { tracks })]
            }
            SfuEvent::LocalCandidate { pc, candidate } => {
                vec![Action::Send(ServerMsg::Candidate { pc, candidate })]
            }
            SfuEvent::TrackLive { track_id, source } => {
                vec![Action::TrackLive { track_id, source }]
            }
            SfuEvent::TrackEnded { track_id } => vec![Action::TrackEnded { track_id }],
            SfuEvent::ConnectionState { pc, state } => vec![Action::MediaState { pc, state }],
            SfuEvent::Speakers { ordered } => vec![Action::Send(ServerMsg::ActiveSpeakers {
                participants: ordered,
            })],
            SfuEvent::AudioMix { on, mid } => vec![Action::Send(ServerMsg::AudioMix { on, mid })],
            SfuEvent::Layers { track_id, active } => vec![Action::Send(ServerMsg::Layers {
                track: track_id,
                active,
            })],
        }
    }

    /// Time passed: enforces the join deadline, the idle timeout (a joined session's
    /// silent socket is detached, not its participant) and the grace period.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        match self.next_deadline() {
            Some(deadline) if now >= deadline => {
                if matches!(self.state, State::Joined { .. }) {
                    self.park();
                    return vec![Action::Detach];
                }
                self.close(ByeReason::Timeout, close_code::TIMEOUT)
            }
            _ => Vec::new(),
        }
    }

    pub fn on_shutdown(&mut self) -> Vec<Action> {
        self.close(ByeReason::Shutdown, close_code::GOING_AWAY)
    }

    /// The socket ended without `leave` (closed tab, lost network): a joined
    /// participant is parked for the grace period, anything else ends.
    pub fn on_disconnect(&mut self) {
        match self.state {
            State::Joined { .. } => self.park(),
            State::Closed { .. } | State::Parked { .. } | State::HandedOff => {}
            _ => {
                self.state = State::Closed {
                    leave: LeaveReason::Left,
                }
            }
        }
    }

    fn park(&mut self) {
        if let State::Joined { room, info } = &self.state {
            self.state = State::Parked {
                room: room.clone(),
                info: info.clone(),
            };
        }
    }

    fn close(&mut self, bye: ByeReason, code: u16) -> Vec<Action> {
        if matches!(self.state, State::Closed { .. }) {
            return Vec::new();
        }
        if matches!(self.state, State::HandedOff) {
            return Vec::new();
        }
        let leave = match bye {
            ByeReason::Timeout => LeaveReason::Timeout,
            ByeReason::Shutdown => LeaveReason::Shutdown,
            ByeReason::Removed => LeaveReason::Removed,
            // A replaced socket's participant goes on elsewhere; never closed this way.
            ByeReason::Left | ByeReason::Refused | ByeReason::Replaced => LeaveReason::Left,
        };
        self.state = State::Closed { leave };
        vec![Action::Close { bye, code }]
    }
}

/// The refusal of a link used before its `nbf`. Its signature was checked before its
/// `nbf` (see `early.rs`), so its room and opening time are authentic; a link for
/// another room than the page's is `wrong_room`, as it would be once open.
fn early_refusal(token: &str, page_room: Option<&RoomId>, e: &TokenError) -> Action {
    let early = crate::early::early_claims(token);
    if let (Some(page), Some(early)) = (page_room, early.as_ref())
        && page.0 != early.room
    {
        return error(
            ErrorCode::WrongRoom,
            "the join link is for another room",
            Some("join"),
        );
    }
    Action::RefuseEarly {
        room: early.as_ref().map(|c| RoomId(c.room.clone())),
        opens_at: early.and_then(|c| c.nbf),
        message: format!("{e}: the meeting's room is not open yet"),
    }
}

fn error(code: ErrorCode, message: impl Into<String>, request: Option<&str>) -> Action {
    Action::Send(ServerMsg::error(code, message, request))
}

/// Parses a client message, telling "not our JSON" (`bad_message`) from "a type we do
/// not know" (`unknown_type`).
fn parse(text: &str) -> Result<ClientMsg, Box<Action>> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Box::new(error(ErrorCode::BadMessage, format!("not JSON: {e}"), None)))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(Box::new(error(
            ErrorCode::BadMessage,
            "a JSON object with a string \"type\" is required",
            None,
        )));
    };
    let Some(known) = CLIENT_TYPES.iter().copied().find(|t| *t == kind) else {
        let shown: String = kind.chars().take(40).collect();
        return Err(Box::new(error(
            ErrorCode::UnknownType,
            format!("unknown message type {shown:?}"),
            None,
        )));
    };
    serde_json::from_value(value).map_err(|e| {
        Box::new(error(
            ErrorCode::BadMessage,
            format!("bad {known} message: {e}"),
            Some(known),
        ))
    })
}

/// The error message for a failed media-plane request.
pub fn sfu_error(e: &SfuError, request: &str) -> ServerMsg {
    let code = match e {
        SfuError::InvalidSdp(_) => ErrorCode::InvalidSdp,
        SfuError::InvalidCandidate(_) => ErrorCode::InvalidCandidate,
        SfuError::TooManyTracks { .. } => ErrorCode::TooManyTracks,
        SfuError::RoomFull { .. } => ErrorCode::RoomFull,
        SfuError::AlreadyJoined(_) => ErrorCode::AlreadyJoined,
        SfuError::UnexpectedAnswer | SfuError::UnknownTrack(_) => ErrorCode::BadMessage,
        SfuError::LinkCycle { .. } | SfuError::LinkTooDeep { .. } => ErrorCode::LinkRefused,
        SfuError::UnknownParticipant(_) | SfuError::Stopped | SfuError::Engine(_) => {
            ErrorCode::Internal
        }
    };
    ServerMsg::error(code, e.to_string(), Some(request))
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

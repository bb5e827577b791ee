//! The wire messages of docs/protocol.md, version 1.
//!
//! Both enums derive `Serialize` and `Deserialize` so Rust clients (tests, load
//! generator) can reuse them.

use crate::chair::FloorState;
use crate::rollcall::{RollCounts, RollEntry};
use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RemoteTrack, RoomId, TrackId, TrackSource, TrackSpec,
};
use bridge_token::Role;
use serde::{Deserialize, Serialize};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: u32 = 1;

fn version_one() -> u32 {
    PROTOCOL_VERSION
}

/// The `type` values a client may send; anything else gets `unknown_type`.
pub const CLIENT_TYPES: &[&str] = &[
    "join",
    "publish_offer",
    "subscribe_answer",
    "candidate",
    "mute",
    "leave",
    "ping",
    "raise_hand",
    "grant_floor",
    "revoke_floor",
    "force_mute",
    "remove",
    "lock",
    "view",
    "link_room",
    "unlink_room",
    "quality",
    "restart_ice",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Join {
        #[serde(default = "version_one")]
        v: u32,
        /// Absent or empty: `token_missing`.
        #[serde(default)]
        token: Option<String>,
        /// The room of the page the client is on (`/r/ROOM`); if given it must match
        /// the token's room (`wrong_room`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        /// How the client shows the videos it names no `view` for: a conference site
        /// that shows only some joins with `off` and is sent nothing else.
        #[serde(default)]
        default_view: bridge_sfu::View,
        /// The credential of `joined.resume`: this socket takes over the participant
        /// that credential names (same id, tile, floor and media connections) instead
        /// of joining anew. Refused (`resume_failed`) after the grace period, for
        /// another token, or once used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
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
    Leave,
    Ping,
    /// Ask for (or give up asking for) the floor.
    RaiseHand {
        raised: bool,
    },
    /// Chair only: the participant may speak and takes the main stage.
    GrantFloor {
        participant: ParticipantId,
    },
    /// Chair only.
    RevokeFloor,
    /// Chair only: close (or reopen) a participant's microphone, or everyone's but the
    /// chairs' when `participant` is absent. Enforced by the server.
    ForceMute {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
        muted: bool,
    },
    /// Chair only: the participant's session ends (close code 4403).
    Remove {
        participant: ParticipantId,
    },
    /// Chair only: a locked room admits no new participant but chairs.
    Lock {
        locked: bool,
    },
    /// How the client shows a video it receives (simulcast layer choice).
    View {
        track: TrackId,
        quality: bridge_sfu::View,
    },
    /// Chair only: pull another room (a unit's own room) into this conference; its
    /// participants and ours receive each other's media until unlinked.
    LinkRoom {
        room: RoomId,
    },
    /// Chair only: send a linked room back to itself.
    UnlinkRoom {
        room: RoomId,
    },
    /// The client's own network figures, every few seconds.
    Quality(crate::quality::QualityReport),
    /// Restart ICE on the subscribe connection: the server answers with a
    /// `subscribe_offer` carrying new ICE credentials (the publish connection is
    /// restarted by the client's own offer).
    RestartIce,
}

impl ClientMsg {
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMsg::Join { .. } => "join",
            ClientMsg::PublishOffer { .. } => "publish_offer",
            ClientMsg::SubscribeAnswer { .. } => "subscribe_answer",
            ClientMsg::Candidate { .. } => "candidate",
            ClientMsg::Mute { .. } => "mute",
            ClientMsg::Leave => "leave",
            ClientMsg::Ping => "ping",
            ClientMsg::RaiseHand { .. } => "raise_hand",
            ClientMsg::GrantFloor { .. } => "grant_floor",
            ClientMsg::RevokeFloor => "revoke_floor",
            ClientMsg::ForceMute { .. } => "force_mute",
            ClientMsg::Remove { .. } => "remove",
            ClientMsg::Lock { .. } => "lock",
            ClientMsg::View { .. } => "view",
            ClientMsg::LinkRoom { .. } => "link_room",
            ClientMsg::UnlinkRoom { .. } => "unlink_room",
            ClientMsg::Quality(_) => "quality",
            ClientMsg::RestartIce => "restart_ice",
        }
    }
}

// `joined` is much larger than the rest; a message is built once and serialized at
// once, so its size in memory does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Joined {
        v: u32,
        participant: ParticipantInfo,
        room: RoomId,
        participants: Vec<ParticipantInfo>,
        limits: Limits,
        /// Hands, floor, lock; later changes come as `floor` messages.
        #[serde(default)]
        floor: FloorState,
        /// The meeting's title, when the room belongs to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// How to take this participant over from a new socket if this one drops.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<ResumeGrant>,
        /// This `joined` answers a `join` with `resume`: the participant, its
        /// tracks, slots and peer connections are the ones it had.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resumed: bool,
    },
    PublishAnswer {
        sdp: String,
    },
    SubscribeOffer {
        sdp: String,
        tracks: Vec<RemoteTrack>,
    },
    /// Which source each offered m-line carries now (it changed without an offer).
    Slots {
        tracks: Vec<RemoteTrack>,
    },
    Candidate {
        pc: PcKind,
        candidate: IceCandidate,
    },
    ParticipantJoined {
        participant: ParticipantInfo,
    },
    ParticipantLeft {
        participant_id: ParticipantId,
        reason: LeaveReason,
    },
    TrackPublished {
        participant_id: ParticipantId,
        track_id: TrackId,
        source: TrackSource,
    },
    TrackUnpublished {
        participant_id: ParticipantId,
        track_id: TrackId,
        source: TrackSource,
    },
    MuteChanged {
        participant_id: ParticipantId,
        source: TrackSource,
        muted: bool,
    },
    /// A participant's media connection came up, went down, or its socket dropped
    /// and the server holds its place for the grace period.
    Presence {
        participant_id: ParticipantId,
        presence: Presence,
    },
    Pong,
    /// The room's chairing state, in full, on every change.
    Floor(FloorState),
    /// The room's loudest speakers (at most three, loudest first), on change.
    ActiveSpeakers {
        participants: Vec<ParticipantId>,
    },
    /// To a simulcast publisher: which encodings of its track (lowest first) anybody
    /// receives; the client sets `active` on its sender's encodings to match.
    Layers {
        track: TrackId,
        active: Vec<bool>,
    },
    /// Whether the client's audio is one server-mixed stream now (an audio-only hall)
    /// and which m-line carries it (`mid`, while `on`).
    AudioMix {
        on: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mid: Option<String>,
    },
    /// The room's links, in full, at join and on every change: the conference it is
    /// linked into, and the rooms linked into it.
    Links(RoomLinks),
    /// A participant's network, as reported and joined with what the server forwards:
    /// to the chairs of its link tree and to the participant itself.
    Quality {
        participant_id: ParticipantId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        quality: crate::quality::SiteQuality,
    },
    /// To chairs: every expected site and who else is here, on every change.
    RollCall {
        counts: RollCounts,
        sites: Vec<RollEntry>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        /// `not_yet_open` only: when the link admits (its `nbf`, seconds since 1970),
        /// so the page can say when to come back instead of "invalid link".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_at: Option<u64>,
        /// `not_yet_open` only: the meeting's title, when the room belongs to one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Bye {
        reason: ByeReason,
    },
}

impl ServerMsg {
    pub fn error(code: ErrorCode, message: impl Into<String>, request: Option<&str>) -> Self {
        ServerMsg::Error {
            code,
            message: message.into(),
            request: request.map(str::to_owned),
            opens_at: None,
            title: None,
        }
    }
}

/// A participant as everyone in the room sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    pub id: ParticipantId,
    pub name: String,
    pub role: Role,
    pub unit: Option<String>,
    pub muted: MuteState,
    pub tracks: Vec<PublishedTrack>,
    #[serde(default)]
    pub presence: Presence,
}

/// Whether a participant is really here: its media connection is what counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Signaling joined, no media connection up (yet, or ever: a blocked network).
    #[default]
    NoMedia,
    /// A peer connection is connected (ICE and DTLS).
    Connected,
    /// Its socket or its media dropped; its place is held for the grace period.
    Reconnecting,
}

/// `joined.resume`: a credential bound to this participant and this join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeGrant {
    pub credential: String,
    /// How long after the server last heard from the client it may still resume.
    pub grace_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteState {
    pub microphone: bool,
    pub camera: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedTrack {
    pub track_id: TrackId,
    pub source: TrackSource,
}

/// The limits the server applies to this session, so clients need not hard-code them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub messages_per_second: u32,
    pub message_burst: u32,
    pub ping_interval_ms: u64,
    pub idle_timeout_ms: u64,
    pub max_participants: usize,
    pub max_tracks: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Timeout,
    Removed,
    Shutdown,
    /// Its room and ours were linked and no longer are: it is still in its own room.
    Unlinked,
}

/// A room as a link names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedRoom {
    pub room: RoomId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLinks {
    /// The conference this room is linked into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<LinkedRoom>,
    /// Rooms linked into this one.
    #[serde(default)]
    pub linked: Vec<LinkedRoom>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    /// The client sent `leave`.
    Left,
    /// No message for too long, or no `join` in time.
    Timeout,
    /// The join was refused (token, room full); the `error` before says why.
    Refused,
    /// A chair or the scheduler removed the participant.
    Removed,
    /// The server is stopping.
    Shutdown,
    /// A `join` with the same link on another socket took this participant over
    /// (close code 4409): do not reconnect, the other page holds the place now.
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadMessage,
    UnknownType,
    NotJoined,
    AlreadyJoined,
    TokenMissing,
    TokenInvalid,
    TokenExpired,
    /// A signed token that admits for longer than the server's maximum lifetime.
    TokenLifetime,
    WrongRoom,
    RoomFull,
    RoomLocked,
    InvalidSdp,
    InvalidCandidate,
    TooManyTracks,
    Forbidden,
    /// A link that would make a cycle or go too deep.
    LinkRefused,
    /// A `link_room` / `unlink_room` room id that is not 1–64 letters, digits, '-', '_'.
    InvalidRoom,
    /// A room this conference may not pull in: a meeting's room, a room leading its
    /// own conference, or one outside the conference's units.
    NotLinkable,
    /// A join with the link of a participant the chair removed (until it expires).
    Removed,
    /// A correctly signed link used before its `nbf`: the meeting's room is not open
    /// yet. The `error` carries `opens_at` (and `title` when known).
    NotYetOpen,
    /// A `join` with `resume` the server cannot honour (grace period over, unknown
    /// credential, another token): the socket stays open for a plain `join`.
    ResumeFailed,
    RateLimited,
    Internal,
}

impl ErrorCode {
    /// From `bridge_token::TokenError::code()`.
    pub fn from_token_code(code: &str) -> Self {
        match code {
            "token_missing" => ErrorCode::TokenMissing,
            "token_expired" => ErrorCode::TokenExpired,
            "token_lifetime" => ErrorCode::TokenLifetime,
            "wrong_room" => ErrorCode::WrongRoom,
            "token_invalid" => ErrorCode::TokenInvalid,
            _ => ErrorCode::Internal,
        }
    }
}

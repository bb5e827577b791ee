//! The contract between the media plane and the signaling layer.
//!
//! Every participant has two peer connections, as LiveKit does: a *publish*
//! connection (the client offers, the server answers; only the client renegotiates)
//! and a *subscribe* connection (the server offers, the client answers; only the
//! server renegotiates). Each side only ever initiates on its own connection, so
//! offer glare cannot happen.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

macro_rules! id_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_newtype!(
    /// A meeting room (every unit has a permanent one; conferences link them).
    RoomId
);
id_newtype!(
    /// One participant's session in a room; unique per join.
    ParticipantId
);
id_newtype!(
    /// A published track, unique across the server.
    TrackId
);

/// Which of the participant's two peer connections a message concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PcKind {
    Publish,
    Subscribe,
}

/// What a published track carries, as the publisher declared it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    Microphone,
    Camera,
    Screen,
}

impl TrackSource {
    pub fn is_audio(self) -> bool {
        matches!(self, TrackSource::Microphone)
    }
}

/// The publisher's declaration of one m-line of its publish offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSpec {
    /// The media id of the m-line in the offer (`a=mid:`).
    pub mid: String,
    pub source: TrackSource,
}

/// A remote track as a subscriber sees it in a subscribe offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteTrack {
    pub track_id: TrackId,
    pub participant_id: ParticipantId,
    pub source: TrackSource,
    /// The mid of the m-line carrying it in the subscribe offer.
    pub mid: String,
}

/// An ICE candidate in the browser's `RTCIceCandidateInit` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
}

/// Connection state of one of a participant's peer connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// Events the media plane sends to one participant's session.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// A (re)negotiation of the subscribe connection: send this offer to the client;
    /// `tracks` lists every remote track the offer carries, in full.
    SubscribeOffer {
        sdp: String,
        tracks: Vec<RemoteTrack>,
    },
    /// The sources the offered m-lines carry now, whole (slots.rs): sent when one
    /// changes without a new offer. An m-line not listed carries nothing.
    Slots {
        tracks: Vec<RemoteTrack>,
    },
    /// A server candidate to trickle to the client: the host candidates, once per
    /// connection, right after its first description (they are in the SDP too).
    LocalCandidate {
        pc: PcKind,
        candidate: IceCandidate,
    },
    /// A track of this participant is now live in the room (first packet seen).
    TrackLive {
        track_id: TrackId,
        source: TrackSource,
    },
    /// A live track of this participant ended: its publisher renegotiated it away.
    TrackEnded {
        track_id: TrackId,
    },
    ConnectionState {
        pc: PcKind,
        state: ConnState,
    },
    /// The room's loudest speakers changed (at most three, loudest first).
    Speakers {
        ordered: Vec<ParticipantId>,
    },
    /// Whether this subscriber's audio is one server-mixed stream now (an audio-only
    /// hall, mix.rs), and the m-line that carries it (`mid`, while `on`). While on,
    /// its other audio m-lines carry nothing and `Slots` lists none of them.
    AudioMix {
        on: bool,
        mid: Option<String>,
    },
    /// To a simulcast publisher: which of the track's encodings (lowest first) anybody
    /// receives; the others may be paused (`active: false` on the sender's encoding).
    Layers {
        track_id: TrackId,
        active: Vec<bool>,
    },
}

/// Errors the media plane reports to its callers.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SfuError {
    #[error("unknown participant {0}")]
    UnknownParticipant(ParticipantId),
    #[error("participant {0} already joined")]
    AlreadyJoined(ParticipantId),
    #[error("invalid session description: {0}")]
    InvalidSdp(String),
    #[error("invalid ICE candidate: {0}")]
    InvalidCandidate(String),
    #[error("too many tracks: at most {max} per participant")]
    TooManyTracks { max: usize },
    #[error("room {room} is full ({max} participants)")]
    RoomFull { room: RoomId, max: usize },
    #[error("unknown track {0}")]
    UnknownTrack(TrackId),
    #[error("no answer expected on the subscribe connection")]
    UnexpectedAnswer,
    #[error("linking room {child} into {parent} would make a cycle")]
    LinkCycle { child: RoomId, parent: RoomId },
    #[error("rooms can be linked at most {max} deep")]
    LinkTooDeep { max: usize },
    #[error("the media plane has stopped")]
    Stopped,
    #[error("media engine error: {0}")]
    Engine(String),
}

/// How the media plane is set up.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Where the one media UDP socket binds (e.g. `0.0.0.0:50000`).
    pub udp_bind: SocketAddr,
    /// Where the ICE-TCP listener binds (passive candidates), if any.
    pub tcp_bind: Option<SocketAddr>,
    /// Ports of other TCP listeners (the HTTPS port) that hand ICE-TCP connections over
    /// with [`SfuHandle::accept_ice_tcp`]; announced as passive candidates too, so a hall
    /// whose firewall lets only TCP 443 out still reaches the media plane.
    pub shared_tcp_ports: Vec<u16>,
    /// Addresses announced in host candidates. Empty means: the bound address,
    /// or 127.0.0.1 when bound to the unspecified address.
    pub announce_ips: Vec<IpAddr>,
    pub max_participants_per_room: usize,
    pub max_tracks_per_participant: usize,
}

impl Default for SfuConfig {
    fn default() -> Self {
        Self {
            udp_bind: SocketAddr::from(([0, 0, 0, 0], 50000)),
            tcp_bind: Some(SocketAddr::from(([0, 0, 0, 0], 50000))),
            shared_tcp_ports: Vec::new(),
            announce_ips: Vec::new(),
            max_participants_per_room: 300,
            max_tracks_per_participant: 3,
        }
    }
}

/// Counters for health pages and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfuStats {
    pub rooms: usize,
    pub participants: usize,
    pub connections: usize,
    pub published_tracks: usize,
    pub packets_in: u64,
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    pub keyframe_requests_sent: u64,
    pub retransmissions: u64,
    pub dropped_datagrams: u64,
    /// Per subscriber, ordered by participant id.
    #[serde(default)]
    pub subscribers: Vec<SubscriberStats>,
    /// Linked rooms as (child, parent), by child.
    #[serde(default)]
    pub links: Vec<(RoomId, RoomId)>,
}

/// What one subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberStats {
    pub participant_id: ParticipantId,
    /// The bandwidth estimate of its subscribe connection (transport-cc feedback), in
    /// bit/s; absent when its client sends none.
    pub estimate_bps: Option<u64>,
    pub videos: Vec<ReceivedVideo>,
}

/// One video as one subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedVideo {
    pub track_id: TrackId,
    pub view: crate::layers::View,
    /// The layer forwarded (0 lowest), none while off or waiting for a first keyframe.
    pub layer: Option<u8>,
    /// Its rid (empty for a video without simulcast).
    pub rid: Option<String>,
}

//! Every limit of the signaling layer, in one place. docs/protocol.md documents the
//! same numbers; `joined.limits` tells them to each client.

use crate::messages::Limits;
use std::time::Duration;

/// Largest WebSocket message (and frame) accepted; larger closes with 1009.
/// A browser publish offer with three simulcast video layers is about 10 KiB, but a
/// subscribe answer carries one m-line (about 320 bytes) per track in the room: at the
/// room limit of 300 participants with 3 tracks each that is about 290 KB. At 64 KiB
/// the answers of a 100-site conference were refused.
pub const MAX_MESSAGE_BYTES: usize = 384 * 1024;
/// Sustained client message rate (token bucket refill per second).
pub const MESSAGES_PER_SECOND: u32 = 50;
/// Token bucket size: a burst of trickled candidates fits easily.
pub const MESSAGE_BURST: u32 = 100;
/// The first message (`join`) must arrive within this time of the upgrade.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// WebSockets open at once that have not joined a room yet: a join comes within a
/// second or two of opening, so hundreds waiting means someone is holding them.
pub const MAX_UNJOINED: usize = 256;
/// How often a client should send `ping`.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);
/// A joined session silent for this long is closed and its participant removed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// A joined participant whose socket dropped (or fell silent past the idle timeout)
/// keeps its place this long after it was last heard: a new socket may resume it
/// (`join` with `resume`). Rural links drop for seconds at a time.
pub const RESUME_GRACE: Duration = Duration::from_secs(30);
/// A client that does not read for this long (its socket buffer full) is dropped,
/// so one stuck hall cannot hold a session task and its queued messages forever.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for sessions to say `bye` and close.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The limits of one signaling server. Defaults are the protocol's numbers; tests
/// shorten the timeouts.
#[derive(Debug, Clone)]
pub struct SignalingConfig {
    pub max_message_bytes: usize,
    pub messages_per_second: u32,
    pub message_burst: u32,
    pub join_timeout: Duration,
    /// Sockets open without a join yet, at most; more are refused with 503.
    pub max_unjoined: usize,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub resume_grace: Duration,
    pub shutdown_grace: Duration,
    /// Usually `SfuConfig::max_participants_per_room`.
    pub max_participants_per_room: usize,
    /// Usually `SfuConfig::max_tracks_per_participant`.
    pub max_tracks_per_participant: usize,
}

impl Default for SignalingConfig {
    fn default() -> Self {
        let sfu = bridge_sfu::SfuConfig::default();
        Self {
            max_message_bytes: MAX_MESSAGE_BYTES,
            messages_per_second: MESSAGES_PER_SECOND,
            message_burst: MESSAGE_BURST,
            join_timeout: JOIN_TIMEOUT,
            max_unjoined: MAX_UNJOINED,
            ping_interval: PING_INTERVAL,
            idle_timeout: IDLE_TIMEOUT,
            resume_grace: RESUME_GRACE,
            shutdown_grace: SHUTDOWN_GRACE,
            max_participants_per_room: sfu.max_participants_per_room,
            max_tracks_per_participant: sfu.max_tracks_per_participant,
        }
    }
}

impl SignalingConfig {
    /// Takes the room and track limits from the media plane's configuration.
    pub fn for_sfu(sfu: &bridge_sfu::SfuConfig) -> Self {
        Self {
            max_participants_per_room: sfu.max_participants_per_room,
            max_tracks_per_participant: sfu.max_tracks_per_participant,
            ..Self::default()
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            messages_per_second: self.messages_per_second,
            message_burst: self.message_burst,
            ping_interval_ms: millis(self.ping_interval),
            idle_timeout_ms: millis(self.idle_timeout),
            max_participants: self.max_participants_per_room,
            max_tracks: self.max_tracks_per_participant,
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Largest HTTP request body on the other routes (REST API, forms). Uploads, when
/// they come, get their own larger limit on their own route.
pub const HTTP_BODY_LIMIT: usize = 1024 * 1024;

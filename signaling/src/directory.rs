//! What signaling may learn about a room from elsewhere (the scheduler, in the binary):
//! its title, the sites expected in it and the rooms it pulls in, asked once each time
//! a room opens (its first participant joins), so edits to a meeting show the next
//! time its room opens; and, each time a chair asks, which rooms its conference may
//! pull in.

use crate::media::BoxFuture;
use crate::messages::LinkedRoom;
use crate::rollcall::Site;
use bridge_sfu::{ParticipantId, RoomId};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomInfo {
    /// Shown on the room page instead of the room id.
    pub title: Option<String>,
    /// The roll call's list; empty for a room without a meeting behind it.
    pub expected: Vec<Site>,
    /// Rooms linked into this one when it opens (a meeting's invited units' own
    /// rooms), and unlinked when it closes.
    pub links: Vec<LinkedRoom>,
}

/// What happens in rooms, for the binary to keep (attendance, recording).
#[derive(Debug, Clone, PartialEq)]
pub enum RoomEvent {
    /// The room's first participant joined (the room opened).
    Opened { room: RoomId },
    /// Its last participant left (the room closed).
    Closed { room: RoomId },
    Joined {
        room: RoomId,
        participant: ParticipantId,
        name: String,
        unit: Option<String>,
        role: bridge_token::Role,
    },
    /// `speaking`: time the participant was among the room's ranked speakers.
    Left {
        room: RoomId,
        participant: ParticipantId,
        speaking: Duration,
    },
}

/// Whether a conference may pull a room in, as the directory sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPermission {
    Allowed,
    /// Why not, in words for the chair (the `error` message): short, and naming no id
    /// but a well-formed one.
    Refused(String),
}

pub trait RoomDirectory: Send + Sync + 'static {
    /// `None`: nothing known (an ad-hoc room).
    fn describe<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Option<RoomInfo>>;

    /// Whether the chair of `conference` may pull `room` in with `link_room` (a room
    /// linked into it becomes part of its conference, governed by its chairs). Asked
    /// after signaling's own rules passed, so `room` is a well-formed id of another
    /// room, neither a meeting's nor leading a conference of its own; before the media
    /// plane is. Only the directory knows which rooms belong to whom, so there is no
    /// default: refuse when in doubt (a failed lookup included).
    fn may_pull_in<'a>(
        &'a self,
        conference: &'a RoomId,
        room: &'a RoomId,
    ) -> BoxFuture<'a, LinkPermission>;

    /// Told after the fact, in order per room; must not block (queue the work).
    fn observe(&self, _event: RoomEvent, _at: SystemTime) {}
}

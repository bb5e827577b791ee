//! What signaling may learn about a room from elsewhere (the scheduler, in the binary):
//! its title, the sites expected in it and the rooms it pulls in. Asked once each time
//! a room opens (its first participant joins), so edits to a meeting show the next
//! time its room opens.

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

pub trait RoomDirectory: Send + Sync + 'static {
    /// `None`: nothing known (an ad-hoc room).
    fn describe<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Option<RoomInfo>>;

    /// Told after the fact, in order per room; must not block (queue the work).
    fn observe(&self, _event: RoomEvent, _at: SystemTime) {}
}

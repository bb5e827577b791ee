//! What signaling may learn about a room from elsewhere (the scheduler, in the binary):
//! its title, the sites expected in it and the rooms it pulls in. Asked once each time
//! a room opens (its first participant joins), so edits to a meeting show the next
//! time its room opens.

use crate::media::BoxFuture;
use crate::messages::LinkedRoom;
use crate::rollcall::Site;
use bridge_sfu::RoomId;

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

pub trait RoomDirectory: Send + Sync + 'static {
    /// `None`: nothing known (an ad-hoc room).
    fn describe<'a>(&'a self, room: &'a RoomId) -> BoxFuture<'a, Option<RoomInfo>>;
}

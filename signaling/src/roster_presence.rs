//! The roster's side of staying in the room across a drop: each participant's
//! presence (from its media connections and its socket), and the room as a resumed
//! session must see it again.

use crate::messages::{Presence, ServerMsg};
use crate::roster::Roster;
use crate::session::JoinedRoom;
use bridge_sfu::{ParticipantId, RoomId};

impl Roster {
    /// Records a participant's presence and tells its link tree (and the chairs'
    /// roll calls) when it changed.
    pub fn set_presence(&self, room: &RoomId, id: &ParticipantId, presence: Presence) {
        self.with_rooms(|all| {
            let Some(r) = all.map.get_mut(room) else {
                return;
            };
            let Some(m) = r.members.iter_mut().find(|m| &m.info.id == id) else {
                return;
            };
            if m.info.presence == presence {
                return;
            }
            m.info.presence = presence;
            let msg = ServerMsg::Presence {
                participant_id: id.clone(),
                presence,
            };
            r.broadcast(&msg, None);
            all.relay(room, &[msg]);
            all.send_roll_calls(room);
        })
    }

    /// What `joined` tells a participant that resumes: the room as it is now. `None`
    /// if it is no longer in the room.
    pub fn snapshot(&self, room: &RoomId, id: &ParticipantId) -> Option<JoinedRoom> {
        self.with_rooms(|all| {
            let r = all.map.get(room)?;
            let me = r.members.iter().find(|m| &m.info.id == id)?.info.clone();
            let mut others: Vec<_> = r
                .members
                .iter()
                .filter(|m| &m.info.id != id)
                .map(|m| m.info.clone())
                .collect();
            let title = r.title.clone();
            others.extend(all.group_infos(room));
            // The chairs' roll calls are sent on change only: a resumed chair missed them.
            all.send_roll_calls(room);
            Some(JoinedRoom {
                room: room.clone(),
                participant: me,
                others,
                floor: all.floor_state(room),
                title,
                links: all.links_of(room),
            })
        })
    }

    /// What the media plane was last told about `id`'s microphone (absent: allowed),
    /// to tell a new media connection of the same participant again.
    pub(crate) fn audio_gate(&self, room: &RoomId, id: &ParticipantId) -> bool {
        self.with_rooms(|all| {
            all.map
                .get(room)
                .and_then(|r| r.gates.get(id).copied())
                .unwrap_or(true)
        })
    }
}

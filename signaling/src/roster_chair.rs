//! The roster's side of chairing: applying a command to the conference's [`Floor`],
//! telling everyone the new state, and working out which microphones the media plane
//! must open or close. Pure bookkeeping under the roster's lock; the driver does the I/O.
//!
//! Rooms linked into a conference are chaired as one: the floor of the top open room of
//! the link tree (its *governor*) governs every room below it. The province chair's
//! floor decides who speaks in the district and commune rooms it pulled in, hands raised
//! there reach it, and any chair in the tree may moderate. Unlinked, a room is governed
//! by its own floor again.

use crate::chair::{ChairCommand, ChairError, FloorState, moderated};
use crate::messages::{ByeReason, ParticipantInfo, ServerMsg};
use crate::rollcall::{Qualities, counts, roll_call};
use crate::roster::{Gates, Room, Rooms, Roster};
use bridge_sfu::{ParticipantId, RoomId};
use bridge_token::Role;
use std::collections::BTreeMap;

impl Room {
    pub(crate) fn roles(&self) -> Vec<(ParticipantId, Role)> {
        self.members
            .iter()
            .map(|m| (m.info.id.clone(), m.info.role))
            .collect()
    }

    /// The roll call, to the chairs only (members do not need 221 lines on every change).
    /// `infos` and `seen` cover the whole link tree: a site present through its own
    /// linked room counts as present.
    pub(crate) fn send_roll_call(
        &self,
        infos: &[ParticipantInfo],
        seen: &BTreeMap<String, String>,
        qualities: &Qualities,
    ) {
        let chairs: Vec<_> = self
            .members
            .iter()
            .filter(|m| m.info.role == Role::Chair)
            .collect();
        if chairs.is_empty() {
            return;
        }
        let sites = roll_call(&self.expected, infos, seen, qualities);
        let msg = ServerMsg::RollCall {
            counts: counts(&sites),
            sites,
        };
        for m in chairs {
            let _ = m.outbox.send(msg.clone());
        }
    }
}

impl Rooms {
    /// The room whose floor governs `room`: the topmost open room on its way up the link
    /// tree (`room` itself when it is not linked, or nothing above it is open). Works
    /// for a room that is not open yet (a join about to open it).
    pub(crate) fn governor(&self, room: &RoomId) -> RoomId {
        let mut at = room;
        let mut top = room;
        for _ in 0..crate::roster_links::MAX_WALK {
            let Some(parent) = self.links.get(at) else {
                break;
            };
            if self.map.contains_key(parent) {
                top = parent;
            }
            at = parent;
        }
        top.clone()
    }

    /// The open rooms `gov` governs, itself first.
    fn governed(&self, gov: &RoomId) -> Vec<RoomId> {
        let mut rooms: Vec<RoomId> = self
            .tree(gov)
            .into_iter()
            .filter(|r| r != gov && &self.governor(r) == gov)
            .collect();
        rooms.sort_by(|a, b| a.0.cmp(&b.0));
        rooms.insert(0, gov.clone());
        rooms
    }

    /// Everyone the conference's floor governs, with their roles.
    fn conference_roles(&self, gov: &RoomId) -> Vec<(ParticipantId, Role)> {
        self.governed(gov)
            .iter()
            .filter_map(|r| self.map.get(r))
            .flat_map(Room::roles)
            .collect()
    }

    /// The chairing state `room`'s members see.
    pub(crate) fn floor_state(&self, room: &RoomId) -> FloorState {
        let gov = self.governor(room);
        self.map
            .get(&gov)
            .map(|g| g.floor.state(&self.conference_roles(&gov)))
            .unwrap_or_default()
    }

    pub(crate) fn locked(&self, room: &RoomId) -> bool {
        self.map
            .get(&self.governor(room))
            .is_some_and(|g| g.floor.locked())
    }

    /// Sends the conference's floor to every room it governs, except to `skip` (a
    /// newcomer who gets it in its `joined`).
    pub(crate) fn broadcast_floor(&self, room: &RoomId, skip: Option<&ParticipantId>) {
        let gov = self.governor(room);
        let msg = ServerMsg::Floor(self.floor_state(&gov));
        for r in self.governed(&gov).iter().filter_map(|r| self.map.get(r)) {
            r.broadcast(&msg, skip);
        }
    }

    /// Microphones in `room`'s conference whose forwarding must change now; remembers
    /// what it returned.
    pub(crate) fn gate_changes(&mut self, room: &RoomId) -> Gates {
        let gov = self.governor(room);
        let roles = self.conference_roles(&gov);
        let Some(floor) = self.map.get(&gov).map(|g| &g.floor) else {
            return Vec::new();
        };
        let wants: Vec<(RoomId, ParticipantId, bool)> = self
            .governed(&gov)
            .iter()
            .filter_map(|r| Some((r, self.map.get(r)?)))
            .flat_map(|(id, r)| {
                r.members.iter().map(|m| {
                    let want = floor.audio_allowed(&m.info.id, m.info.role, &roles);
                    (id.clone(), m.info.id.clone(), want)
                })
            })
            .collect();
        let mut out = Vec::new();
        for (room, id, want) in wants {
            let Some(r) = self.map.get_mut(&room) else {
                continue;
            };
            let was = r.gates.insert(id.clone(), want).unwrap_or(true);
            if was != want {
                out.push((id, want));
            }
        }
        out
    }

    /// `id` left `room` (already removed from it): its hand and floor go with it, and a
    /// conference without chairs can no longer stay locked.
    pub(crate) fn floor_left(&mut self, room: &RoomId, id: &ParticipantId) {
        let gov = self.governor(room);
        let chaired = moderated(&self.conference_roles(&gov));
        for r in [room, &gov] {
            if let Some(r) = self.map.get_mut(r) {
                r.floor.left(id);
                if !chaired {
                    r.floor.chairs_gone();
                }
            }
        }
    }
}

impl Roster {
    /// Applies `actor`'s chairing command to its conference: everyone hears the new
    /// state; returns the microphones to open or close. A refused command changes nothing.
    pub fn chair(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        cmd: ChairCommand,
        now_ms: u64,
    ) -> Result<Gates, ChairError> {
        self.with_rooms(|all| {
            let gov = all.governor(room);
            let roles = all.conference_roles(&gov);
            let g = all
                .map
                .get_mut(&gov)
                .ok_or_else(|| ChairError::Unknown(actor.clone()))?;
            let outcome = g.floor.apply(actor, cmd, &roles, now_ms)?;
            if let Some(gone) = outcome.remove {
                let member = all
                    .governed(&gov)
                    .iter()
                    .filter_map(|r| all.map.get(r))
                    .find_map(|r| r.members.iter().find(|m| m.info.id == gone));
                if let Some(m) = member {
                    // Its session closes itself and leaves the room (see the driver).
                    let _ = m.outbox.send(ServerMsg::Bye {
                        reason: ByeReason::Removed,
                    });
                }
            }
            let gates = all.gate_changes(&gov);
            all.broadcast_floor(&gov, None);
            Ok(gates)
        })
    }
}

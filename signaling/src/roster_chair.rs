//! The roster's side of chairing: applying a command to the room's [`Floor`], telling
//! everyone the new state, and working out which microphones the media plane must open
//! or close. Pure bookkeeping under the roster's lock; the driver does the I/O.

use crate::chair::{ChairCommand, ChairError, FloorState};
use crate::messages::{ByeReason, ParticipantInfo, ServerMsg};
use crate::rollcall::{Qualities, counts, roll_call};
use crate::roster::{Gates, Room, Roster};
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

    /// Microphones whose forwarding must change now; remembers what it returned.
    pub(crate) fn gate_changes(&mut self) -> Gates {
        let roles = self.roles();
        let mut out = Vec::new();
        for (id, role) in &roles {
            let want = self.floor.audio_allowed(id, *role, &roles);
            let was = self.gates.insert(id.clone(), want).unwrap_or(true);
            if was != want {
                out.push((id.clone(), want));
            }
        }
        out
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

    pub(crate) fn floor_state(&self) -> FloorState {
        self.floor.state(&self.roles())
    }

    pub(crate) fn broadcast_floor(&self) {
        self.broadcast(&ServerMsg::Floor(self.floor_state()), None);
    }

    /// To everyone but the newest member, who gets the state in its `joined`.
    pub(crate) fn broadcast_floor_except_last(&self) {
        let msg = ServerMsg::Floor(self.floor_state());
        let n = self.members.len().saturating_sub(1);
        for m in &self.members[..n] {
            let _ = m.outbox.send(msg.clone());
        }
    }
}

impl Roster {
    /// Applies `actor`'s chairing command: everyone hears the new state; returns the
    /// microphones to open or close. A refused command changes nothing.
    pub fn chair(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        cmd: ChairCommand,
        now_ms: u64,
    ) -> Result<Gates, ChairError> {
        self.with_rooms(|all| {
            let r = all
                .map
                .get_mut(room)
                .ok_or_else(|| ChairError::Unknown(actor.clone()))?;
            let roles = r.roles();
            let outcome = r.floor.apply(actor, cmd, &roles, now_ms)?;
            if let Some(gone) = outcome.remove
                && let Some(m) = r.members.iter().find(|m| m.info.id == gone)
            {
                // Its session closes itself and leaves the room (see the driver).
                let _ = m.outbox.send(ServerMsg::Bye {
                    reason: ByeReason::Removed,
                });
            }
            let gates = r.gate_changes();
            r.broadcast_floor();
            Ok(gates)
        })
    }
}

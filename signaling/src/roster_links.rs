//! The roster's side of linked rooms: a conference pulls other rooms in, and everyone
//! in the link tree sees everyone else (the media plane forwards between them, see
//! the SFU's links.rs). Who may link what is checked here first (`may_link`), then
//! by the room directory (which rooms a conference may hold), then by the media plane
//! (cycles, depth); every walk up the tree is bounded anyway.

use crate::chair::ChairError;
use crate::messages::{ErrorCode, LeaveReason, LinkedRoom, ParticipantInfo, RoomLinks, ServerMsg};
use crate::quality::SiteQuality;
use crate::rollcall::Qualities;
use crate::roster::{Gates, Rooms, Roster};
use bridge_sfu::{ParticipantId, RoomId};
use bridge_token::Role;
use std::collections::BTreeMap;

/// Deeper chains than the media plane allows never form; this only bounds the walks.
pub(crate) const MAX_WALK: usize = 16;

impl Rooms {
    fn parent(&self, room: &RoomId) -> Option<&RoomId> {
        self.links.get(room)
    }

    pub(crate) fn root<'a>(&'a self, room: &'a RoomId) -> &'a RoomId {
        let mut at = room;
        for _ in 0..MAX_WALK {
            match self.parent(at) {
                Some(p) => at = p,
                None => break,
            }
        }
        at
    }

    /// Whether `room` is `top` or linked (directly or not) below it.
    fn is_under(&self, room: &RoomId, top: &RoomId) -> bool {
        let mut at = room;
        for _ in 0..MAX_WALK {
            if at == top {
                return true;
            }
            match self.parent(at) {
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    }

    /// The open rooms of `room`'s link tree, `room` included if open.
    pub(crate) fn tree(&self, room: &RoomId) -> Vec<RoomId> {
        let root = self.root(room);
        self.map
            .keys()
            .filter(|r| self.root(r) == root)
            .cloned()
            .collect()
    }

    /// Everyone in the other open rooms of `room`'s link tree.
    pub(crate) fn group_infos(&self, room: &RoomId) -> Vec<ParticipantInfo> {
        self.tree(room)
            .iter()
            .filter(|r| *r != room)
            .filter_map(|r| self.map.get(r))
            .flat_map(|r| r.members.iter().map(|m| m.info.clone()))
            .collect()
    }

    /// Sends `msgs` (already broadcast in `from`) to the rest of its link tree.
    pub(crate) fn relay(&self, from: &RoomId, msgs: &[ServerMsg]) {
        if msgs.is_empty() {
            return;
        }
        for r in self.tree(from).iter().filter(|r| *r != from) {
            if let Some(room) = self.map.get(r) {
                for m in msgs {
                    room.broadcast(m, None);
                }
            }
        }
    }

    /// Every chair in the link tree gets its roll call, counting the whole tree.
    pub(crate) fn send_roll_calls(&self, room: &RoomId) {
        let tree = self.tree(room);
        let rooms: Vec<_> = tree.iter().filter_map(|r| self.map.get(r)).collect();
        let infos: Vec<ParticipantInfo> = rooms
            .iter()
            .flat_map(|r| r.members.iter().map(|m| m.info.clone()))
            .collect();
        let mut seen = BTreeMap::new();
        for r in &rooms {
            seen.extend(r.seen.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let qualities: Qualities = rooms
            .iter()
            .flat_map(|r| r.members.iter())
            .filter_map(|m| Some((m.info.id.clone(), m.quality.clone()?)))
            .collect();
        for r in rooms {
            r.send_roll_call(&infos, &seen, &qualities);
        }
    }

    /// Rooms linked directly into `room`, by id.
    pub(crate) fn children(&self, room: &RoomId) -> Vec<RoomId> {
        let mut v: Vec<RoomId> = self
            .links
            .iter()
            .filter(|(_, p)| *p == room)
            .map(|(c, _)| c.clone())
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn named(&self, room: &RoomId) -> LinkedRoom {
        let title = self
            .map
            .get(room)
            .and_then(|r| r.title.clone())
            .or_else(|| self.titles.get(room).cloned());
        LinkedRoom {
            room: room.clone(),
            title,
        }
    }

    pub(crate) fn links_of(&self, room: &RoomId) -> RoomLinks {
        RoomLinks {
            into: self.parent(room).map(|p| self.named(p)),
            linked: self.children(room).iter().map(|c| self.named(c)).collect(),
        }
    }

    fn members_of(&self, rooms: &[RoomId]) -> Vec<(RoomId, ParticipantInfo)> {
        rooms
            .iter()
            .filter_map(|r| Some((r, self.map.get(r)?)))
            .flat_map(|(id, r)| r.members.iter().map(|m| (id.clone(), m.info.clone())))
            .collect()
    }

    /// Tells each side of a link that changed about the other side's participants.
    fn introduce(&self, a: &[RoomId], b: &[RoomId], joined: bool) {
        for (side, other) in [(a, b), (b, a)] {
            let msgs: Vec<ServerMsg> = self
                .members_of(other)
                .into_iter()
                .map(|(_, info)| {
                    if joined {
                        ServerMsg::ParticipantJoined { participant: info }
                    } else {
                        ServerMsg::ParticipantLeft {
                            participant_id: info.id,
                            reason: LeaveReason::Unlinked,
                        }
                    }
                })
                .collect();
            for r in side.iter().filter_map(|r| self.map.get(r)) {
                for m in &msgs {
                    r.broadcast(m, None);
                }
            }
        }
    }

    /// Detaches `child` (and everything below it) from its parent, telling both sides;
    /// returns the microphones whose forwarding changes (each side is chaired on its own
    /// again, see roster_chair.rs).
    fn detach(&mut self, child: &RoomId) -> Option<Gates> {
        self.parent(child)?;
        let old_gov = self.governor(child);
        let below: Vec<RoomId> = self
            .map
            .keys()
            .filter(|r| self.is_under(r, child))
            .cloned()
            .collect();
        let rest: Vec<RoomId> = self
            .tree(child)
            .into_iter()
            .filter(|r| !below.contains(r))
            .collect();
        self.introduce(&below, &rest, false);
        self.links.remove(child);
        if &old_gov != child {
            // Those who left the conference take their hands and floor with them.
            let gone: Vec<ParticipantId> = self
                .members_of(&below)
                .into_iter()
                .map(|(_, info)| info.id)
                .collect();
            if let Some(g) = self.map.get_mut(&old_gov) {
                for id in &gone {
                    g.floor.left(id);
                }
            }
        }
        self.announce(&below, &rest);
        Some(self.refloor(&[child, &old_gov]))
    }

    /// The floor each of these rooms' conferences now has, to everyone in them, and the
    /// microphones that changed.
    fn refloor(&mut self, rooms: &[&RoomId]) -> Gates {
        let mut govs: Vec<RoomId> = rooms.iter().map(|r| self.governor(r)).collect();
        govs.dedup();
        let mut gates = Vec::new();
        for gov in &govs {
            self.broadcast_floor(gov, None);
            gates.extend(self.gate_changes(gov));
        }
        gates
    }

    /// Links, roll calls and participants to every open room of both trees.
    fn announce(&self, a: &[RoomId], b: &[RoomId]) {
        for r in a.iter().chain(b) {
            if let Some(room) = self.map.get(r) {
                room.broadcast(&ServerMsg::Links(self.links_of(r)), None);
            }
        }
        for r in a.first().into_iter().chain(b.first()) {
            self.send_roll_calls(r);
        }
    }
}

/// Why a chair may not link or unlink a room (docs/protocol.md, "Linked rooms").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Never names the id: it is whatever a peer sent, possibly megabytes of it.
    #[error("a room id is 1 to 64 letters, digits, '-' or '_'")]
    InvalidRoom,
    #[error(transparent)]
    Chair(#[from] ChairError),
    #[error("this room is not linked into a conference")]
    NotLinked,
    #[error("a meeting's room is never linked into another room")]
    MeetingRoom,
    #[error(
        "that room leads a conference of its own; its chair must release the rooms linked into it first"
    )]
    LeadsConference,
    /// The directory's answer: the room is not one this conference may hold.
    #[error("{0}")]
    OutOfReach(String),
}

impl LinkError {
    pub fn code(&self) -> ErrorCode {
        match self {
            LinkError::InvalidRoom => ErrorCode::InvalidRoom,
            LinkError::Chair(_) | LinkError::NotLinked => ErrorCode::Forbidden,
            LinkError::MeetingRoom | LinkError::LeadsConference | LinkError::OutOfReach(_) => {
                ErrorCode::NotLinkable
            }
        }
    }
}

/// A meeting's room leads its meeting's conference; linking it under another room
/// would hand the meeting to that room's chairs.
fn is_meeting_room(room: &RoomId) -> bool {
    room.0.starts_with("m-")
}

impl Rooms {
    fn is_chair(&self, room: &RoomId, actor: &ParticipantId) -> bool {
        self.map
            .get(room)
            .and_then(|r| r.members.iter().find(|m| &m.info.id == actor))
            .is_some_and(|m| m.info.role == Role::Chair)
    }

    /// The rules of `link_room` that need no directory; see [`Roster::may_link`].
    fn check_link(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        child: &RoomId,
    ) -> Result<(), LinkError> {
        if !bridge_token::is_valid_room(&child.0) {
            return Err(LinkError::InvalidRoom);
        }
        if !self.is_chair(room, actor) {
            return Err(ChairError::NotChair.into());
        }
        if child == room {
            return Err(ChairError::LinkSelf.into());
        }
        if is_meeting_room(child) {
            return Err(LinkError::MeetingRoom);
        }
        match self.parent(child) {
            Some(parent) if parent == room => return Ok(()),
            Some(_) => return Err(ChairError::LinkedElsewhere.into()),
            None => {}
        }
        // The top of our own tree would make a cycle: the media plane refuses that
        // with its own code (`link_refused`).
        if !self.children(child).is_empty() && self.root(room) != child {
            return Err(LinkError::LeadsConference);
        }
        Ok(())
    }

    /// The rules of `unlink_room`; see [`Roster::may_unlink`].
    fn check_unlink(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        child: &RoomId,
    ) -> Result<(), LinkError> {
        if !bridge_token::is_valid_room(&child.0) {
            return Err(LinkError::InvalidRoom);
        }
        if !self.is_chair(room, actor) {
            return Err(ChairError::NotChair.into());
        }
        match (child == room, self.parent(child)) {
            (true, Some(_)) => Ok(()),
            (true, None) => Err(LinkError::NotLinked),
            (false, Some(parent)) if parent == room => Ok(()),
            (false, _) => Err(ChairError::NotLinkedHere.into()),
        }
    }
}

impl Roster {
    /// Whether `actor` may link `child` into `room`, as far as signaling knows: `child`
    /// a well-formed room id; `actor` a chair of `room`; `child` another room, not a
    /// meeting's (those lead their meeting's conference), in no other conference (a
    /// chair never takes a room from another's conference) and leading none of its
    /// own. Checked before the directory (which rooms the conference may hold) and
    /// the media plane (cycles, depth) are asked.
    pub fn may_link(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        child: &RoomId,
    ) -> Result<(), LinkError> {
        self.with_rooms(|all| all.check_link(room, actor, child))
    }

    /// Whether `actor` may unlink `child`: a chair of the room it is linked into, or a
    /// chair of `child` itself releasing its own room from the conference it is in.
    pub fn may_unlink(
        &self,
        room: &RoomId,
        actor: &ParticipantId,
        child: &RoomId,
    ) -> Result<(), LinkError> {
        self.with_rooms(|all| all.check_unlink(room, actor, child))
    }

    /// Records that the media plane linked `child` into `parent` (`title`: what to
    /// call `child` while nobody is in it). Moving a linked room detaches it first.
    /// Returns the microphones whose forwarding changes: the parent's conference now
    /// chairs the rooms brought in.
    pub fn linked(&self, child: RoomId, parent: RoomId, title: Option<String>) -> Gates {
        self.with_rooms(|all| {
            if all.links.get(&child) == Some(&parent) {
                return Vec::new();
            }
            let mut gates = all.detach(&child).unwrap_or_default();
            if let Some(t) = title {
                all.titles.insert(child.clone(), t);
            }
            let below = all.tree(&child);
            let other = all.tree(&parent);
            all.links.insert(child, parent.clone());
            all.introduce(&below, &other, true);
            all.announce(&below, &other);
            gates.extend(all.refloor(&[&parent]));
            gates
        })
    }

    /// Records that `child` is no longer linked; returns the microphones whose
    /// forwarding changes (`None`: it was not linked).
    pub fn unlinked(&self, child: &RoomId) -> Option<Gates> {
        self.with_rooms(|all| {
            let gates = all.detach(child);
            all.titles.remove(child);
            gates
        })
    }

    /// Records a participant's network: it and the chairs of its tree are told; the
    /// roll calls are sent again when the site's network turns poor or recovers.
    pub fn set_quality(&self, room: &RoomId, id: &ParticipantId, quality: SiteQuality) {
        self.with_rooms(|all| {
            let Some(m) = all
                .map
                .get_mut(room)
                .and_then(|r| r.members.iter_mut().find(|m| &m.info.id == id))
            else {
                return;
            };
            let flipped = m.quality.as_ref().map(|q| q.poor) != Some(quality.poor);
            m.quality = Some(quality.clone());
            let msg = ServerMsg::Quality {
                participant_id: id.clone(),
                unit: m.info.unit.clone(),
                quality,
            };
            let _ = m.outbox.send(msg.clone());
            for r in all.tree(room).iter().filter_map(|r| all.map.get(r)) {
                for c in r.members.iter() {
                    if c.info.role == Role::Chair && &c.info.id != id {
                        let _ = c.outbox.send(msg.clone());
                    }
                }
            }
            if flipped {
                all.send_roll_calls(room);
            }
        })
    }

    /// The conference `room` is linked into.
    pub fn parent_of(&self, room: &RoomId) -> Option<RoomId> {
        self.with_rooms(|all| all.links.get(room).cloned())
    }

    /// The rooms linked into `room`, directly.
    pub fn linked_into(&self, room: &RoomId) -> Vec<RoomId> {
        self.with_rooms(|all| all.children(room))
    }
}

#[cfg(test)]
#[path = "roster_links_tests.rs"]
mod tests;

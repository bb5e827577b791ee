//! Linked rooms: a conference pulls other rooms into its media. Rooms form a forest
//! (each room has at most one parent); every room of one tree shares one media group,
//! named by the tree's root: each participant receives every live track of its group,
//! and the loudest microphones are ranked per group. Nothing is re-encoded; a link only
//! widens who subscribes to what. Unlinking splits the group again and every
//! participant is back with its own room only.
//!
//! Links outlive the rooms' members (a meeting links its units' rooms before anyone
//! joins), so they are kept by room id, not by participant.

use crate::api::*;
use crate::state::State;
use std::collections::HashSet;
use std::time::Instant;

/// Deepest chain of links (province → district → commune is 3).
pub const MAX_LINK_DEPTH: usize = 8;

impl State {
    /// The root of the room's link tree: the name of its media group.
    pub fn group_of<'a>(&'a self, room: &'a RoomId) -> &'a RoomId {
        let mut at = room;
        // Bounded: `link` refuses cycles and chains deeper than MAX_LINK_DEPTH.
        for _ in 0..MAX_LINK_DEPTH {
            match self.links.get(at) {
                Some(parent) => at = parent,
                None => break,
            }
        }
        at
    }

    /// Everyone whose room belongs to `group`, room by room.
    pub fn group_members(&self, group: &RoomId) -> Vec<ParticipantId> {
        self.rooms
            .iter()
            .filter(|(room, _)| self.group_of(room) == group)
            .flat_map(|(_, members)| members.iter().cloned())
            .collect()
    }

    fn depth_below(&self, room: &RoomId) -> usize {
        let children: Vec<&RoomId> = self
            .links
            .iter()
            .filter(|(_, parent)| *parent == room)
            .map(|(child, _)| child)
            .collect();
        children
            .into_iter()
            .map(|c| 1 + self.depth_below(c))
            .max()
            .unwrap_or(0)
    }

    fn depth_above(&self, room: &RoomId) -> usize {
        let mut n = 0;
        let mut at = room;
        while let Some(parent) = self.links.get(at) {
            n += 1;
            at = parent;
            if n > MAX_LINK_DEPTH {
                break;
            }
        }
        n
    }

    /// Links `child` into `parent`'s conference (moving it if it was linked elsewhere).
    pub fn link(&mut self, child: RoomId, parent: RoomId, now: Instant) -> Result<(), SfuError> {
        // A cycle would make a room its own ancestor: walk up from the parent.
        let mut at = &parent;
        loop {
            if *at == child {
                return Err(SfuError::LinkCycle { child, parent });
            }
            match self.links.get(at) {
                Some(p) => at = p,
                None => break,
            }
        }
        if self.depth_above(&parent) + 1 + self.depth_below(&child) > MAX_LINK_DEPTH {
            return Err(SfuError::LinkTooDeep {
                max: MAX_LINK_DEPTH,
            });
        }
        if self.links.get(&child) == Some(&parent) {
            return Ok(());
        }
        let before = self.group_of(&child).clone();
        self.links.insert(child, parent.clone());
        let after = self.group_of(&parent).clone();
        self.regroup([before, after], now);
        Ok(())
    }

    /// Takes `child` (and the rooms linked below it) out of its conference. Returns
    /// whether there was a link.
    pub fn unlink(&mut self, child: &RoomId, now: Instant) -> bool {
        let before = self.group_of(child).clone();
        if self.links.remove(child).is_none() {
            return false;
        }
        self.regroup([before, child.clone()], now);
        true
    }

    /// Every (child, parent) link, sorted, for statistics.
    pub fn links(&self) -> Vec<(RoomId, RoomId)> {
        let mut v: Vec<(RoomId, RoomId)> = self
            .links
            .iter()
            .map(|(c, p)| (c.clone(), p.clone()))
            .collect();
        v.sort();
        v
    }

    /// Groups changed shape: their speaker rankings start afresh (a ranking of the
    /// old group would name people the new one cannot hear) and every member is
    /// offered exactly the tracks of its new group.
    fn regroup(&mut self, groups: [RoomId; 2], now: Instant) {
        let mut members = HashSet::new();
        for g in &groups {
            self.speakers.remove(g);
            self.open_mics.remove(g);
            members.extend(self.group_members(self.group_of(g)));
        }
        let mut members: Vec<ParticipantId> = members.into_iter().collect();
        members.sort();
        for m in members {
            self.renegotiate(&m, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn state() -> State {
        let udp = SocketAddr::from(([127, 0, 0, 1], 40000));
        State::new(SfuConfig::default(), udp, None).unwrap()
    }

    fn r(s: &str) -> RoomId {
        RoomId::from(s)
    }

    #[test]
    fn a_tree_of_rooms_is_one_group_until_unlinked() {
        let mut s = state();
        let now = Instant::now();
        s.link(r("u-25"), r("m-1"), now).unwrap();
        s.link(r("u-07888"), r("u-25"), now).unwrap();
        assert_eq!(s.group_of(&r("u-07888")), &r("m-1"));
        assert_eq!(s.group_of(&r("m-1")), &r("m-1"));
        assert_eq!(s.group_of(&r("u-99")), &r("u-99"));
        // Unlinking the district takes its commune along.
        assert!(s.unlink(&r("u-25"), now));
        assert_eq!(s.group_of(&r("u-07888")), &r("u-25"));
        assert!(!s.unlink(&r("u-25"), now));
        assert_eq!(s.links(), vec![(r("u-07888"), r("u-25"))]);
    }

    #[test]
    fn cycles_self_links_and_deep_chains_are_refused_and_change_nothing() {
        let mut s = state();
        let now = Instant::now();
        s.link(r("b"), r("a"), now).unwrap();
        s.link(r("c"), r("b"), now).unwrap();
        assert!(matches!(
            s.link(r("a"), r("c"), now),
            Err(SfuError::LinkCycle { .. })
        ));
        assert!(matches!(
            s.link(r("a"), r("a"), now),
            Err(SfuError::LinkCycle { .. })
        ));
        assert_eq!(s.links().len(), 2);
        let mut s = state();
        for i in 0..MAX_LINK_DEPTH {
            s.link(r(&format!("{}", i + 1)), r(&format!("{i}")), now)
                .unwrap();
        }
        let deeper = s.link(r("x"), r(&MAX_LINK_DEPTH.to_string()), now);
        assert!(matches!(deeper, Err(SfuError::LinkTooDeep { .. })));
        // Hanging a chain under another counts both depths.
        let mut s2 = state();
        for i in 0..MAX_LINK_DEPTH - 1 {
            s2.link(r(&format!("c{}", i + 1)), r(&format!("c{i}")), now)
                .unwrap();
        }
        s2.link(r("p1"), r("p0"), now).unwrap();
        assert!(matches!(
            s2.link(r("c0"), r("p1"), now),
            Err(SfuError::LinkTooDeep { .. })
        ));
    }

    #[test]
    fn a_linked_room_can_move_to_another_conference() {
        let mut s = state();
        let now = Instant::now();
        s.link(r("u-25"), r("m-1"), now).unwrap();
        s.link(r("u-25"), r("m-2"), now).unwrap();
        assert_eq!(s.group_of(&r("u-25")), &r("m-2"));
        assert_eq!(s.links(), vec![(r("u-25"), r("m-2"))]);
    }
}

//! Who is in which room, and fan-out of roster changes to the members' sessions.
//! Rooms linked into one conference (roster_links.rs) see each other's participants:
//! every participant event is relayed to the whole link tree.
//!
//! Held behind one short-lived mutex: every method does a map update and queues
//! messages on unbounded channels; nothing awaits while holding the lock.

use crate::chair::{Floor, FloorState};
use crate::directory::RoomInfo;
use crate::messages::{LeaveReason, ParticipantInfo, PublishedTrack, RoomLinks, ServerMsg};
use crate::quality::SiteQuality;
use crate::rollcall::Site;
use bridge_sfu::{ParticipantId, RoomId, TrackId, TrackSource};
use bridge_token::Role;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc::UnboundedSender;

/// Where a session receives messages other sessions cause.
pub type Outbox = UnboundedSender<ServerMsg>;

pub(crate) struct Member {
    pub(crate) info: ParticipantInfo,
    pub(crate) outbox: Outbox,
    /// The network it last reported (quality.rs).
    pub(crate) quality: Option<SiteQuality>,
}

#[derive(Default)]
pub(crate) struct Room {
    /// In join order, so every client lists participants the same way.
    pub(crate) members: Vec<Member>,
    pub(crate) floor: Floor,
    /// What the media plane was last told about each microphone (absent: allowed).
    pub(crate) gates: HashMap<ParticipantId, bool>,
    /// From the room directory when the room opened.
    pub(crate) title: Option<String>,
    pub(crate) expected: Vec<Site>,
    /// Units that have been here since the room opened (code -> name), for the roll call.
    pub(crate) seen: BTreeMap<String, String>,
}

/// Every open room, and the links between rooms (which outlive their members).
#[derive(Default)]
pub(crate) struct Rooms {
    pub(crate) map: HashMap<RoomId, Room>,
    /// child -> parent.
    pub(crate) links: HashMap<RoomId, RoomId>,
    /// Titles of linked rooms, learnt when linking (a linked room may be empty).
    pub(crate) titles: HashMap<RoomId, String>,
}

impl Room {
    fn member_mut(&mut self, id: &ParticipantId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| &m.info.id == id)
    }

    /// Sends to every member; `except` skips the subject of the message.
    pub(crate) fn broadcast(&self, msg: &ServerMsg, except: Option<&ParticipantId>) {
        for m in &self.members {
            if Some(&m.info.id) != except {
                // A closed outbox means that session is ending; it removes itself.
                let _ = m.outbox.send(msg.clone());
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("room is full ({max} participants)")]
    Full { max: usize },
    #[error("the chair has locked the room")]
    Locked,
}

/// Microphones the media plane must open (`true`) or close.
pub type Gates = Vec<(ParticipantId, bool)>;

/// What a joining participant learns, and what the media plane must change.
pub struct Admitted {
    pub others: Vec<ParticipantInfo>,
    pub floor: FloorState,
    pub gates: Gates,
    pub title: Option<String>,
    pub links: RoomLinks,
}

#[derive(Default)]
pub struct Roster {
    rooms: Mutex<Rooms>,
}

impl Roster {
    pub(crate) fn with_rooms<T>(&self, f: impl FnOnce(&mut Rooms) -> T) -> T {
        // A panic elsewhere while holding the lock leaves a consistent map (each
        // method does a single update), so a poisoned lock is still usable.
        let mut guard = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Whether `room` has anyone in it (else the next join opens it).
    pub fn is_open(&self, room: &RoomId) -> bool {
        self.with_rooms(|all| all.map.contains_key(room))
    }

    /// Adds `info` to `room` and tells the others; returns everyone else and the
    /// microphones whose forwarding changes (a chair arriving moderates the room).
    /// `opening` describes the room if this join opens it.
    pub fn admit(
        &self,
        room: &RoomId,
        info: ParticipantInfo,
        outbox: Outbox,
        max: usize,
        opening: Option<RoomInfo>,
    ) -> Result<Admitted, Refused> {
        self.with_rooms(|all| {
            let others_linked = all.group_infos(room);
            let locked = all.locked(room);
            let before = all.floor_state(room);
            let r = all.map.entry(room.clone()).or_insert_with(|| {
                let o = opening.unwrap_or_default();
                Room {
                    title: o.title,
                    expected: o.expected,
                    ..Room::default()
                }
            });
            if r.members.len() >= max {
                return Err(Refused::Full { max });
            }
            if locked && info.role != Role::Chair {
                return Err(Refused::Locked);
            }
            let mut others: Vec<ParticipantInfo> =
                r.members.iter().map(|m| m.info.clone()).collect();
            others.extend(others_linked);
            let joined = ServerMsg::ParticipantJoined {
                participant: info.clone(),
            };
            r.broadcast(&joined, None);
            if let Some(unit) = &info.unit {
                r.seen
                    .entry(unit.clone())
                    .or_insert_with(|| info.name.clone());
            }
            let id = info.id.clone();
            r.members.push(Member {
                info,
                outbox,
                quality: None,
            });
            let title = r.title.clone();
            let floor = all.floor_state(room);
            // A first chair moderates the conference: the others must know.
            if floor != before {
                all.broadcast_floor(room, Some(&id));
            }
            let gates = all.gate_changes(room);
            all.relay(room, &[joined]);
            all.send_roll_calls(room);
            Ok(Admitted {
                others,
                floor,
                gates,
                title,
                links: all.links_of(room),
            })
        })
    }

    /// Removes a participant: its tracks are unpublished, then it has left. Returns the
    /// microphones whose forwarding changes (the last chair leaving opens the room),
    /// and, when the room closed, the rooms that were linked into it (the conference
    /// ended: the caller unlinks them).
    pub fn remove(
        &self,
        room: &RoomId,
        id: &ParticipantId,
        reason: LeaveReason,
    ) -> (Gates, Vec<RoomId>) {
        self.with_rooms(|all| {
            let before = all.floor_state(room);
            let Some(r) = all.map.get_mut(room) else {
                return (Vec::new(), Vec::new());
            };
            let Some(pos) = r.members.iter().position(|m| &m.info.id == id) else {
                return (Vec::new(), Vec::new());
            };
            let gone = r.members.remove(pos);
            r.gates.remove(id);
            let mut msgs: Vec<ServerMsg> = gone
                .info
                .tracks
                .into_iter()
                .map(|t| unpublished(id, t))
                .collect();
            msgs.push(ServerMsg::ParticipantLeft {
                participant_id: id.clone(),
                reason,
            });
            for m in &msgs {
                r.broadcast(m, None);
            }
            if r.members.is_empty() {
                all.map.remove(room);
            }
            // The conference it was in goes on (its governor may be another room).
            all.floor_left(room, id);
            if all.floor_state(room) != before {
                all.broadcast_floor(room, None);
            }
            let gates = all.gate_changes(room);
            all.relay(room, &msgs);
            all.send_roll_calls(room);
            let ended = if all.map.contains_key(room) {
                Vec::new()
            } else {
                all.children(room)
            };
            (gates, ended)
        })
    }

    /// A track of `id` went live: everyone (the publisher too) hears of it.
    pub fn track_live(
        &self,
        room: &RoomId,
        id: &ParticipantId,
        track_id: TrackId,
        source: TrackSource,
    ) {
        self.with_rooms(|all| {
            let Some(r) = all.map.get_mut(room) else {
                return;
            };
            let Some(m) = r.member_mut(id) else { return };
            if m.info.tracks.iter().any(|t| t.track_id == track_id) {
                return;
            }
            m.info.tracks.push(PublishedTrack {
                track_id: track_id.clone(),
                source,
            });
            let msg = ServerMsg::TrackPublished {
                participant_id: id.clone(),
                track_id,
                source,
            };
            r.broadcast(&msg, None);
            all.relay(room, &[msg]);
            all.send_roll_calls(room);
        })
    }

    /// The publisher renegotiated with only `sources`: tracks of other sources ended.
    pub fn keep_sources(&self, room: &RoomId, id: &ParticipantId, sources: &[TrackSource]) {
        self.with_rooms(|all| {
            let Some(r) = all.map.get_mut(room) else {
                return;
            };
            let Some(m) = r.member_mut(id) else { return };
            let (kept, ended): (Vec<_>, Vec<_>) = std::mem::take(&mut m.info.tracks)
                .into_iter()
                .partition(|t| sources.contains(&t.source));
            m.info.tracks = kept;
            let msgs: Vec<ServerMsg> = ended.into_iter().map(|t| unpublished(id, t)).collect();
            for m in &msgs {
                r.broadcast(m, None);
            }
            all.relay(room, &msgs);
            all.send_roll_calls(room);
        })
    }

    /// A track of `id` ended (renegotiated away): everyone hears of it once.
    pub fn track_ended(&self, room: &RoomId, id: &ParticipantId, track_id: &TrackId) {
        self.with_rooms(|all| {
            let Some(r) = all.map.get_mut(room) else {
                return;
            };
            let Some(m) = r.member_mut(id) else { return };
            let Some(pos) = m.info.tracks.iter().position(|t| &t.track_id == track_id) else {
                return;
            };
            let msg = unpublished(id, m.info.tracks.remove(pos));
            r.broadcast(&msg, None);
            all.relay(room, &[msg]);
            all.send_roll_calls(room);
        })
    }

    /// Records a mute toggle and tells everyone (the sender too, as confirmation).
    pub fn set_muted(&self, room: &RoomId, id: &ParticipantId, source: TrackSource, muted: bool) {
        self.with_rooms(|all| {
            let Some(r) = all.map.get_mut(room) else {
                return;
            };
            let Some(m) = r.member_mut(id) else { return };
            match source {
                TrackSource::Microphone => m.info.muted.microphone = muted,
                TrackSource::Camera => m.info.muted.camera = muted,
                TrackSource::Screen => return,
            }
            let msg = ServerMsg::MuteChanged {
                participant_id: id.clone(),
                source,
                muted,
            };
            r.broadcast(&msg, None);
            all.relay(room, &[msg]);
            all.send_roll_calls(room);
        })
    }

    pub fn participants(&self, room: &RoomId) -> Vec<ParticipantInfo> {
        self.with_rooms(|all| {
            all.map
                .get(room)
                .map(|r| r.members.iter().map(|m| m.info.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// (rooms, participants) for health pages.
    pub fn counts(&self) -> (usize, usize) {
        self.with_rooms(|all| {
            (
                all.map.len(),
                all.map.values().map(|r| r.members.len()).sum(),
            )
        })
    }
}

fn unpublished(id: &ParticipantId, t: PublishedTrack) -> ServerMsg {
    ServerMsg::TrackUnpublished {
        participant_id: id.clone(),
        track_id: t.track_id,
        source: t.source,
    }
}

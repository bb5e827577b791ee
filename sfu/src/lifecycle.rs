//! Participant lifecycle on the media loop's state: joining and leaving rooms,
//! trickled candidates, statistics, shutdown, and containing a connection that
//! panicked inside the WebRTC stack.

use crate::api::*;
use crate::layers::View;
use crate::state::{ConnId, Participant, State, guarded};
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, error};

impl State {
    /// A connection panicked inside the WebRTC stack: a bug, but one peer's bug.
    /// Drop that connection (without touching it again) and everything it carried,
    /// tell its owner, and let the room go on.
    pub fn fail_conn(&mut self, id: ConnId, now: Instant) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        error!(owner = %conn.owner, pc = ?conn.kind, "connection panicked; dropped");
        for ufrag in &conn.ufrags {
            self.by_ufrag.remove(ufrag);
        }
        for flow in &conn.flows {
            if self.by_flow.get(flow) == Some(&id) {
                self.by_flow.remove(flow);
            }
        }
        self.touched.retain(|t| *t != id);
        let gone: Vec<TrackId> = self
            .published
            .iter()
            .filter(|(_, t)| t.conn == id)
            .map(|(k, _)| k.clone())
            .collect();
        let mut room = None;
        for t in gone {
            if let Some(t) = self.published.remove(&t) {
                room = Some(t.room);
            }
        }
        if let Some(p) = self.participants.get_mut(&conn.owner) {
            match conn.kind {
                PcKind::Publish => p.publish = None,
                PcKind::Subscribe => {
                    p.subscribe = None;
                    p.slots.clear();
                    p.offer_outstanding = false;
                    p.next_offer_at = None;
                    p.changed_at = None;
                }
            }
            p.send(SfuEvent::ConnectionState {
                pc: conn.kind,
                state: ConnState::Failed,
            });
        }
        for t in self.published.values_mut() {
            t.subscribers
                .retain(|(s, _)| s != &conn.owner || conn.kind != PcKind::Subscribe);
        }
        let (owner, kind) = (conn.owner.clone(), conn.kind);
        // Dropping a connection that panicked may panic again; contain that too.
        let _ = guarded(move || drop(conn));
        if let Some(room) = room {
            self.renegotiate_room(&room, None, now);
        } else if kind == PcKind::Subscribe {
            self.renegotiate(&owner, now);
        }
    }

    pub fn join(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
        events: UnboundedSender<SfuEvent>,
        default_view: View,
        now: Instant,
    ) -> Result<(), SfuError> {
        if self.participants.contains_key(&participant) {
            return Err(SfuError::AlreadyJoined(participant));
        }
        let members = self.rooms.entry(room.clone()).or_default();
        if members.len() >= self.config.max_participants_per_room {
            let max = self.config.max_participants_per_room;
            if members.is_empty() {
                self.rooms.remove(&room);
            }
            return Err(SfuError::RoomFull { room, max });
        }
        members.push(participant.clone());
        self.participants.insert(
            participant.clone(),
            Participant {
                room,
                events,
                publish: None,
                subscribe: None,
                specs: Vec::new(),
                slots: Vec::new(),
                views: HashMap::new(),
                default_view,
                offer_outstanding: false,
                renegotiate_pending: false,
                offered_at: None,
                restart_pending: false,
                changed_at: None,
                next_offer_at: None,
                audio_blocked: false,
            },
        );
        self.renegotiate(&participant, now);
        Ok(())
    }

    pub fn leave(&mut self, participant: &ParticipantId, now: Instant) {
        let Some(p) = self.participants.remove(participant) else {
            return;
        };
        if let Some(members) = self.rooms.get_mut(&p.room) {
            members.retain(|m| m != participant);
            if members.is_empty() {
                self.rooms.remove(&p.room);
            }
        }
        let group = self.group_of(&p.room).clone();
        if self.group_members(&group).is_empty() {
            self.speakers.remove(&group);
            self.open_mics.remove(&group);
        } else if let Some(ranking) = self
            .speakers
            .get_mut(&group)
            .and_then(|d| d.forget(participant))
        {
            self.announce_speakers(&group, ranking);
        }
        for t in self.published.values_mut() {
            t.subscribers.retain(|(s, _)| s != participant);
        }
        let own: Vec<TrackId> = self
            .published
            .iter()
            .filter(|(_, t)| &t.owner == participant)
            .map(|(id, _)| id.clone())
            .collect();
        let had_live = own
            .iter()
            .any(|id| self.published.get(id).is_some_and(|t| t.live));
        for id in own {
            self.published.remove(&id);
        }
        for id in [p.publish, p.subscribe].into_iter().flatten() {
            self.close_conn(id);
        }
        if had_live {
            self.renegotiate_room(&p.room, None, now);
        }
    }

    pub fn renegotiate_room(
        &mut self,
        room: &RoomId,
        except: Option<&ParticipantId>,
        now: Instant,
    ) {
        let group = self.group_of(room).clone();
        self.assign_group(&group, except, now);
    }

    pub fn remote_candidate(
        &mut self,
        participant: &ParticipantId,
        kind: PcKind,
        candidate: IceCandidate,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        let conn = match kind {
            PcKind::Publish => p.publish,
            PcKind::Subscribe => p.subscribe,
        };
        let value = candidate.candidate.trim();
        let Some((id, conn)) = conn.and_then(|id| Some((id, self.conns.get_mut(&id)?))) else {
            debug!(%participant, "candidate before the connection exists; ignored");
            return Ok(());
        };
        if value.is_empty() {
            return Ok(()); // end-of-candidates
        }
        // Browsers hide host addresses behind mDNS names we cannot resolve; the peer's
        // connectivity checks reveal its address anyway (peer-reflexive).
        if value
            .split_whitespace()
            .nth(4)
            .is_some_and(|a| a.ends_with(".local"))
        {
            debug!(%participant, "mDNS candidate ignored");
            return Ok(());
        }
        if !conn.touched {
            conn.touched = true;
            self.touched.push(id);
        }
        conn.pc
            .add_remote_candidate(rtc::peer_connection::transport::RTCIceCandidateInit {
                candidate: value.to_owned(),
                sdp_mid: candidate.sdp_mid,
                sdp_mline_index: candidate.sdp_m_line_index,
                ..Default::default()
            })
            .map_err(|e| SfuError::InvalidCandidate(e.to_string()))
    }

    pub fn stats(&self) -> SfuStats {
        SfuStats {
            rooms: self.rooms.len(),
            participants: self.participants.len(),
            connections: self.conns.len(),
            published_tracks: self.published.len(),
            subscribers: self.subscriber_stats(),
            links: self.links(),
            ..self.stats.clone()
        }
    }

    pub fn shutdown(&mut self) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.close_conn(id);
        }
        self.participants.clear();
        self.rooms.clear();
        self.links.clear();
        self.published.clear();
        self.open_mics.clear();
    }
}

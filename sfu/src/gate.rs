//! The chair's control of who is heard: a participant whose microphone the room's chair
//! has closed keeps publishing (its browser need not renegotiate), but its audio packets
//! stop here, before any subscriber. Enforced in the media plane, so a client that
//! ignores the chair is still not heard.

use crate::api::{ParticipantId, SfuError, TrackSource};
use crate::state::{Published, State};

impl State {
    /// Opens or closes a participant's microphone for the whole room.
    pub fn set_audio_allowed(
        &mut self,
        participant: &ParticipantId,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        if p.audio_blocked != allowed {
            return Ok(());
        }
        p.audio_blocked = !allowed;
        if allowed {
            return Ok(());
        }
        // Each subscriber's copy resumes later without a sequence gap.
        for t in self.published.values() {
            if &t.owner != participant || t.source != TrackSource::Microphone {
                continue;
            }
            for (sub, i) in &t.subscribers {
                if let Some(s) = self
                    .participants
                    .get_mut(sub)
                    .and_then(|p| p.slots.get_mut(*i))
                    .and_then(|s| s.rewriter.as_mut())
                {
                    s.pause();
                }
            }
        }
        Ok(())
    }

    /// Feeds a forwarded microphone packet's audio level (RFC 6464) to its room's
    /// speaker detector; tells the room when the ranking changes.
    pub(crate) fn observe_level(
        &mut self,
        track: &crate::api::TrackId,
        packet: &rtc::rtp::Packet,
        now: std::time::Instant,
    ) {
        let Some(t) = self.published.get(track) else {
            return;
        };
        let (Some(id), true) = (t.in_audio_level_id, t.source == TrackSource::Microphone) else {
            return;
        };
        let Some(level) = packet
            .header
            .extensions
            .iter()
            .find(|e| e.id == id)
            .and_then(|e| e.payload.first())
            .map(|b| b & 0x7F)
        else {
            return;
        };
        let (room, owner) = (self.group_of(&t.room).clone(), t.owner.clone());
        let ranking = self
            .speakers
            .entry(room.clone())
            .or_default()
            .observe(&owner, level, now);
        if let Some(ordered) = ranking {
            self.announce_speakers(&room, ordered);
            // The new loudest take the audio slots now, not at the next tick.
            self.assign_group(&room, None, now);
        }
    }

    /// Tells every member of the media group (links.rs) who speaks loudest.
    pub(crate) fn announce_speakers(
        &self,
        group: &crate::api::RoomId,
        ordered: Vec<ParticipantId>,
    ) {
        self.tap_speakers(group, &ordered);
        for member in self.group_members(group) {
            if let Some(p) = self.participants.get(&member) {
                p.send(crate::api::SfuEvent::Speakers {
                    ordered: ordered.clone(),
                });
            }
        }
    }

    /// True when this track's packets must not be forwarded.
    pub(crate) fn gated(&self, t: &Published) -> bool {
        t.source == TrackSource::Microphone
            && self
                .participants
                .get(&t.owner)
                .is_some_and(|p| p.audio_blocked)
    }
}

//! Which published track fills each slot (m-line) of a subscriber's connection.
//!
//! A subscriber is given, at most, the microphones to be heard now (speaker.rs: the
//! loudest three in a large room, every open one in a small room) and the videos its
//! client shows (`view`, else its `default_view`), best first. Sources keep the slot
//! they have; a wanted source without one takes a slot whose source is no longer
//! wanted; only when none is free does the subscriber need a new m-line (an offer,
//! negotiate.rs). So a site joining a conference of hundreds renegotiates nobody
//! else, and a hall's subscribe connection stays a handful of m-lines.
//!
//! A microphone changes slot at once (Opus has no keyframes); a video takes over its
//! slot at its first keyframe, the old picture going on until then.
//!
//! An audio-only subscriber with two or more microphones to hear is given none of
//! them: its first audio slot carries the server's mix of them instead (mix.rs,
//! mix_state.rs), decided here with the rest of its slots on every pass.

use crate::api::*;
use crate::layers::{LayerSwitch, View};
use crate::mix_state::MixMode;
use crate::state::State;
use std::time::Instant;

/// The chair's page of 25 sites, the main stage, screens shared and some spare.
pub const MAX_VIDEO_SLOTS: usize = 30;
/// Enough for every open microphone of a small meeting whose clients send no audio
/// level (those cannot be ranked, so all of them are heard).
pub const MAX_AUDIO_SLOTS: usize = 8;

/// The live tracks of one media group a subscriber may be given, best first.
pub struct GroupSources {
    /// Microphones to be heard now, loudest first.
    audio: Vec<(TrackId, ParticipantId)>,
    video: Vec<(TrackId, ParticipantId)>,
}

impl State {
    pub fn group_sources(&self, group: &RoomId) -> GroupSources {
        let ranking = self.speakers.get(group).map_or(&[][..], |d| d.ranking());
        let open = self.open_mics.get(group).copied().unwrap_or(0);
        let (mut audio, mut video) = (Vec::new(), Vec::new());
        for (id, t) in &self.published {
            if !t.live || self.group_of(&t.room) != group {
                continue;
            }
            let entry = (id.clone(), t.owner.clone());
            if !t.source.is_audio() {
                video.push(entry);
            } else if !self.gated(t)
                && crate::speaker::audible(&t.owner, ranking, open, t.in_audio_level_id.is_some())
            {
                audio.push(entry);
            }
        }
        let rank = |who: &ParticipantId| ranking.iter().position(|r| r == who);
        // Ranked ones first (None sorts before Some, hence the inversion).
        audio.sort_by(|a, b| {
            (rank(&a.1).is_none(), rank(&a.1))
                .cmp(&(rank(&b.1).is_none(), rank(&b.1)))
                .then_with(|| a.0.cmp(&b.0))
        });
        video.sort();
        GroupSources { audio, video }
    }

    /// Fits one participant's slots to what it should receive now. Returns the wanted
    /// sources that found no slot (they need new m-lines).
    pub fn assign(&mut self, participant: &ParticipantId, now: Instant) -> Vec<TrackId> {
        let Some(p) = self.participants.get(participant) else {
            return Vec::new();
        };
        let group = self.group_of(&p.room).clone();
        let sources = self.group_sources(&group);
        let missing = self.assign_from(participant, &sources, now);
        self.refresh_mix(&group, &sources.audio);
        missing
    }

    /// Every member of every group, each group's sources listed once (the periodic
    /// pass: speakers and open microphones change).
    pub fn assign_all(&mut self, now: Instant) {
        let mut groups: Vec<RoomId> = self
            .rooms
            .keys()
            .map(|r| self.group_of(r).clone())
            .collect();
        groups.sort();
        groups.dedup();
        for g in &groups {
            self.assign_group(g, None, now);
        }
        self.prune_mixes(&groups);
    }

    /// Every member of a group but `except`, the group's sources listed once; those
    /// short of slots renegotiate.
    pub fn assign_group(&mut self, group: &RoomId, except: Option<&ParticipantId>, now: Instant) {
        let sources = self.group_sources(group);
        for m in self.group_members(group) {
            if Some(&m) != except && !self.assign_from(&m, &sources, now).is_empty() {
                self.renegotiate(&m, now);
            }
        }
        self.refresh_mix(group, &sources.audio);
    }

    fn assign_from(
        &mut self,
        participant: &ParticipantId,
        sources: &GroupSources,
        now: Instant,
    ) -> Vec<TrackId> {
        let Some(p) = self.participants.get(participant) else {
            return Vec::new();
        };
        let hear: Vec<TrackId> = sources
            .audio
            .iter()
            .filter(|(_, owner)| owner != participant)
            .take(MAX_AUDIO_SLOTS)
            .map(|(t, _)| t.clone())
            .collect();
        let mut video: Vec<(View, &TrackId)> = sources
            .video
            .iter()
            .filter(|(_, owner)| owner != participant)
            .map(|(t, _)| (p.view_of(t), t))
            .filter(|(v, _)| *v != View::Off)
            .collect();
        // The main stage before thumbnails (the sort is stable: then by track).
        video.sort_by_key(|(v, _)| *v != View::High);
        let video: Vec<TrackId> = video
            .into_iter()
            .take(MAX_VIDEO_SLOTS)
            .map(|(_, t)| t.clone())
            .collect();
        // An audio-only hall hears one server-mixed stream on its first audio slot
        // instead (mix.rs); its audio slots then carry no source.
        let mode = self.mix_mode(participant, hear.len(), !video.is_empty(), now);
        let audio = match mode {
            MixMode::Separate => hear,
            MixMode::OneSlot => hear.into_iter().take(1).collect(),
            MixMode::Mixed(_) => Vec::new(),
        };
        let mix_slot = match mode {
            MixMode::Mixed(i) => Some(i),
            _ => None,
        };
        self.set_mix_slot(participant, mix_slot);
        let (mut missing, changed_audio) = self.place(participant, &audio, true, now);
        let (more, changed_video) = self.place(participant, &video, false, now);
        missing.extend(more);
        if changed_audio || changed_video {
            self.send_slots(participant);
        }
        missing
    }

    /// Gives the slots of one kind to `wanted`. Returns the sources left without a
    /// slot, and whether any slot's source changed now.
    fn place(
        &mut self,
        participant: &ParticipantId,
        wanted: &[TrackId],
        audio: bool,
        now: Instant,
    ) -> (Vec<TrackId>, bool) {
        let Some(p) = self.participants.get_mut(participant) else {
            return (Vec::new(), false);
        };
        let connected = p
            .subscribe
            .and_then(|c| self.conns.get(&c))
            .is_some_and(|c| c.connected);
        let (mut register, mut unregister, mut keyframes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut missing, mut changed) = (Vec::new(), false);
        for (i, slot) in p.slots.iter_mut().enumerate() {
            if slot.audio == audio
                && let Some((next, _)) = &slot.next
                && !wanted.contains(next)
            {
                unregister.push((next.clone(), i));
                slot.next = None;
            }
        }
        let held: Vec<&TrackId> = p
            .slots
            .iter()
            .filter(|s| s.audio == audio)
            .flat_map(|s| [s.source.as_ref(), s.next.as_ref().map(|(t, _)| t)])
            .flatten()
            .collect();
        let unplaced: Vec<TrackId> = wanted
            .iter()
            .filter(|w| !held.contains(w))
            .cloned()
            .collect();
        let mut free: Vec<usize> = (0..p.slots.len())
            .filter(|&i| {
                let s = &p.slots[i];
                s.audio == audio
                    && s.next.is_none()
                    && s.source.as_ref().is_none_or(|t| !wanted.contains(t))
            })
            .collect();
        for w in unplaced {
            let Some(t) = self.published.get(&w) else {
                continue;
            };
            let fits = free.iter().position(|&i| {
                p.slots[i]
                    .codec
                    .mime_type
                    .eq_ignore_ascii_case(&t.codec.mime_type)
            });
            let Some(i) = fits.map(|pos| free.remove(pos)) else {
                missing.push(w);
                continue;
            };
            let slot = &mut p.slots[i];
            register.push((w.clone(), i));
            match &mut slot.rewriter {
                // Not answered yet: nothing flows, the answer sets the layer up.
                None => {
                    unregister.extend(slot.source.replace(w).map(|old| (old, i)));
                    slot.switch = LayerSwitch::default();
                    changed = true;
                }
                Some(rw) if audio => {
                    rw.set_in_audio_level_id(t.in_audio_level_id);
                    unregister.extend(slot.source.replace(w).map(|old| (old, i)));
                    changed = true;
                }
                Some(_) => {
                    let view = p.views.get(&w).copied().unwrap_or(p.default_view);
                    let start = crate::simulcast::start_layer(t, view, now);
                    let mut switch = LayerSwitch::default();
                    switch.retarget(start);
                    if connected {
                        keyframes.extend(start.map(|l| (w.clone(), l)));
                    }
                    if slot.source.is_none() {
                        slot.source = Some(w);
                        slot.switch = switch;
                        changed = true;
                    } else {
                        slot.next = Some((w, switch));
                    }
                }
            }
        }
        for i in free {
            let slot = &mut p.slots[i];
            if let Some(old) = slot.source.take() {
                unregister.push((old, i));
                slot.switch = LayerSwitch::default();
                if let Some(rw) = &mut slot.rewriter {
                    rw.pause();
                }
                changed = true;
            }
        }
        for (track, i) in unregister {
            if let Some(t) = self.published.get_mut(&track) {
                t.subscribers
                    .retain(|(s, j)| !(s == participant && *j == i));
            }
        }
        for (track, i) in register {
            if let Some(t) = self.published.get_mut(&track) {
                t.subscribers.push((participant.clone(), i));
            }
        }
        for (track, layer) in keyframes {
            self.request_keyframe(&track, layer, now);
        }
        (missing, changed)
    }

    /// Which participant's track each offered m-line carries now.
    pub fn slot_map(&self, participant: &ParticipantId) -> Vec<RemoteTrack> {
        let Some(p) = self.participants.get(participant) else {
            return Vec::new();
        };
        p.slots
            .iter()
            .filter_map(|s| {
                let (mid, id) = (s.mid.clone()?, s.source.as_ref()?);
                let t = self.published.get(id)?;
                Some(RemoteTrack {
                    track_id: id.clone(),
                    participant_id: t.owner.clone(),
                    source: t.source,
                    mid,
                })
            })
            .collect()
    }

    /// Tells the client what its offered m-lines carry, once they carry something else.
    pub fn send_slots(&self, participant: &ParticipantId) {
        let Some(p) = self.participants.get(participant) else {
            return;
        };
        if p.slots.iter().any(|s| s.mid.is_some()) {
            p.send(SfuEvent::Slots {
                tracks: self.slot_map(participant),
            });
        }
    }
}

//! The media loop's side of layer selection: every [`SELECTION_INTERVAL`] each
//! subscriber's layers are chosen afresh from its views and its bandwidth estimate
//! (the pure rules are in `layers`), a keyframe of a newly chosen layer is requested,
//! and each simulcast publisher is told which encodings anybody still receives.

use crate::api::*;
use crate::layers::{self, MAX_LAYERS, View, Want};
use crate::pacer::LinkWord;
use crate::state::{Published, State};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const SELECTION_INTERVAL: Duration = Duration::from_millis(250);

/// The layer a video newly given to a subscriber starts at: the lowest its view
/// allows (the periodic selection, or the one that follows at once, then fits it to
/// the link): its keyframe is the smallest, so the first picture comes soonest, and a
/// hall on a thin link is not sent the full layer before its estimate says otherwise.
pub fn start_layer(t: &Published, view: View, now: Instant) -> Option<usize> {
    let w = want(t, view, None, now);
    let lowest = w.rates.iter().position(Option::is_some);
    layers::allocate(None, &[w])[0].and(lowest)
}

/// What the allocator needs to know of one video a subscriber receives (or is about
/// to): the rate of every layer that can be chosen now (`layers::selectable`).
pub fn want(t: &Published, view: View, current: Option<usize>, now: Instant) -> Want {
    let mut rates = [None; MAX_LAYERS];
    for (i, (r, l)) in rates.iter_mut().zip(&t.layers).enumerate() {
        let paused = t.layers_announced.is_some_and(|a| !a[i]);
        *r = l
            .as_ref()
            .filter(|l| layers::selectable(paused, l.resumed_at, l.rate.last(), now))
            .map(|l| l.rate.rate());
    }
    Want {
        view,
        rates,
        current,
    }
}

impl State {
    /// A subscriber says how it shows a video: any video of its media group, received
    /// or not (a conference site joins with `default_view` off and names what it shows).
    pub fn set_view(
        &mut self,
        participant: &ParticipantId,
        track: &TrackId,
        view: View,
        now: Instant,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        let known = self.published.get(track).is_some_and(|t| {
            !t.source.is_audio() && self.group_of(&t.room) == self.group_of(&p.room)
        });
        if !known {
            return Err(SfuError::UnknownTrack(track.clone()));
        }
        let unchanged = p.view_of(track) == view;
        // Kept even when it changes nothing: a `view off` said for every video is how
        // a page asks for audio only (mix.rs), whatever its `default_view`.
        if let Some(p) = self.participants.get_mut(participant) {
            p.views.insert(track.clone(), view);
        }
        if unchanged {
            return Ok(());
        }
        // At once rather than at the next tick: a click on a thumbnail should bring
        // its full picture as soon as a keyframe allows, and a newly shown site its
        // picture. The slots first (a new source may need an m-line), then the layers.
        self.renegotiate(participant, now);
        self.select_for(participant, now);
        self.announce_layers(now);
        Ok(())
    }

    /// The periodic selection for everybody.
    pub fn select_layers(&mut self, now: Instant) {
        self.count_open_mics();
        self.assign_all(now);
        let subscribers: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| !p.slots.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        for s in &subscribers {
            self.select_for(s, now);
        }
        self.announce_layers(now);
    }

    /// The estimate the subscribe connection's layers are chosen by (held, cut while
    /// its pacer is congested: pacer.rs, `layers::EstimateHold`), if its client
    /// negotiated transport-cc; without, only its views count.
    pub fn estimate_of(&self, participant: &ParticipantId) -> Option<u64> {
        let link = self.link_of(participant)?;
        link.twcc.then_some(link.estimate).filter(|e| *e > 0)
    }

    /// What the subscribe connection's pacer publishes (pacer.rs).
    fn link_of(&self, participant: &ParticipantId) -> Option<LinkWord> {
        let p = self.participants.get(participant)?;
        let e = self.conns.get(&p.subscribe?)?.estimate.as_ref()?;
        Some(LinkWord::load(e))
    }

    /// Chooses the layer of every video the participant receives now.
    fn select_for(&mut self, participant: &ParticipantId, now: Instant) {
        let estimate = self.estimate_of(participant);
        // The pacer dropped late video and skips to the next keyframe: ask for it (a
        // layer switch below asks anyway; through the gates, at most one a second).
        let skipping = self.link_of(participant).is_some_and(|l| l.skipping);
        let Some(p) = self.participants.get_mut(participant) else {
            return;
        };
        let mut slots = Vec::new();
        let mut wants = Vec::new();
        for (i, slot) in p.slots.iter().enumerate() {
            let Some(id) = slot.source.as_ref().filter(|_| !slot.audio) else {
                continue;
            };
            let Some(t) = self.published.get(id).filter(|_| slot.rewriter.is_some()) else {
                continue;
            };
            slots.push(i);
            wants.push(want(t, p.view_of(id), slot.switch.current(), now));
        }
        let picks = layers::allocate(estimate, &wants);
        let mut keyframes = Vec::new();
        for (i, pick) in slots.into_iter().zip(picks) {
            let slot = &mut p.slots[i];
            if slot.switch.target() != pick && slot.switch.retarget(pick) {
                keyframes.extend(slot.source.clone().zip(pick));
            } else if skipping {
                keyframes.extend(slot.source.clone().zip(slot.switch.target()));
            }
        }
        for (id, layer) in keyframes {
            self.request_keyframe(&id, layer, now);
        }
    }

    /// Tells each simulcast publisher which encodings anybody receives or is about to;
    /// the lowest stays on while anybody subscribes, so a collapsing link has somewhere
    /// to fall at once, and while the room is recorded (the recorder takes it).
    pub fn announce_layers(&mut self, now: Instant) {
        let recorded = self.recorded_tracks();
        let mut needed: HashMap<&TrackId, [bool; MAX_LAYERS]> = HashMap::new();
        for slot in self.participants.values().flat_map(|p| &p.slots) {
            let now_and_next = [
                slot.source.as_ref().map(|id| (id, slot.switch)),
                slot.next.as_ref().map(|(id, s)| (id, *s)),
            ];
            for (id, switch) in now_and_next.into_iter().flatten() {
                let n = needed.entry(id).or_default();
                for l in [switch.current(), switch.target()].into_iter().flatten() {
                    n[l] = true;
                }
            }
        }
        for (id, t) in &mut self.published {
            let simulcast = t.layers[1..].iter().any(Option::is_some);
            if !simulcast {
                continue;
            }
            let mut active = needed.get(id).copied().unwrap_or_default();
            active[0] |= !t.subscribers.is_empty() || recorded.contains(id);
            if t.layers_announced == Some(active) {
                continue;
            }
            for (i, l) in t.layers.iter_mut().enumerate() {
                let was = t.layers_announced.is_none_or(|a| a[i]);
                if let Some(l) = l
                    && active[i]
                    && !was
                {
                    l.resumed_at = Some(now);
                }
            }
            t.layers_announced = Some(active);
            if let Some(p) = self.participants.get(&t.owner) {
                p.send(SfuEvent::Layers {
                    track_id: id.clone(),
                    active: active.to_vec(),
                });
            }
        }
    }

    /// Open (not chair-closed) live microphones per media group: with no more than
    /// three, every one is forwarded.
    fn count_open_mics(&mut self) {
        let mut open: std::collections::HashMap<RoomId, usize> = Default::default();
        for t in self.published.values() {
            if t.live && t.source == TrackSource::Microphone && !self.gated(t) {
                *open.entry(self.group_of(&t.room).clone()).or_default() += 1;
            }
        }
        self.open_mics = open;
    }

    /// Per subscriber: its estimate and the layer it receives of each video.
    pub fn subscriber_stats(&self) -> Vec<SubscriberStats> {
        let mut out: Vec<SubscriberStats> = self
            .participants
            .keys()
            .filter_map(|id| self.subscriber_stats_of(id))
            .collect();
        out.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
        out
    }

    /// What one participant receives; none before its subscribe connection exists.
    pub fn subscriber_stats_of(&self, id: &ParticipantId) -> Option<SubscriberStats> {
        let p = self.participants.get(id)?;
        p.subscribe?;
        let mut videos: Vec<ReceivedVideo> = p
            .slots
            .iter()
            .filter(|s| !s.audio)
            .filter_map(|s| Some((s.source.as_ref()?, s.switch.current())))
            .map(|(t, current)| ReceivedVideo {
                track_id: t.clone(),
                view: p.view_of(t),
                layer: current.map(|l| l as u8),
                rid: current.and_then(|l| {
                    self.published
                        .get(t)
                        .and_then(|t| t.layers[l].as_ref())
                        .map(|l| l.rid.clone())
                }),
            })
            .collect();
        videos.sort_by(|a, b| a.track_id.cmp(&b.track_id));
        Some(SubscriberStats {
            participant_id: id.clone(),
            estimate_bps: self.estimate_of(id),
            videos,
        })
    }
}

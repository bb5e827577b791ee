//! The media loop's side of layer selection: every [`SELECTION_INTERVAL`] each
//! subscriber's layers are chosen afresh from its views and its bandwidth estimate
//! (the pure rules are in `layers`), a keyframe of a newly chosen layer is requested,
//! and each simulcast publisher is told which encodings anybody still receives.

use crate::api::*;
use crate::layers::{self, MAX_LAYERS, View, Want};
use crate::state::{Published, State, Subscription};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub const SELECTION_INTERVAL: Duration = Duration::from_millis(250);

/// What the allocator needs to know of one subscription: the rate of every layer that
/// can be chosen now (`layers::selectable`).
pub fn want(t: &Published, sub: &Subscription, now: Instant) -> Want {
    let mut rates = [None; MAX_LAYERS];
    for (i, (r, l)) in rates.iter_mut().zip(&t.layers).enumerate() {
        let paused = t.layers_announced.is_some_and(|a| !a[i]);
        *r = l
            .as_ref()
            .filter(|l| layers::selectable(paused, l.resumed_at, l.rate.last(), now))
            .map(|l| l.rate.rate());
    }
    Want {
        view: sub.view,
        rates,
        current: sub.switch.current(),
    }
}

impl State {
    /// A subscriber says how it shows a video.
    pub fn set_view(
        &mut self,
        participant: &ParticipantId,
        track: &TrackId,
        view: View,
        now: Instant,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        let sub = p
            .subs
            .get_mut(track)
            .ok_or_else(|| SfuError::UnknownTrack(track.clone()))?;
        if sub.view != view {
            sub.view = view;
            // At once rather than at the next tick: a click on a thumbnail should
            // bring its full picture as soon as a keyframe allows. The publishers hear
            // of it now only if a paused layer is wanted back: announcing costs a pass
            // over every subscription in the server, and a site joining a conference
            // sends hundreds of views (layers nobody wants any more pause at the tick).
            if self.select_for(&participant.clone(), now) {
                self.announce_layers(now);
            }
        }
        Ok(())
    }

    /// The periodic selection for everybody.
    pub fn select_layers(&mut self, now: Instant) {
        self.count_open_mics();
        let subscribers: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| !p.subs.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        for s in &subscribers {
            self.select_for(s, now);
        }
        self.announce_layers(now);
    }

    /// The subscribe connection's estimate, if its client sends transport-cc feedback.
    pub fn estimate_of(&self, participant: &ParticipantId) -> Option<u64> {
        let p = self.participants.get(participant)?;
        let e = self.conns.get(&p.subscribe?)?.estimate.as_ref()?;
        Some(e.load(Ordering::Relaxed)).filter(|e| *e > 0)
    }

    /// Returns true when a layer now wanted is paused at its publisher.
    fn select_for(&mut self, participant: &ParticipantId, now: Instant) -> bool {
        let estimate = self.estimate_of(participant);
        let Some(p) = self.participants.get_mut(participant) else {
            return false;
        };
        let mut ids = Vec::new();
        let mut wants = Vec::new();
        for (id, sub) in &p.subs {
            let Some(t) = self.published.get(id) else {
                continue;
            };
            if t.source.is_audio() || sub.rewriter.is_none() {
                continue;
            }
            ids.push(id.clone());
            wants.push(want(t, sub, now));
        }
        let picks = layers::allocate(estimate, &wants);
        let mut keyframes = Vec::new();
        let mut resume = false;
        for (id, pick) in ids.into_iter().zip(picks) {
            let Some(sub) = p.subs.get_mut(&id) else {
                continue;
            };
            if sub.switch.target() != pick && sub.switch.retarget(pick) {
                let announced = self.published.get(&id).and_then(|t| t.layers_announced);
                resume |= pick.zip(announced).is_some_and(|(l, a)| !a[l]);
                keyframes.extend(pick.map(|l| (id, l)));
            }
        }
        for (id, layer) in keyframes {
            self.request_keyframe(&id, layer, now);
        }
        resume
    }

    /// Tells each simulcast publisher which encodings anybody receives or is about to;
    /// the lowest stays on while anybody subscribes, so a collapsing link has somewhere
    /// to fall at once, and while the room is recorded (the recorder takes it).
    fn announce_layers(&mut self, now: Instant) {
        let recorded = self.recorded_tracks();
        let mut needed: HashMap<&TrackId, [bool; MAX_LAYERS]> = HashMap::new();
        for p in self.participants.values() {
            for (id, sub) in &p.subs {
                let n = needed.entry(id).or_default();
                for l in [sub.switch.current(), sub.switch.target()]
                    .into_iter()
                    .flatten()
                {
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
            .subs
            .iter()
            .filter(|(t, _)| self.published.get(*t).is_some_and(|t| !t.source.is_audio()))
            .map(|(t, s)| ReceivedVideo {
                track_id: t.clone(),
                view: s.view,
                layer: s.switch.current().map(|l| l as u8),
                rid: s.switch.current().and_then(|l| {
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

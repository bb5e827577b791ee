//! The media loop's side of mixed audio (mix.rs has the rules, mix_live.rs the
//! worker): which subscribers are mixed and on which slot, one worker per media group
//! that has any, the group's audible microphones copied to it, and its frames written
//! as RTP on each listener's mix slot.
//!
//! A mixed subscriber's first answered audio slot carries its mix; its other audio
//! slots carry nothing. The mix is one more source to the slot's `Rewriter` (a stream
//! of its own SSRC and numbering), so the slot's SSRC, sequence numbers and timestamps
//! go on across the switch both ways and nothing is renegotiated.

use crate::api::*;
use crate::layers::View;
use crate::mix::{self, MixHold, MixPlan, MixSpec};
use crate::mix_live::{self, MixInput, MixOutput, Worker};
use crate::state::State;
use bytes::Bytes;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::rtp;
use rtc::sansio::Protocol;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::{trace, warn};

/// The extension id the mix's level travels under to the rewriter, which maps it to
/// the subscriber's own id (any id would do: it never leaves the server).
const MIX_LEVEL_ID: u8 = 1;

/// All mixing state of the media loop.
#[derive(Default)]
pub struct Mixes {
    /// Where workers send their frames; None (as in unit tests of the state without a
    /// loop) disables mixing: nobody would write the frames.
    output: Option<mpsc::UnboundedSender<MixOutput>>,
    groups: HashMap<RoomId, GroupMix>,
    subs: HashMap<ParticipantId, SubMix>,
}

struct GroupMix {
    worker: Worker,
    /// The specs the worker reads at its next tick (never waits on the loop, and a
    /// plan is never lost to a full packet channel).
    specs: Arc<Mutex<Vec<MixSpec>>>,
    plan: MixPlan,
}

#[derive(Default)]
struct SubMix {
    hold: MixHold,
    /// The slot carrying the mix, while mixed.
    slot: Option<usize>,
}

/// What a subscriber's audio slots carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixMode {
    /// One slot per source, as ever.
    Separate,
    /// Mixed (or about to be) but no audio slot answered yet: one m-line is enough.
    OneSlot,
    /// The mix, on this slot.
    Mixed(usize),
}

impl Mixes {
    pub(crate) fn set_output(&mut self, out: mpsc::UnboundedSender<MixOutput>) {
        self.output = Some(out);
    }
}

impl State {
    /// Decides a subscriber's mode now: `hear` sources to hear, `shows_video` whether
    /// any video of its group is shown to it.
    pub(crate) fn mix_mode(
        &mut self,
        participant: &ParticipantId,
        hear: usize,
        shows_video: bool,
        now: Instant,
    ) -> MixMode {
        let Some(p) = self.participants.get(participant) else {
            return MixMode::Separate;
        };
        let declined = p.views.values().any(|v| *v == View::Off);
        let audio_only = mix::audio_only(self.estimate_of(participant), declined, shows_video);
        let want = self.mixes.output.is_some() && mix::wants_mix(audio_only, hear);
        let slot = p
            .slots
            .iter()
            .position(|s| s.audio && s.rewriter.is_some() && s.mid.is_some());
        if !want {
            if let Some(s) = self.mixes.subs.get_mut(participant) {
                s.hold.update(false, now);
            }
            return MixMode::Separate;
        }
        let on = self
            .mixes
            .subs
            .entry(participant.clone())
            .or_default()
            .hold
            .update(true, now);
        match (on, slot) {
            (_, None) => MixMode::OneSlot,
            (true, Some(i)) => MixMode::Mixed(i),
            (false, Some(_)) => MixMode::Separate,
        }
    }

    /// Records the slot that carries the participant's mix (None: not mixed); tells
    /// the client when that changes.
    pub(crate) fn set_mix_slot(&mut self, participant: &ParticipantId, slot: Option<usize>) {
        let was = self.mixes.subs.get(participant).and_then(|s| s.slot);
        if was == slot {
            return;
        }
        if let Some(i) = slot {
            self.mixes.subs.entry(participant.clone()).or_default().slot = Some(i);
        } else if let Some(s) = self.mixes.subs.get_mut(participant) {
            s.slot = None;
        }
        let Some(p) = self.participants.get_mut(participant) else {
            return;
        };
        if let Some(rw) = was.and_then(|i| p.slots.get_mut(i)?.rewriter.as_mut()) {
            // The next source starts a new mapping right after the mix's last packet.
            rw.pause();
        }
        let mid = slot.and_then(|i| p.slots.get(i)?.mid.clone());
        p.send(SfuEvent::AudioMix {
            on: slot.is_some(),
            mid,
        });
    }

    /// Works out which mixes `group` needs from its audible microphones and its mixed
    /// members; starts, updates or stops its worker.
    pub(crate) fn refresh_mix(&mut self, group: &RoomId, audible: &[(TrackId, ParticipantId)]) {
        let mixed: Vec<ParticipantId> = self
            .group_members(group)
            .into_iter()
            .filter(|m| self.mixes.subs.get(m).is_some_and(|s| s.slot.is_some()))
            .collect();
        let plan = mix::plan(audible, &mixed);
        if plan.mixes.is_empty() {
            // Dropping the worker's sender ends its thread.
            self.mixes.groups.remove(group);
            return;
        }
        if let Some(g) = self.mixes.groups.get_mut(group) {
            if g.plan.mixes != plan.mixes
                && let Ok(mut specs) = g.specs.lock()
            {
                *specs = plan.mixes.clone();
            }
            g.plan = plan;
            return;
        }
        let Some(output) = self.mixes.output.clone() else {
            return;
        };
        let specs = Arc::new(Mutex::new(plan.mixes.clone()));
        match mix_live::spawn(group.clone(), specs.clone(), output) {
            Ok(worker) => {
                self.mixes.groups.insert(
                    group.clone(),
                    GroupMix {
                        worker,
                        specs,
                        plan,
                    },
                );
            }
            Err(e) => {
                // No thread: no mixing at all from now on; everyone mixed goes back to
                // separate streams at the next pass.
                warn!(error = %e, "cannot start a mixing worker; audio stays unmixed");
                self.mixes.output = None;
            }
        }
    }

    /// Forgets the mixing state of groups and participants that are gone.
    pub(crate) fn prune_mixes(&mut self, groups: &[RoomId]) {
        self.mixes.groups.retain(|g, _| groups.contains(g));
        let participants = &self.participants;
        self.mixes.subs.retain(|p, _| participants.contains_key(p));
    }

    /// Copies one inbound packet to its group's worker if it is one of the sources
    /// mixed there (media.rs, after the chair's gate).
    pub(crate) fn mix_rtp(&self, track_id: &TrackId, packet: &rtp::Packet, now: Instant) {
        if self.mixes.groups.is_empty() {
            return;
        }
        let Some(t) = self.published.get(track_id) else {
            return;
        };
        let Some(g) = self.mixes.groups.get(self.group_of(&t.room)) else {
            return;
        };
        if !g.plan.feed.contains(track_id) {
            return;
        }
        g.worker.feed(MixInput::Rtp {
            track: track_id.clone(),
            ssrc: packet.header.ssrc,
            timestamp: packet.header.timestamp,
            // Shares the packet's buffer: no copy of the media.
            payload: packet.payload.clone(),
            at: now,
        });
    }

    /// Writes a worker's frames on the mix slot of each of their listeners.
    pub(crate) fn on_mix_output(&mut self, out: MixOutput, now: Instant) {
        let Some(g) = self.mixes.groups.get(&out.group) else {
            return;
        };
        for frame in &out.frames {
            let packet = rtp::Packet {
                header: rtp::Header {
                    version: 2,
                    sequence_number: frame.sequence,
                    timestamp: frame.timestamp,
                    ssrc: frame.ssrc,
                    extension: true,
                    extension_profile: 0xBEDE,
                    extensions: vec![rtp::header::Extension {
                        id: MIX_LEVEL_ID,
                        payload: Bytes::copy_from_slice(&[frame.level & 0x7F]),
                    }],
                    ..Default::default()
                },
                payload: frame.payload.clone(),
            };
            for (who, key) in &g.plan.listeners {
                if *key != frame.key {
                    continue;
                }
                let Some(i) = self.mixes.subs.get(who).and_then(|s| s.slot) else {
                    continue;
                };
                let Some(p) = self.participants.get_mut(who) else {
                    continue;
                };
                let (Some(slot), Some(conn_id)) = (p.slots.get_mut(i), p.subscribe) else {
                    continue;
                };
                // A slot refilled with a source is no longer the mix's.
                if slot.source.is_some() {
                    continue;
                }
                let (Some(rw), Some(conn)) = (slot.rewriter.as_mut(), self.conns.get_mut(&conn_id))
                else {
                    continue;
                };
                if !conn.connected {
                    continue;
                }
                rw.set_in_audio_level_id(Some(MIX_LEVEL_ID));
                let out = rw.forward(&packet, now);
                let bytes = out.payload.len() as u64;
                let msg = TaggedRTCMessage {
                    now,
                    message: RTCMessage::RtpPacket(slot.rtc_track_id.clone(), out),
                };
                match conn.pc.handle_write(msg) {
                    Ok(()) => {
                        self.stats.packets_forwarded += 1;
                        self.stats.bytes_forwarded += bytes;
                    }
                    Err(e) => trace!(error = %e, "writing the mix failed"),
                }
                if !conn.touched {
                    conn.touched = true;
                    self.touched.push(conn_id);
                }
            }
        }
    }
}

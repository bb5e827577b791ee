//! Offer/answer on both connections. Publish: the client offers, we answer.
//! Subscribe: we offer the slots (slots.rs) the participant needs, one outstanding
//! offer at a time and paced ([`offer_interval`]): the answers are the media thread's
//! largest cost in a conference.

use crate::api::*;
use crate::engine::{self, AUDIO_LEVEL_URI};
use crate::forward::{NackLimiter, OutParams, PacketCache, Rewriter};
use crate::layers::{LayerSwitch, MAX_LAYERS};
use crate::state::{
    CACHE_PACKETS, ConnId, Layer, MAX_RETRANSMISSIONS, Published, State, Subscription,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::event::RTCTrackEventInit;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use std::time::{Duration, Instant};
use tracing::{debug, warn};

impl State {
    pub fn publish_offer(
        &mut self,
        participant: &ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
        now: Instant,
    ) -> Result<String, SfuError> {
        let max = self.config.max_tracks_per_participant;
        if tracks.len() > max {
            return Err(SfuError::TooManyTracks { max });
        }
        let p = self
            .participants
            .get(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        crate::publish_tracks::check(&sdp, &tracks).map_err(SfuError::InvalidSdp)?;
        let offer =
            RTCSessionDescription::offer(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let created = p.publish.is_none();
        let id = match p.publish {
            Some(id) => id,
            None => {
                let id = self.new_conn(participant, PcKind::Publish, now)?;
                if let Some(p) = self.participants.get_mut(participant) {
                    p.publish = Some(id);
                }
                id
            }
        };
        let conn = self.conns.get_mut(&id).ok_or(SfuError::Stopped)?;
        conn.pc
            .set_remote_description(now, offer)
            .map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        let answer = conn.pc.create_answer(None).map_err(engine::engine)?;
        conn.pc
            .set_local_description(now, answer.clone())
            .map_err(engine::engine)?;
        // Opus in-band FEC and DTX are asked for in the answer (engine.rs).
        let sdp = engine::with_opus_fec_and_dtx(&answer.sdp);
        // A new connection, or the client restarted ICE: our ufrag is new.
        self.learn_ufrag(id, &sdp);
        if created {
            self.trickle_host_candidates(participant, PcKind::Publish, &sdp);
        }
        // Tracks the new offer no longer declares are unpublished.
        let gone: Vec<TrackId> = self
            .published
            .iter()
            .filter(|(_, t)| &t.owner == participant && !tracks.iter().any(|s| s.mid == t.mid))
            .map(|(id, _)| id.clone())
            .collect();
        let room = self.participants.get(participant).map(|p| p.room.clone());
        if let Some(p) = self.participants.get_mut(participant) {
            p.specs = tracks;
        }
        let mut any_live_gone = false;
        for track_id in gone {
            if let Some(t) = self.published.remove(&track_id)
                && t.live
            {
                any_live_gone = true;
                if let Some(p) = self.participants.get(participant) {
                    p.send(SfuEvent::TrackEnded { track_id });
                }
            }
        }
        if any_live_gone && let Some(room) = room {
            self.renegotiate_room(&room, Some(participant), now);
        }
        self.touch(id);
        Ok(sdp)
    }

    /// A publisher's inbound track opened on its publish connection.
    pub fn on_track_open(&mut self, conn_id: ConnId, init: RTCTrackEventInit) {
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        let owner = conn.owner.clone();
        let transceivers: Vec<usize> = conn.pc.get_transceivers().collect();
        let mid = transceivers.into_iter().find_map(|t| {
            let tr = conn.pc.rtp_transceiver(t)?;
            (tr.receiver() == Some(init.receiver_id)).then(|| tr.mid().clone())?
        });
        let Some(mid) = mid else {
            debug!("opened track without a mid; ignored");
            return;
        };
        let Some(mut receiver) = conn.pc.rtp_receiver(init.receiver_id) else {
            return;
        };
        let kind = receiver.track().kind();
        let Some(codec) = receiver.track().codec(init.ssrc).cloned() else {
            debug!(ssrc = init.ssrc, "opened track without a codec; ignored");
            return;
        };
        let in_audio_level_id = receiver
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|h| h.uri == AUDIO_LEVEL_URI)
            .and_then(|h| u8::try_from(h.id).ok());
        let Some(p) = self.participants.get(&owner) else {
            return;
        };
        let source = p
            .specs
            .iter()
            .find(|s| s.mid == mid)
            .map(|s| s.source)
            .unwrap_or(if kind == RtpCodecKind::Audio {
                TrackSource::Microphone
            } else {
                TrackSource::Camera
            });
        let track_id = TrackId(format!("{owner}-{mid}"));
        let rid = init.rid.clone().unwrap_or_default();
        let Some(layer) = crate::layers::layer_of_rid(&rid) else {
            debug!(%track_id, rid, "simulcast encoding with an unknown rid; ignored");
            return;
        };
        conn.in_tracks.insert(init.track_id, track_id.clone());
        if let Some(existing) = self.published.get_mut(&track_id) {
            // A renegotiation (a screen share added, say) opens the publisher's
            // existing tracks again, and each further simulcast encoding opens the
            // track once more: keep subscribers, cache and key-frame gates, and follow
            // the new SSRC (the rewriters make the switch seamless).
            existing.receiver = init.receiver_id;
            match &mut existing.layers[layer] {
                Some(l) => {
                    l.ssrc = init.ssrc;
                    l.rid = rid.clone();
                }
                slot => *slot = Some(Layer::new(rid.clone(), init.ssrc)),
            }
            if rid.is_empty() {
                existing.layers[1..].iter_mut().for_each(|l| *l = None);
            }
            existing.codec = codec;
            existing.in_audio_level_id = in_audio_level_id;
            existing.source = source;
            return;
        }
        let video = kind == RtpCodecKind::Video;
        let mut layers: [Option<Layer>; MAX_LAYERS] = Default::default();
        layers[layer] = Some(Layer::new(rid, init.ssrc));
        self.published.insert(
            track_id,
            Published {
                owner,
                room: p.room.clone(),
                source,
                mid,
                conn: conn_id,
                receiver: init.receiver_id,
                codec,
                layers,
                layers_announced: None,
                in_audio_level_id,
                live: false,
                // Room for three encodings' worth of packets.
                cache: video.then(|| PacketCache::new(CACHE_PACKETS * MAX_LAYERS)),
                subscribers: Vec::new(),
            },
        );
    }

    /// Fits a participant's slots to what it should receive (slots.rs); when a
    /// wanted source has no slot, a paced offer adds m-lines (or waits while an offer
    /// is outstanding).
    pub fn renegotiate(&mut self, participant: &ParticipantId, now: Instant) {
        if let Err(e) = self.try_renegotiate(participant, now) {
            warn!(%participant, error = %e, "subscribe renegotiation failed");
        }
    }

    fn try_renegotiate(
        &mut self,
        participant: &ParticipantId,
        now: Instant,
    ) -> Result<(), SfuError> {
        let missing = self.assign(participant, now);
        let Some(p) = self.participants.get_mut(participant) else {
            return Ok(());
        };
        if missing.is_empty() {
            // What asked for m-lines has found a slot after all (a `view` moved).
            if !p.offer_outstanding {
                p.changed_at = None;
            }
            return Ok(());
        }
        let changed_at = *p.changed_at.get_or_insert(now);
        if p.offer_outstanding {
            p.renegotiate_pending = true;
            return Ok(());
        }
        let at = p
            .next_offer_at
            .map_or(now, |t| t.max(now))
            .max(changed_at + OFFER_FOLD);
        if at > now {
            self.offers_due = Some(self.offers_due.map_or(at, |d| d.min(at)));
            return Ok(());
        }
        let (room, subscribe) = (p.room.clone(), p.subscribe);
        let members = self.group_members(self.group_of(&room)).len();
        let conn_id = match subscribe {
            Some(id) => id,
            None => {
                let id = self.new_conn(participant, PcKind::Subscribe, now)?;
                if let Some(p) = self.participants.get_mut(participant) {
                    p.subscribe = Some(id);
                }
                id
            }
        };
        let (Some(p), Some(conn)) = (
            self.participants.get_mut(participant),
            self.conns.get_mut(&conn_id),
        ) else {
            return Ok(());
        };
        for track in &missing {
            let Some(t) = self.published.get_mut(track) else {
                continue;
            };
            let audio = t.source.is_audio();
            let kind = if audio {
                RtpCodecKind::Audio
            } else {
                RtpCodecKind::Video
            };
            let ssrc = rand::random::<u32>();
            let name = format!(
                "{participant}-{}{}",
                if audio { 'a' } else { 'v' },
                p.slots.len()
            );
            // The stream id names the slot: its source changes, and a browser would
            // try to keep the audio and video of one stream in sync.
            let stream = MediaStreamTrack::new(
                name.clone(),
                name.clone(),
                name.clone(),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: t.codec.clone(),
                    ..Default::default()
                }],
            );
            let sender = conn.pc.add_track(stream).map_err(engine::engine)?;
            t.subscribers.push((participant.clone(), p.slots.len()));
            p.slots.push(Subscription {
                sender,
                rtc_track_id: name,
                mid: None,
                audio,
                codec: t.codec.clone(),
                ssrc,
                rewriter: None,
                nack: NackLimiter::new(MAX_RETRANSMISSIONS, 1024),
                source: Some(track.clone()),
                switch: LayerSwitch::default(),
                next: None,
            });
        }
        self.send_offer(participant, conn_id, members, now)
    }

    /// Offers the subscribe connection `conn_id` as it is now (a re-offer replaces
    /// one still outstanding) and tells the participant.
    fn send_offer(
        &mut self,
        participant: &ParticipantId,
        conn_id: ConnId,
        members: usize,
        now: Instant,
    ) -> Result<(), SfuError> {
        let (Some(p), Some(conn)) = (
            self.participants.get_mut(participant),
            self.conns.get_mut(&conn_id),
        ) else {
            return Ok(());
        };
        // No offer has gone out on this connection yet (a failed one resets the clock).
        let first = p.next_offer_at.is_none();
        let offer = conn.pc.create_offer(None).map_err(engine::engine)?;
        conn.pc
            .set_local_description(now, offer.clone())
            .map_err(engine::engine)?;
        let mids = sender_mids(conn);
        for slot in &mut p.slots {
            slot.mid = mids
                .iter()
                .find(|(s, _)| *s == slot.sender)
                .map(|(_, m)| m.clone());
        }
        p.offer_outstanding = true;
        p.offered_at = Some(now);
        p.restart_pending = false;
        p.renegotiate_pending = false;
        p.changed_at = None;
        p.next_offer_at = Some(now + offer_interval(members));
        let tracks = self.slot_map(participant);
        if let Some(p) = self.participants.get(participant) {
            p.send(SfuEvent::SubscribeOffer {
                sdp: offer.sdp.clone(),
                tracks,
            });
        }
        self.learn_ufrag(conn_id, &offer.sdp);
        if first {
            self.trickle_host_candidates(participant, PcKind::Subscribe, &offer.sdp);
        }
        self.touch(conn_id);
        Ok(())
    }

    /// Members of the media group a participant is in (0 if it left).
    fn room_size_of(&self, participant: &ParticipantId) -> usize {
        self.participants
            .get(participant)
            .map_or(0, |p| self.group_members(self.group_of(&p.room)).len())
    }

    /// The client asks for an ICE restart of its subscribe connection (its network
    /// changed or dropped): an offer with new ICE credentials goes out at once, not
    /// paced, replacing any offer the client may never have received. SSRCs, slots
    /// and rewriters stay as they are, so the pictures continue where they stopped.
    pub fn restart_ice(
        &mut self,
        participant: &ParticipantId,
        now: Instant,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        // Nothing offered yet: the first offer starts ICE afresh anyway.
        let Some(conn_id) = p.subscribe else {
            return Ok(());
        };
        // An offer the client is answering right now would be answered twice; one
        // outstanding for long was lost with the client's old socket.
        let answering = p.offer_outstanding
            && p.offered_at
                .is_some_and(|t| now.saturating_duration_since(t) < OFFER_LOST_AFTER);
        let members = self.room_size_of(participant);
        let conn = self.conns.get_mut(&conn_id).ok_or(SfuError::Stopped)?;
        conn.pc.restart_ice();
        if answering {
            if let Some(p) = self.participants.get_mut(participant) {
                p.restart_pending = true;
            }
            return Ok(());
        }
        self.send_offer(participant, conn_id, members, now)
    }

    /// Sends the paced offers whose time has come.
    pub fn send_due_offers(&mut self, now: Instant) {
        let due: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| p.changed_at.is_some() && !p.offer_outstanding)
            .map(|(id, _)| id.clone())
            .collect();
        // Those not due yet put themselves back on the clock.
        for id in due {
            self.renegotiate(&id, now);
        }
    }

    /// The host candidates are in every SDP we send; they are trickled too (once per
    /// connection, right after its first description) because some clients, the
    /// async `webrtc` crate among them, only dial a TCP candidate that is trickled.
    fn trickle_host_candidates(&self, participant: &ParticipantId, pc: PcKind, sdp: &str) {
        let Some(p) = self.participants.get(participant) else {
            return;
        };
        // With BUNDLE every candidate belongs to the first m-line.
        let first_mid = sdp
            .lines()
            .find_map(|l| l.strip_prefix("a=mid:"))
            .map(|m| m.trim().to_owned());
        for c in &self.candidates {
            p.send(SfuEvent::LocalCandidate {
                pc,
                candidate: IceCandidate {
                    candidate: c.candidate.clone(),
                    sdp_mid: first_mid.clone(),
                    sdp_m_line_index: Some(0),
                },
            });
        }
    }

    pub fn subscribe_answer(
        &mut self,
        participant: &ParticipantId,
        sdp: String,
        now: Instant,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(participant)
            .ok_or_else(|| SfuError::UnknownParticipant(participant.clone()))?;
        let conn_id = p.subscribe.filter(|_| p.offer_outstanding);
        let conn = conn_id
            .and_then(|id| self.conns.get_mut(&id))
            .ok_or(SfuError::UnexpectedAnswer)?;
        let answer =
            RTCSessionDescription::answer(sdp).map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        conn.pc
            .set_remote_description(now, answer)
            .map_err(|e| SfuError::InvalidSdp(e.to_string()))?;
        p.offer_outstanding = false;
        let connected = conn.connected;
        let mut keyframes = Vec::new();
        for slot in p.slots.iter_mut().filter(|s| s.rewriter.is_none()) {
            let Some(mut sender) = conn.pc.rtp_sender(slot.sender) else {
                continue;
            };
            let params = &sender.get_parameters().rtp_parameters;
            let Some(pt) = params
                .codecs
                .iter()
                .find(|c| {
                    c.rtp_codec
                        .mime_type
                        .eq_ignore_ascii_case(&slot.codec.mime_type)
                })
                .map(|c| c.payload_type)
            else {
                debug!(slot = %slot.rtc_track_id, "subscriber did not accept the codec");
                continue;
            };
            let audio_level_id = params
                .header_extensions
                .iter()
                .find(|h| h.uri == AUDIO_LEVEL_URI)
                .and_then(|h| u8::try_from(h.id).ok());
            let out = OutParams {
                ssrc: slot.ssrc,
                payload_type: pt,
                audio_level_id,
            };
            let mut rw = Rewriter::new(out, slot.codec.clock_rate, rand::random(), rand::random());
            let Some(track_id) = slot.source.clone() else {
                slot.rewriter = Some(rw);
                continue;
            };
            let Some(t) = self.published.get(&track_id) else {
                slot.rewriter = Some(rw);
                continue;
            };
            rw.set_in_audio_level_id(t.in_audio_level_id);
            slot.rewriter = Some(rw);
            if slot.audio {
                continue;
            }
            // A single-layer video starts at once, as it always did; a simulcast one
            // waits for a keyframe of the layer its view asks for (the periodic
            // selection then fits it to the link).
            let simulcast = t.layers[1..].iter().any(Option::is_some);
            let view = p.views.get(&track_id).copied().unwrap_or(p.default_view);
            let start = crate::simulcast::start_layer(t, view, now);
            if simulcast {
                if slot.switch.retarget(start) && connected {
                    keyframes.extend(start.map(|l| (track_id.clone(), l)));
                }
            } else {
                slot.switch.start(start);
                if connected {
                    keyframes.push((track_id.clone(), 0));
                }
            }
        }
        let pending = p.renegotiate_pending;
        let restart = p.restart_pending;
        if let Some(id) = conn_id {
            self.touch(id);
        }
        // A new subscription needs a keyframe to start decoding (if not connected
        // yet, the request goes out when the connection comes up).
        for (t, layer) in keyframes {
            self.request_keyframe(&t, layer, now);
        }
        if restart && let Some(id) = conn_id {
            // rtc still holds the restart request: this offer carries new credentials.
            let members = self.room_size_of(participant);
            self.send_offer(participant, id, members, now)?;
            // Slots still wanted go out with the offer after this one.
            if let Some(p) = self.participants.get_mut(participant) {
                p.renegotiate_pending = pending;
            }
        } else if pending {
            self.renegotiate(participant, now);
        }
        Ok(())
    }
}

/// How long after one subscribe offer the next may follow, in a media group of
/// `members` participants. Applying an answer costs the media thread time in
/// proportion to the connection's m-lines (rtc parses and applies the whole SDP: 36 %
/// of that thread during the joins of a 45-site conference, measured with perf, when
/// every member had an m-line per track in the room). With slots a join no longer
/// renegotiates a member that shows only some videos, but in a meeting where everyone
/// shows everyone each join still does: pacing each member's offers by the group's
/// size folds a run of joins into a few offers. A small meeting waits a few tens of
/// milliseconds.
/// Besides, an offer waits [`OFFER_FOLD`] after the change that calls for it, so a
/// newcomer's microphone and camera, which go live a few packets apart, arrive in one.
pub fn offer_interval(members: usize) -> Duration {
    (OFFER_PACE_PER_MEMBER * members as u32).min(MAX_OFFER_PACE)
}

pub const OFFER_PACE_PER_MEMBER: Duration = Duration::from_millis(20);
pub const MAX_OFFER_PACE: Duration = Duration::from_secs(4);
pub const OFFER_FOLD: Duration = Duration::from_millis(100);
/// A subscribe offer unanswered this long was lost (with a dropped socket): an ICE
/// restart re-offers at once instead of waiting for its answer.
const OFFER_LOST_AFTER: Duration = Duration::from_secs(5);

fn sender_mids(conn: &mut crate::state::Conn) -> Vec<(RTCRtpSenderId, String)> {
    let ids: Vec<usize> = conn.pc.get_transceivers().collect();
    ids.into_iter()
        .filter_map(|t| {
            let tr = conn.pc.rtp_transceiver(t)?;
            Some((tr.sender()?, tr.mid().clone()?))
        })
        .collect()
}

//! The forwarding path inside the loop: connection events, inbound RTP fanned out
//! to subscribers, inbound feedback (PLI/FIR/NACK) from subscribers.

use crate::api::*;
use crate::state::{ConnId, State};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::sansio::Protocol;
use rtc::{rtcp, rtp};
use std::time::Instant;
use tracing::{debug, trace};

impl State {
    /// Runs one connection until it has no more events or inbound messages.
    pub fn pump(&mut self, id: ConnId, now: Instant) {
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            if let Some(event) = conn.pc.poll_event() {
                self.on_event(id, event, now);
                continue;
            }
            let Some(TaggedRTCMessage { message, .. }) = conn.pc.poll_read() else {
                return;
            };
            match message {
                RTCMessage::RtpPacket(track, packet) => self.on_rtp(id, &track, packet, now),
                RTCMessage::RtcpPacket(track, packets) => self.on_rtcp(id, &track, packets, now),
                _ => {}
            }
        }
    }

    fn on_event(&mut self, id: ConnId, event: RTCPeerConnectionEvent, now: Instant) {
        match event {
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                self.on_track_open(id, init)
            }
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => {
                let state = match s {
                    RTCPeerConnectionState::Connected => ConnState::Connected,
                    RTCPeerConnectionState::Disconnected => ConnState::Disconnected,
                    RTCPeerConnectionState::Failed => ConnState::Failed,
                    RTCPeerConnectionState::Closed => ConnState::Closed,
                    _ => ConnState::Connecting,
                };
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                let was_connected = conn.connected;
                conn.connected = state == ConnState::Connected;
                let (owner, kind) = (conn.owner.clone(), conn.kind);
                debug!(%owner, pc = ?kind, ?state, "connection state");
                if let Some(p) = self.participants.get(&owner) {
                    p.send(SfuEvent::ConnectionState { pc: kind, state });
                }
                if kind == PcKind::Subscribe && !was_connected && state == ConnState::Connected {
                    self.request_keyframes_for(&owner, now);
                }
            }
            _ => {}
        }
    }

    fn on_rtp(&mut self, id: ConnId, rtc_track: &str, packet: rtp::Packet, now: Instant) {
        self.stats.packets_in += 1;
        let Some(track_id) = self
            .conns
            .get(&id)
            .and_then(|c| c.in_tracks.get(rtc_track))
            .cloned()
        else {
            trace!(rtc_track, "RTP for an unknown track");
            return;
        };
        let Some(t) = self.published.get_mut(&track_id) else {
            return;
        };
        let simulcast = t.layers[1..].iter().any(Option::is_some);
        // A single-layer track forwards whatever SSRC its receiver hands us, as before
        // simulcast: only encodings need telling apart.
        let layer = match t.layer_of(packet.header.ssrc) {
            Some(l) => l,
            None if !simulcast => 0,
            None => {
                trace!(ssrc = packet.header.ssrc, "RTP of an unknown encoding");
                return;
            }
        };
        // Padding alone (a browser probing bandwidth on an encoding it no longer
        // fills, short of CPU) is no sign of life: counting it would keep a stalled
        // layer selectable and its subscribers on a frozen picture.
        if let Some(l) = t.layers[layer]
            .as_mut()
            .filter(|_| !packet.payload.is_empty())
        {
            l.rate.add(packet.payload.len(), now);
        }
        if let Some(cache) = &mut t.cache {
            cache.insert(&packet);
        }
        if !t.live {
            t.live = true;
            let (owner, room, source) = (t.owner.clone(), t.room.clone(), t.source);
            if let Some(p) = self.participants.get(&owner) {
                p.send(SfuEvent::TrackLive {
                    track_id: track_id.clone(),
                    source,
                });
            }
            self.renegotiate_room(&room, Some(&owner), now);
        }
        let Some(t) = self.published.get(&track_id) else {
            return;
        };
        if self.gated(t) {
            return;
        }
        self.observe_level(&track_id, &packet, now);
        self.tap_rtp(&track_id, layer, &packet, now);
        self.mix_rtp(&track_id, &packet, now);
        let Some(t) = self.published.get(&track_id) else {
            return;
        };
        // Every slot this track fills, or takes over at its next keyframe (slots.rs).
        let video = !t.source.is_audio();
        let mut taken_over = Vec::new();
        for (sub_pid, i) in &t.subscribers {
            let Some(p) = self.participants.get_mut(sub_pid) else {
                continue;
            };
            let (Some(slot), Some(conn_id)) = (p.slots.get_mut(*i), p.subscribe) else {
                continue;
            };
            let (Some(rw), Some(conn)) = (slot.rewriter.as_mut(), self.conns.get_mut(&conn_id))
            else {
                continue;
            };
            if !conn.connected {
                continue;
            }
            let keyframe = || crate::layers::is_keyframe_start(&t.codec.mime_type, &packet.payload);
            if slot.source.as_ref() == Some(&track_id) {
                if video && !slot.switch.on_packet(layer, keyframe) {
                    continue;
                }
            } else {
                let Some((next, switch)) = slot.next.as_mut().filter(|(n, _)| *n == track_id)
                else {
                    continue;
                };
                if !switch.on_packet(layer, keyframe) {
                    continue;
                }
                // The new source's keyframe: the slot is its from this packet on.
                slot.switch = *switch;
                let old = slot.source.replace(next.clone());
                slot.next = None;
                taken_over.push((sub_pid.clone(), *i, old));
            }
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
                Err(e) => trace!(error = %e, "forwarding failed"),
            }
            if !conn.touched {
                conn.touched = true;
                self.touched.push(conn_id);
            }
        }
        for (participant, i, old) in taken_over {
            if let Some(t) = old.and_then(|old| self.published.get_mut(&old)) {
                t.subscribers
                    .retain(|(s, j)| !(*s == participant && *j == i));
            }
            self.send_slots(&participant);
        }
    }

    /// Feedback from a subscriber about the tracks we send it. The track is found
    /// from each packet's media SSRC: rtc tags a compound packet with the track of
    /// its first part only (often a receiver report about another stream).
    fn on_rtcp(
        &mut self,
        id: ConnId,
        _rtc_track: &str,
        packets: Vec<Box<dyn rtcp::Packet>>,
        now: Instant,
    ) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        if conn.kind != PcKind::Subscribe {
            return;
        }
        let subscriber = conn.owner.clone();
        for packet in &packets {
            let any = packet.as_any();
            let media_ssrc = if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                pli.media_ssrc
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                fir.fir.first().map_or(fir.media_ssrc, |e| e.ssrc)
            } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                nack.media_ssrc
            } else {
                continue;
            };
            let Some(p) = self.participants.get(&subscriber) else {
                continue;
            };
            let Some(i) = p.slots.iter().position(|s| s.ssrc == media_ssrc) else {
                trace!(media_ssrc, "feedback for an unknown stream");
                continue;
            };
            if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                self.answer_nack(&subscriber, i, nack, now);
                continue;
            }
            // The source it is about to take (that keyframe completes the switch),
            // else the layer it receives or is about to.
            let slot = &p.slots[i];
            let wanted = match &slot.next {
                Some((next, switch)) => Some(next.clone()).zip(switch.target()),
                None => slot
                    .source
                    .clone()
                    .zip(slot.switch.target().or(slot.switch.current())),
            };
            if let Some((track_id, layer)) = wanted {
                self.request_keyframe(&track_id, layer, now);
            }
        }
    }

    fn answer_nack(
        &mut self,
        subscriber: &ParticipantId,
        slot: usize,
        nack: &TransportLayerNack,
        now: Instant,
    ) {
        let Some(p) = self.participants.get_mut(subscriber) else {
            return;
        };
        let (Some(sub), Some(conn_id)) = (p.slots.get_mut(slot), p.subscribe) else {
            return;
        };
        let Some(track_id) = sub.source.as_ref() else {
            return;
        };
        let Some(cache) = self.published.get(track_id).and_then(|t| t.cache.as_ref()) else {
            return;
        };
        let (Some(rw), Some(conn)) = (sub.rewriter.as_mut(), self.conns.get_mut(&conn_id)) else {
            return;
        };
        trace!(track = %track_id, seqs = ?nack.nacks.iter().flat_map(|p| p.packet_list()).collect::<Vec<_>>(), "NACK");
        for pair in &nack.nacks {
            for seq in pair.packet_list() {
                let Some((src_ssrc, src_seq)) = rw.source_seq(seq) else {
                    continue;
                };
                let Some(cached) = cache.get(src_ssrc, src_seq) else {
                    trace!(seq, src_seq, "NACKed packet no longer cached");
                    continue;
                };
                if !sub.nack.allow(seq) {
                    continue;
                }
                let out = rw.forward(cached, now);
                let msg = TaggedRTCMessage {
                    now,
                    message: RTCMessage::RtpPacket(sub.rtc_track_id.clone(), out),
                };
                if conn.pc.handle_write(msg).is_ok() {
                    self.stats.retransmissions += 1;
                }
            }
        }
        if !conn.touched {
            conn.touched = true;
            self.touched.push(conn_id);
        }
    }

    /// A subscriber became able to decode: ask (through the gates) for keyframes of
    /// every video track it receives.
    pub fn request_keyframes_for(&mut self, subscriber: &ParticipantId, now: Instant) {
        let Some(p) = self.participants.get(subscriber) else {
            return;
        };
        let tracks: Vec<(TrackId, usize)> = p
            .slots
            .iter()
            .filter(|s| s.rewriter.is_some() && !s.audio)
            .flat_map(|s| {
                let next = s.next.as_ref().map(|(t, sw)| (t, *sw));
                [s.source.as_ref().map(|t| (t, s.switch)), next]
            })
            .flatten()
            .filter_map(|(t, switch)| Some((t.clone(), switch.target()?)))
            .collect();
        for (t, layer) in tracks {
            self.request_keyframe(&t, layer, now);
        }
    }

    /// Asks for a keyframe of one layer, through that layer's gate.
    pub fn request_keyframe(&mut self, track_id: &TrackId, layer: usize, now: Instant) {
        let allowed = self
            .published
            .get_mut(track_id)
            .and_then(|t| t.layers.get_mut(layer)?.as_mut())
            .is_some_and(|l| l.gate.request(now));
        if allowed {
            self.send_keyframe_request(track_id, layer, now);
        }
    }

    /// Asks the publisher of `track_id` for a keyframe of `layer` (the gate already
    /// agreed).
    pub fn send_keyframe_request(&mut self, track_id: &TrackId, layer: usize, now: Instant) {
        let Some(t) = self.published.get(track_id) else {
            return;
        };
        let Some(media_ssrc) = t.layers.get(layer).and_then(|l| l.as_ref()).map(|l| l.ssrc) else {
            return;
        };
        let (conn_id, receiver) = (t.conn, t.receiver);
        let Some(conn) = self.conns.get_mut(&conn_id) else {
            return;
        };
        let Some(mut r) = conn.pc.rtp_receiver(receiver) else {
            return;
        };
        let pli: Box<dyn rtcp::Packet> = Box::new(PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        });
        match r.write_rtcp(now, vec![pli]) {
            Ok(()) => self.stats.keyframe_requests_sent += 1,
            Err(e) => debug!(error = %e, "keyframe request failed"),
        }
        self.touch(conn_id);
    }
}

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
        if let Some(l) = &mut t.layers[layer] {
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
        let Some(t) = self.published.get(&track_id) else {
            return;
        };
        // Microphones: only the group's loudest reach the subscribers (speaker.rs).
        let group = self.group_of(&t.room);
        let audible = !t.source.is_audio()
            || crate::speaker::audible(
                &t.owner,
                self.speakers.get(group).map_or(&[][..], |d| d.ranking()),
                self.open_mics.get(group).copied().unwrap_or(0),
                t.in_audio_level_id.is_some(),
            );
        let video = !t.source.is_audio();
        for sub_pid in &t.subscribers {
            let Some(p) = self.participants.get_mut(sub_pid) else {
                continue;
            };
            let (Some(sub), Some(conn_id)) = (p.subs.get_mut(&track_id), p.subscribe) else {
                continue;
            };
            let (Some(rw), Some(conn)) = (sub.rewriter.as_mut(), self.conns.get_mut(&conn_id))
            else {
                continue;
            };
            if !conn.connected {
                continue;
            }
            if video {
                let mime = &t.codec.mime_type;
                let keyframe = || crate::layers::is_keyframe_start(mime, &packet.payload);
                if !sub.switch.on_packet(layer, keyframe) {
                    continue;
                }
            } else if !audible {
                if sub.audible {
                    sub.audible = false;
                    rw.pause();
                }
                continue;
            } else {
                sub.audible = true;
            }
            let out = rw.forward(&packet, now);
            let bytes = out.payload.len() as u64;
            let msg = TaggedRTCMessage {
                now,
                message: RTCMessage::RtpPacket(sub.rtc_track_id.clone(), out),
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
            let Some((track_id, layer)) = self.participants.get(&subscriber).and_then(|p| {
                p.subs
                    .iter()
                    .find(|(_, s)| s.ssrc == media_ssrc)
                    .map(|(t, s)| (t.clone(), s.switch.target().or(s.switch.current())))
            }) else {
                trace!(media_ssrc, "feedback for an unknown stream");
                continue;
            };
            if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
                self.answer_nack(&subscriber, &track_id, nack, now);
            } else if let Some(layer) = layer {
                // The layer it receives, or the one it is about to (that keyframe is
                // the one that completes the switch).
                self.request_keyframe(&track_id, layer, now);
            }
        }
    }

    fn answer_nack(
        &mut self,
        subscriber: &ParticipantId,
        track_id: &TrackId,
        nack: &TransportLayerNack,
        now: Instant,
    ) {
        let Some(t) = self.published.get(track_id) else {
            return;
        };
        let Some(cache) = &t.cache else {
            return;
        };
        let Some(p) = self.participants.get_mut(subscriber) else {
            return;
        };
        let (Some(sub), Some(conn_id)) = (p.subs.get_mut(track_id), p.subscribe) else {
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
            .subs
            .iter()
            .filter(|(_, s)| s.rewriter.is_some())
            .filter_map(|(id, s)| Some((id.clone(), s.switch.target()?)))
            .collect();
        for (t, layer) in tracks {
            if self.published.get(&t).is_some_and(|p| !p.source.is_audio()) {
                self.request_keyframe(&t, layer, now);
            }
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

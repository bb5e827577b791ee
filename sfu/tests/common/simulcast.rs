//! Test participants for large rooms, on the async `webrtc` crate through the SFU's
//! handle: a publisher of three simulcast encodings (rids q, h, f, each with the MID and
//! RID header extensions a browser sends) and an Opus tone with a chosen audio level,
//! and a subscriber that can negotiate transport-cc and sit behind a throttled link.
//!
//! Every fake VP8 frame carries its layer (`LAYER_MARK + layer` in its second byte), so a
//! subscriber sees which encoding it is given although the SFU rewrites the SSRC.
//!
//! What arrives is credited to a publisher through the subscribe connection's mid map
//! (the latest applied offer's `tracks`, or a later `Slots` event), looked up per packet.

use super::proxy::Throttle;
use bridge_e2e::media::{SeqStats, ToneEncoder};
use bridge_e2e::rtc_setup::{AUDIO_LEVEL_URI, OPUS_PT, VP8_PT, opus_codec, vp8_codec};
use bridge_sfu::*;
use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_rtcp_reports, configure_simulcast_extension_headers,
    configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder,
};

pub const LAYER_MARK: u8 = 0xA0;
pub use bridge_e2e::simulcast::RIDS;
use bridge_e2e::simulcast::{MID_URI, RID_URI, text_ext};

async fn build_pc(
    handler: Arc<dyn PeerConnectionEventHandler>,
    twcc: bool,
) -> Arc<dyn PeerConnection> {
    let mut m = MediaEngine::default();
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )
    .unwrap();
    m.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8_codec(),
            payload_type: VP8_PT,
        },
        RtpCodecKind::Video,
    )
    .unwrap();
    m.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_owned(),
        },
        RtpCodecKind::Audio,
        None,
    )
    .unwrap();
    configure_simulcast_extension_headers(&mut m).unwrap();
    let mut registry = configure_rtcp_reports(configure_nack(Registry::new(), &mut m));
    if twcc {
        registry = configure_twcc_receiver_only(registry, &mut m).unwrap();
    }
    let settings = SettingEngineBuilder::new()
        .with_include_loopback_candidate(true)
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_network_types(vec![NetworkType::Udp4])
        .build();
    Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(m)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .with_handler(handler)
            .with_udp_addrs(vec!["127.0.0.1:0"])
            .build()
            .await
            .unwrap(),
    )
}

/// What one subscriber got of one remote track.
#[derive(Debug, Default, Clone)]
pub struct Got {
    pub packets: u64,
    pub seq: SeqStats,
    pub last_at: Option<Instant>,
    /// Video: the layer of the frame being received (from the frame's mark).
    pub layer: Option<u8>,
    /// Video: every layer change in arrival order, and whether the new layer's first
    /// arrived frame was a keyframe.
    pub switches: Vec<(Option<u8>, u8, bool)>,
    /// Video: every frame start, as (extended sequence number, layer, keyframe).
    pub frames: Vec<(i64, u8, bool)>,
    /// Every sequence number received, extended.
    pub seqs: std::collections::BTreeSet<i64>,
    max_ext: Option<i64>,
    /// Video frames that could not be attributed to a layer (a broken frame start).
    pub unmarked: u64,
    /// The m-line it arrives on; when the publisher moves to another slot the sequence
    /// numbers are another stream's, so the sequence accounting starts afresh.
    pub mid: Option<String>,
    /// Times it moved to another m-line.
    pub moves: u64,
}

#[derive(Default)]
pub struct Shared {
    /// (publisher id, "audio"/"video") -> what arrived.
    pub got: Mutex<HashMap<(String, &'static str), Got>>,
    pub pub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub sub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub events: Mutex<Vec<(Instant, SfuEvent)>>,
    /// The `active` flags of our simulcast track, as the server last asked.
    pub layers_active: Mutex<[bool; 3]>,
    /// mid -> the publisher that m-line carries now (offers' `tracks`, `Slots`).
    pub mids: Mutex<HashMap<String, String>>,
    /// Packets on an m-line the map did not list ("audio"/"video").
    pub unattributed: Mutex<HashMap<&'static str, u64>>,
    pub sub_pc: OnceLock<Weak<dyn PeerConnection>>,
}

struct Handler {
    kind: PcKind,
    candidates: mpsc::UnboundedSender<IceCandidate>,
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.send(IceCandidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_m_line_index: init.sdp_mline_index,
            });
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let slot = match self.kind {
            PcKind::Publish => &self.shared.pub_state,
            PcKind::Subscribe => &self.shared.sub_state,
        };
        *slot.lock().unwrap() = Some(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let kind = match track.kind().await {
                RtpCodecKind::Audio => "audio",
                _ => "video",
            };
            let mid = match shared.sub_pc.get() {
                Some(pc) => bridge_e2e::rtc_setup::mid_of(pc, &track).await,
                None => None,
            };
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(p) => {
                        let from = mid
                            .as_ref()
                            .and_then(|m| shared.mids.lock().unwrap().get(m).cloned());
                        let Some(from) = from else {
                            *shared.unattributed.lock().unwrap().entry(kind).or_default() += 1;
                            continue;
                        };
                        let mut all = shared.got.lock().unwrap();
                        let g = all.entry((from, kind)).or_default();
                        if g.mid != mid {
                            if g.mid.is_some() {
                                g.moves += 1;
                                g.seq.reset();
                                g.max_ext = None;
                                g.seqs.clear();
                                g.frames.clear();
                            }
                            g.mid = mid.clone();
                        }
                        g.packets += 1;
                        g.seq.record(p.header.sequence_number);
                        let seq = p.header.sequence_number;
                        let ext = match g.max_ext {
                            None => 1 << 20,
                            Some(m) => m + i64::from(seq.wrapping_sub(m as u16) as i16),
                        };
                        g.max_ext = Some(g.max_ext.map_or(ext, |m| m.max(ext)));
                        g.seqs.insert(ext);
                        g.last_at = Some(Instant::now());
                        if kind == "video"
                            && let Some((key, mark)) = frame_start(&p.payload)
                        {
                            let layer = mark.checked_sub(LAYER_MARK).filter(|l| *l < 3);
                            if let Some(l) = layer {
                                g.frames.push((ext, l, key));
                            }
                            match layer {
                                Some(l) if g.layer != Some(l) => {
                                    g.switches.push((g.layer, l, key));
                                    g.layer = Some(l);
                                }
                                Some(_) => {}
                                None => g.unmarked += 1,
                            }
                        }
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

impl Got {
    /// Layer changes in sequence order (a retransmission fills its own place): each
    /// with whether the new layer begins with a keyframe, or else whether packets are
    /// missing before it (the link lost the keyframe; the SFU did not skip it).
    pub fn switches_in_order(&self) -> Vec<(u8, u8, bool, bool)> {
        let mut frames = self.frames.clone();
        frames.sort_by_key(|f| f.0);
        frames.dedup_by_key(|f| f.0);
        frames
            .windows(2)
            .filter(|w| w[0].1 != w[1].1)
            .map(|w| {
                let gap = (w[0].0..w[1].0).any(|s| !self.seqs.contains(&s));
                (w[0].1, w[1].1, w[1].2, gap)
            })
            .collect()
    }
}

/// At the first packet of a VP8 frame: (keyframe, our layer mark). Skips the payload
/// descriptor (RFC 7741 4.2) to the frame tag, which our frame's mark follows.
fn frame_start(b: &[u8]) -> Option<(bool, u8)> {
    if b.first()? & 0x10 == 0 {
        return None;
    }
    let mut i = 1;
    if b[0] & 0x80 != 0 {
        let x = *b.get(1)?;
        i = 2;
        if x & 0x80 != 0 {
            i += if b.get(2)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    Some((b.get(i)? & 0x01 == 0, *b.get(i + 1)?))
}

/// What a participant publishes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Publish {
    /// An Opus tone whose packets carry this audio level (RFC 6464: 0 loudest).
    pub audio_level: Option<u8>,
    /// Three simulcast encodings, with these frame sizes in bytes at 25 fps.
    pub simulcast: Option<[usize; 3]>,
}

pub struct Participant {
    pub id: ParticipantId,
    pub shared: Arc<Shared>,
    /// The level our tone's packets carry; may be changed while running.
    pub level: Arc<AtomicU8>,
    pub_pc: Option<Arc<dyn PeerConnection>>,
    sub_pc: Arc<dyn PeerConnection>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn forward_candidates(
    sfu: SfuHandle,
    id: ParticipantId,
    kind: PcKind,
    mut rx: mpsc::UnboundedReceiver<IceCandidate>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            let _ = sfu.remote_candidate(&id, kind, c).await;
        }
    })
}

impl Participant {
    /// Joins, publishes as asked, answers every subscribe offer. With `twcc` the
    /// subscribe connection sends transport-cc feedback; with `via` it goes through
    /// that throttle.
    pub async fn join(
        sfu: &SfuHandle,
        room: &str,
        id: &str,
        publish: Publish,
        twcc: bool,
        via: Option<&Throttle>,
    ) -> Participant {
        let id = ParticipantId::from(id);
        let shared = Arc::new(Shared::default());
        *shared.layers_active.lock().unwrap() = [true; 3];
        let stop = Arc::new(AtomicBool::new(false));
        let level = Arc::new(AtomicU8::new(publish.audio_level.unwrap_or(127)));
        let mut tasks = Vec::new();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        sfu.join(RoomId::from(room), id.clone(), ev_tx)
            .await
            .unwrap();
        let (sub_c_tx, sub_c_rx) = mpsc::unbounded_channel();
        let sub_pc = build_pc(
            Arc::new(Handler {
                kind: PcKind::Subscribe,
                candidates: sub_c_tx,
                shared: shared.clone(),
            }),
            twcc,
        )
        .await;
        let _ = shared.sub_pc.set(Arc::downgrade(&sub_pc));
        let proxy = via.map(|t| t.relay.addr);
        if proxy.is_none() {
            tasks.push(forward_candidates(
                sfu.clone(),
                id.clone(),
                PcKind::Subscribe,
                sub_c_rx,
            ));
        } else {
            // Through the proxy the server must only learn the proxy's address.
            tasks.push(tokio::spawn(async move {
                let mut rx = sub_c_rx;
                while rx.recv().await.is_some() {}
            }));
        }
        let server_host = format!("127.0.0.1 {} typ host", sfu.udp_addr().port());
        {
            let (sfu, id, sub_pc, shared) =
                (sfu.clone(), id.clone(), sub_pc.clone(), shared.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = ev_rx.recv().await {
                    if let SfuEvent::Layers { active, .. } = &ev {
                        let mut a = shared.layers_active.lock().unwrap();
                        for (slot, on) in a.iter_mut().zip(active) {
                            *slot = *on;
                        }
                    }
                    // In order: a `Slots` event waits behind the offer being applied.
                    if let SfuEvent::Slots { tracks } = &ev {
                        *shared.mids.lock().unwrap() = super::mid_map(tracks);
                    }
                    if let SfuEvent::SubscribeOffer { sdp, tracks } = &ev {
                        let sdp = match proxy {
                            Some(p) => sdp
                                .replace(&server_host, &format!("127.0.0.1 {} typ host", p.port())),
                            None => sdp.clone(),
                        };
                        let res = async {
                            sub_pc
                                .set_remote_description(RTCSessionDescription::offer(sdp)?)
                                .await?;
                            let answer = sub_pc.create_answer(None).await?;
                            sub_pc.set_local_description(answer).await?;
                            Ok::<_, webrtc::error::Error>(sub_pc.local_description().await)
                        }
                        .await;
                        if let Ok(Some(answer)) = res {
                            *shared.mids.lock().unwrap() = super::mid_map(tracks);
                            let sdp = if proxy.is_some() {
                                answer
                                    .sdp
                                    .split_inclusive('\n')
                                    .filter(|l| !l.starts_with("a=candidate:"))
                                    .collect()
                            } else {
                                answer.sdp
                            };
                            let _ = sfu.subscribe_answer(&id, sdp).await;
                        }
                    }
                    shared.events.lock().unwrap().push((Instant::now(), ev));
                }
            }));
        }
        let pub_pc = if publish.audio_level.is_some() || publish.simulcast.is_some() {
            Some(publish_media(sfu, &id, &shared, &stop, &level, &mut tasks, publish).await)
        } else {
            None
        };
        Participant {
            id,
            shared,
            level,
            pub_pc,
            sub_pc,
            stop,
            tasks,
        }
    }

    pub fn got(&self, from: &ParticipantId, kind: &'static str) -> Got {
        let all = self.shared.got.lock().unwrap();
        all.get(&(from.0.clone(), kind))
            .cloned()
            .unwrap_or_default()
    }

    /// Remote microphones whose packets arrived in the last `window`.
    pub fn hearing(&self, window: Duration) -> Vec<String> {
        let all = self.shared.got.lock().unwrap();
        let mut v: Vec<String> = all
            .iter()
            .filter(|((_, k), g)| *k == "audio" && g.last_at.is_some_and(|t| t.elapsed() < window))
            .map(|((p, _), _)| p.clone())
            .collect();
        v.sort();
        v
    }

    /// The latest active-speaker ranking, and when it arrived.
    pub fn speakers(&self) -> Option<(Instant, Vec<ParticipantId>)> {
        let ev = self.shared.events.lock().unwrap();
        ev.iter().rev().find_map(|(t, e)| match e {
            SfuEvent::Speakers { ordered } => Some((*t, ordered.clone())),
            _ => None,
        })
    }

    pub fn subscribed(&self) -> bool {
        *self.shared.sub_state.lock().unwrap() == Some(RTCPeerConnectionState::Connected)
    }

    pub async fn close(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(pc) = &self.pub_pc {
            let _ = pc.close().await;
        }
        let _ = self.sub_pc.close().await;
        for t in self.tasks {
            t.abort();
        }
    }
}

async fn publish_media(
    sfu: &SfuHandle,
    id: &ParticipantId,
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
    level: &Arc<AtomicU8>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    publish: Publish,
) -> Arc<dyn PeerConnection> {
    let (c_tx, c_rx) = mpsc::unbounded_channel();
    let pc = build_pc(
        Arc::new(Handler {
            kind: PcKind::Publish,
            candidates: c_tx,
            shared: shared.clone(),
        }),
        false,
    )
    .await;
    let mut specs = Vec::new();
    let mut audio = None;
    if publish.audio_level.is_some() {
        let ssrc = rand::random::<u32>();
        let track = track(RtpCodecKind::Audio, "mic", &[("", ssrc)]);
        audio = Some((track.clone(), ssrc));
        specs.push((add(&pc, track).await, TrackSource::Microphone));
    }
    let mut video = None;
    if let Some(sizes) = publish.simulcast {
        let ssrcs: Vec<(&str, u32)> = RIDS.iter().map(|r| (*r, rand::random())).collect();
        let track = track(RtpCodecKind::Video, "cam", &ssrcs);
        video = Some((track.clone(), ssrcs, sizes));
        specs.push((add(&pc, track).await, TrackSource::Camera));
    }
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    let sdp = pc.local_description().await.unwrap().sdp;
    let mut tracks = Vec::new();
    let mut video_mid = String::new();
    for (tr, source) in &specs {
        let mid = tr.mid().await.unwrap().unwrap();
        if *source == TrackSource::Camera {
            video_mid = mid.clone();
        }
        tracks.push(TrackSpec {
            mid,
            source: *source,
        });
    }
    let answer = sfu.publish_offer(id, sdp, tracks).await.unwrap();
    pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap())
        .await
        .unwrap();
    tasks.push(forward_candidates(
        sfu.clone(),
        id.clone(),
        PcKind::Publish,
        c_rx,
    ));
    if let Some((track, ssrc)) = audio {
        tasks.push(tokio::spawn(send_audio(
            shared.clone(),
            stop.clone(),
            level.clone(),
            track,
            ssrc,
        )));
    }
    if let Some((track, ssrcs, sizes)) = video {
        tasks.push(tokio::spawn(send_simulcast(
            shared.clone(),
            stop.clone(),
            track,
            video_mid,
            ssrcs.into_iter().map(|(_, s)| s).collect(),
            sizes,
        )));
    }
    pc
}

fn track(kind: RtpCodecKind, id: &str, encodings: &[(&str, u32)]) -> Arc<TrackLocalStaticSample> {
    let codec = match kind {
        RtpCodecKind::Audio => opus_codec(),
        _ => vp8_codec(),
    };
    let t = MediaStreamTrack::new(
        "e2e-stream".to_owned(),
        id.to_owned(),
        id.to_owned(),
        kind,
        encodings
            .iter()
            .map(|(rid, ssrc)| RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    rid: (*rid).to_owned(),
                    ssrc: Some(*ssrc),
                    ..Default::default()
                },
                codec: codec.clone(),
                ..Default::default()
            })
            .collect(),
    );
    Arc::new(TrackLocalStaticSample::new(Instant::now(), t).unwrap())
}

async fn add(
    pc: &Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticSample>,
) -> Arc<dyn webrtc::rtp_transceiver::RtpTransceiver> {
    pc.add_transceiver_from_track(
        track as Arc<dyn TrackLocal>,
        Some(RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: vec![],
            send_encodings: vec![],
        }),
    )
    .await
    .unwrap()
}

async fn connected(shared: &Shared, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        if *shared.pub_state.lock().unwrap() == Some(RTCPeerConnectionState::Connected) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send_audio(
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    level: Arc<AtomicU8>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
) {
    if !connected(&shared, &stop).await {
        return;
    }
    let Ok(mut tone) = ToneEncoder::new(440.0) else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let Ok(frame) = tone.next_frame() else { return };
        let sample = Sample {
            data: Bytes::copy_from_slice(frame),
            duration: Duration::from_millis(20),
            ..Sample::new(Instant::now())
        };
        let ext = AudioLevelExtension {
            level: level.load(Ordering::Relaxed),
            voice: true,
        };
        let _ = track
            .sample_writer(ssrc, OPUS_PT)
            .with_audio_level(ext)
            .write_sample(&sample)
            .await;
    }
}

/// 25 fps on each active encoding, a keyframe on each every second.
async fn send_simulcast(
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    track: Arc<TrackLocalStaticSample>,
    mid: String,
    ssrcs: Vec<u32>,
    sizes: [usize; 3],
) {
    if !connected(&shared, &stop).await {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_millis(40));
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let active = *shared.layers_active.lock().unwrap();
        for (l, ssrc) in ssrcs.iter().enumerate() {
            if !active[l] {
                continue;
            }
            let mut frame = vec![0u8; sizes[l].max(2)];
            // VP8 frame tag: P bit clear on a keyframe.
            frame[0] = if n.is_multiple_of(25) { 0x10 } else { 0x11 };
            frame[1] = LAYER_MARK + l as u8;
            let sample = Sample {
                data: Bytes::from(frame),
                duration: Duration::from_millis(40),
                ..Sample::new(Instant::now())
            };
            let _ = track
                .sample_writer(*ssrc, VP8_PT)
                .with_extension(text_ext(MID_URI, &mid))
                .with_extension(text_ext(RID_URI, RIDS[l]))
                .write_sample(&sample)
                .await;
        }
        n += 1;
    }
}

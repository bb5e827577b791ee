//! A test participant built on the async `webrtc` crate, talking to the SFU
//! directly through its handle (no WebSocket): it publishes Opus + VP8 with
//! synthetic payloads and counts what it receives, per remote participant: each packet
//! is credited to the participant whose source its m-line carries at that moment (the
//! mid map of the latest applied subscribe offer or `Slots` event).
#![allow(dead_code)]

pub mod proxy;
mod setup;
pub mod simulcast;

use bridge_sfu::*;
use bytes::Bytes;
use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription,
};

#[derive(Default)]
pub struct Shared {
    /// (publisher participant id, "audio"/"video") -> packets received.
    pub received: Mutex<HashMap<(String, &'static str), u64>>,
    pub keyframe_requests: AtomicU64,
    pub pub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub sub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub offers: Mutex<Vec<Vec<RemoteTrack>>>,
    /// Every `Slots` event, in order.
    pub slots: Mutex<Vec<Vec<RemoteTrack>>>,
    /// mid -> the publisher whose source that m-line of the subscribe connection carries
    /// now: replaced by each applied offer's `tracks` and by each `Slots` event.
    pub mids: Mutex<HashMap<String, String>>,
    /// Packets that arrived on an m-line the map did not list ("audio"/"video").
    pub unattributed: Mutex<HashMap<&'static str, u64>>,
    pub failures: Mutex<Vec<String>>,
    /// The subscribe connection, to find the mid of each remote track.
    pub sub_pc: OnceLock<Weak<dyn PeerConnection>>,
}

impl Shared {
    /// Replaces the mid map with what `tracks` say the m-lines carry.
    pub fn set_mids(&self, tracks: &[RemoteTrack]) {
        *self.mids.lock().unwrap() = mid_map(tracks);
    }

    /// Who the m-line `mid` carries now.
    pub fn carried(&self, mid: Option<&str>) -> Option<String> {
        self.mids.lock().unwrap().get(mid?).cloned()
    }
}

/// mid -> publisher id, from a subscribe offer's or a `Slots` event's tracks.
pub fn mid_map(tracks: &[RemoteTrack]) -> HashMap<String, String> {
    tracks
        .iter()
        .map(|t| (t.mid.clone(), t.participant_id.0.clone()))
        .collect()
}

/// The mid of a remote track of `shared`'s subscribe connection.
pub async fn track_mid(shared: &Shared, track: &Arc<dyn TrackRemote>) -> Option<String> {
    bridge_e2e::rtc_setup::mid_of(shared.sub_pc.get()?, track).await
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
            let mid = track_mid(&shared, &track).await;
            if mid.is_none() {
                shared
                    .failures
                    .lock()
                    .unwrap()
                    .push(format!("no mid for a remote {kind} track"));
            }
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(_) => match shared.carried(mid.as_deref()) {
                        Some(from) => {
                            *shared
                                .received
                                .lock()
                                .unwrap()
                                .entry((from, kind))
                                .or_default() += 1;
                        }
                        None => {
                            *shared.unattributed.lock().unwrap().entry(kind).or_default() += 1;
                        }
                    },
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// What a client sends.
#[derive(Debug, Clone, Copy)]
pub struct Publish {
    /// Bytes per synthetic VP8 frame at 25 fps (3000 is about 600 kbit/s).
    pub frame_bytes: usize,
}

/// How a test client connects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub publish: Option<Publish>,
    /// How it shows the videos it names no view for (`SfuHandle::join_viewing`).
    pub default_view: View,
    /// ICE-TCP only.
    pub tcp: bool,
    /// Route the subscribe connection through this UDP proxy (see `proxy`).
    pub sub_via: Option<std::net::SocketAddr>,
}

fn strip_candidates(sdp: &str) -> String {
    sdp.split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate:"))
        .collect()
}

/// ICE-TCP only: the clients have no UDP, and are given the server's passive TCP
/// candidates explicitly (the async crate dials only trickled passive candidates).
async fn add_tcp_candidates(pc: &Arc<dyn PeerConnection>, sdp: &str) {
    for line in sdp.lines() {
        if let Some(c) = line.strip_prefix("a=")
            && c.starts_with("candidate:")
            && c.contains(" tcp ")
        {
            let _ = pc
                .add_ice_candidate(webrtc::peer_connection::RTCIceCandidateInit {
                    candidate: c.to_owned(),
                    sdp_mid: Some("0".to_owned()),
                    sdp_mline_index: Some(0),
                    ..Default::default()
                })
                .await;
        }
    }
}

pub struct Client {
    pub id: ParticipantId,
    pub shared: Arc<Shared>,
    pub_pc: Option<Arc<dyn PeerConnection>>,
    sub_pc: Arc<dyn PeerConnection>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Forwards a connection's local candidates to the SFU, starting when `go` fires.
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

impl Client {
    /// Joins `room`, publishes microphone + camera, answers every subscribe offer.
    pub async fn join(sfu: &SfuHandle, room: &str, id: &str) -> Client {
        let opts = Options {
            publish: Some(Publish { frame_bytes: 3000 }),
            ..Options::default()
        };
        Self::join_with(sfu, room, id, opts).await
    }

    /// Joins `room` as `opts` say.
    pub async fn join_with(sfu: &SfuHandle, room: &str, id: &str, opts: Options) -> Client {
        let Options {
            publish,
            default_view,
            tcp,
            sub_via,
        } = opts;
        let id = ParticipantId::from(id);
        let shared = Arc::new(Shared::default());
        let mut tasks = Vec::new();
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        sfu.join_viewing(RoomId::from(room), id.clone(), ev_tx, default_view)
            .await
            .unwrap();

        let (sub_c_tx, sub_c_rx) = mpsc::unbounded_channel();
        let sub_pc = setup::build_pc(
            Arc::new(Handler {
                kind: PcKind::Subscribe,
                candidates: sub_c_tx,
                shared: shared.clone(),
            }),
            tcp,
        )
        .await;
        let _ = shared.sub_pc.set(Arc::downgrade(&sub_pc));
        if sub_via.is_none() {
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

        // Subscribe offers are answered in order as they come; a `Slots` event waits
        // behind the offer being applied, so an older offer never overwrites it.
        {
            let (sfu, id, sub_pc, shared) =
                (sfu.clone(), id.clone(), sub_pc.clone(), shared.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(ev) = ev_rx.recv().await {
                    if let SfuEvent::Slots { tracks } = &ev {
                        shared.set_mids(tracks);
                        shared.slots.lock().unwrap().push(tracks.clone());
                    }
                    if let SfuEvent::SubscribeOffer { sdp, tracks } = ev {
                        shared.offers.lock().unwrap().push(tracks.clone());
                        let sdp = match sub_via {
                            Some(proxy) => sdp.replace(
                                &server_host,
                                &format!("127.0.0.1 {} typ host", proxy.port()),
                            ),
                            None => sdp,
                        };
                        let res = async {
                            sub_pc
                                .set_remote_description(RTCSessionDescription::offer(sdp.clone())?)
                                .await?;
                            if tcp {
                                add_tcp_candidates(&sub_pc, &sdp).await;
                            }
                            let answer = sub_pc.create_answer(None).await?;
                            sub_pc.set_local_description(answer).await?;
                            Ok::<_, webrtc::error::Error>(sub_pc.local_description().await)
                        }
                        .await;
                        if matches!(res, Ok(Some(_))) {
                            shared.set_mids(&tracks);
                        }
                        match res {
                            Ok(Some(answer)) => {
                                let sdp = if sub_via.is_some() {
                                    strip_candidates(&answer.sdp)
                                } else {
                                    answer.sdp
                                };
                                if let Err(e) = sfu.subscribe_answer(&id, sdp).await {
                                    shared.failures.lock().unwrap().push(format!("{e}"));
                                }
                            }
                            other => shared
                                .failures
                                .lock()
                                .unwrap()
                                .push(format!("answering: {:?}", other.err())),
                        }
                    }
                }
            }));
        }

        let stop = Arc::new(AtomicBool::new(false));
        let pub_pc = match publish {
            Some(p) => Some(publish_media(sfu, &id, &shared, &stop, &mut tasks, p, tcp).await),
            None => None,
        };
        Client {
            id,
            shared,
            pub_pc,
            sub_pc,
            stop,
            tasks,
        }
    }

    pub fn received(&self, from: &Client, kind: &'static str) -> u64 {
        let r = self.shared.received.lock().unwrap();
        r.get(&(from.id.0.clone(), kind)).copied().unwrap_or(0)
    }

    pub fn failures(&self) -> Vec<String> {
        self.shared.failures.lock().unwrap().clone()
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
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
    publish: Publish,
    tcp: bool,
) -> Arc<dyn PeerConnection> {
    let (pub_c_tx, pub_c_rx) = mpsc::unbounded_channel();
    let pub_pc = setup::build_pc(
        Arc::new(Handler {
            kind: PcKind::Publish,
            candidates: pub_c_tx,
            shared: shared.clone(),
        }),
        tcp,
    )
    .await;
    let (audio, audio_ssrc) =
        setup::new_track(RtpCodecKind::Audio, setup::opus_codec(), "mic").unwrap();
    let (video, video_ssrc) =
        setup::new_track(RtpCodecKind::Video, setup::vp8_codec(), "cam").unwrap();
    let mut specs = Vec::new();
    for (track, source) in [
        (audio.clone(), TrackSource::Microphone),
        (video.clone(), TrackSource::Camera),
    ] {
        let tr = pub_pc
            .add_transceiver_from_track(
                track as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .await
            .unwrap();
        specs.push((tr, source));
    }
    let offer = pub_pc.create_offer(None).await.unwrap();
    pub_pc.set_local_description(offer).await.unwrap();
    let sdp = pub_pc.local_description().await.unwrap().sdp;
    let mut tracks = Vec::new();
    for (tr, source) in &specs {
        let mid = tr.mid().await.unwrap().unwrap();
        tracks.push(TrackSpec {
            mid,
            source: *source,
        });
    }
    let answer = sfu.publish_offer(id, sdp, tracks).await.unwrap();
    pub_pc
        .set_remote_description(RTCSessionDescription::answer(answer.clone()).unwrap())
        .await
        .unwrap();
    if tcp {
        add_tcp_candidates(&pub_pc, &answer).await;
    }
    tasks.push(forward_candidates(
        sfu.clone(),
        id.clone(),
        PcKind::Publish,
        pub_c_rx,
    ));

    tasks.push(tokio::spawn(send_media(
        shared.clone(),
        stop.clone(),
        audio,
        audio_ssrc,
        video,
        video_ssrc,
        publish.frame_bytes,
    )));
    pub_pc
}

async fn send_media(
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    audio: Arc<TrackLocalStaticSample>,
    audio_ssrc: u32,
    video: Arc<TrackLocalStaticSample>,
    video_ssrc: u32,
    frame_bytes: usize,
) {
    while *shared.pub_state.lock().unwrap() != Some(RTCPeerConnectionState::Connected) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Count keyframe requests reaching the publisher.
    {
        let (video, shared, stop) = (video.clone(), shared.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match video.poll().await {
                    Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                        shared.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(_) => {}
                    None => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
    }
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let sample = Sample {
            data: Bytes::from(vec![0xF8u8; 80]),
            duration: Duration::from_millis(20),
            ..Sample::new(Instant::now())
        };
        let _ = audio
            .sample_writer(audio_ssrc, setup::OPUS_PT)
            .write_sample(&sample)
            .await;
        if n.is_multiple_of(2) {
            // ~25 fps of 3 kB synthetic frames (several packets each).
            let mut frame = vec![0u8; frame_bytes.max(1)];
            frame[0] = if n.is_multiple_of(100) { 0x10 } else { 0x11 };
            let sample = Sample {
                data: Bytes::from(frame),
                duration: Duration::from_millis(40),
                ..Sample::new(Instant::now())
            };
            let _ = video
                .sample_writer(video_ssrc, setup::VP8_PT)
                .write_sample(&sample)
                .await;
        }
        n += 1;
    }
}

/// Polls `f` every 50 ms until it is true or `timeout` passes.
/// An SFU on loopback ports, with test logging (`RUST_LOG`, default warn); ICE-TCP only
/// when asked.
pub async fn start_sfu(tcp: bool) -> SfuHandle {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    Sfu::start(SfuConfig {
        udp_bind: "127.0.0.1:0".parse().unwrap(),
        tcp_bind: tcp.then(|| "127.0.0.1:0".parse().unwrap()),
        ..SfuConfig::default()
    })
    .await
    .unwrap()
}

pub async fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

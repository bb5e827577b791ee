//! A Rust WebRTC participant that speaks docs/protocol.md: one signaling WebSocket,
//! a publish connection (it offers a sendonly Opus tone and sendonly fake VP8 video)
//! and a subscribe connection (the server offers; it answers and records every remote
//! track by the participant id carried as the msid stream id).

use crate::publish::{self, Publisher};
use crate::recv::{Kind, Received, StreamSnapshot};
use crate::rtc_setup::{build_pc, build_pc_with};
use crate::signal::{Incoming, Signal, SignalSender, Tasks, error_code, join_msg};
use anyhow::{Context, anyhow, bail};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceCandidateInit, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};

/// What a client publishes.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Publish an Opus sine tone at this frequency.
    pub tone_hz: Option<f32>,
    /// Publish fake VP8 video at this bitrate.
    pub video_bps: Option<u32>,
    pub fps: u32,
    /// Send a keyframe at least this often (besides the first and on PLI/FIR).
    pub keyframe_every: Option<Duration>,
    /// ICE over TCP only: no UDP socket at all.
    pub tcp_only: bool,
    /// End every video frame with its send time (see `media::SEND_TIME_MAGIC`), so
    /// receivers measure the one-way delay through the server (the load generator).
    pub stamp_send_time: bool,
    /// Publish the camera as three simulcast encodings (rids `q`, `h`, `f`) at these
    /// bitrates, lowest first, instead of one at `video_bps`; the server's `layers`
    /// messages pause and resume them, as a browser does.
    pub simulcast: Option<[u32; 3]>,
    /// Talk in spurts instead of a continuous tone, so the active-speaker ranking has
    /// something to rank.
    pub talk_spurts: Option<TalkSpurts>,
    /// Decode received audio (for the tone checks). A load generator turns it off: its
    /// many clients would spend the cores the server needs.
    pub decode_audio: bool,
}

/// Speech as the active-speaker detector sees it: the tone (a loud audio level) for
/// `talk`, then near silence (level 127) for `pause`, starting at a random point of the
/// cycle so that many sites are not in step.
#[derive(Debug, Clone, Copy)]
pub struct TalkSpurts {
    pub talk: Duration,
    pub pause: Duration,
}

/// How a receiver shows a video (the `quality` of a `view` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    High,
    Low,
    Off,
}

impl Quality {
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::High => "high",
            Quality::Low => "low",
            Quality::Off => "off",
        }
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tone_hz: Some(440.0),
            video_bps: Some(1_000_000),
            fps: 25,
            keyframe_every: Some(Duration::from_secs(10)),
            tcp_only: false,
            stamp_send_time: false,
            simulcast: None,
            talk_spurts: None,
            decode_audio: true,
        }
    }
}

impl ClientOptions {
    /// Receive only.
    pub fn silent() -> Self {
        ClientOptions {
            tone_hz: None,
            video_bps: None,
            simulcast: None,
            ..Default::default()
        }
    }
}

/// State shared between the client, its dispatcher task and the WebRTC callbacks.
/// Public so a publisher can be driven by other signaling (the benchmark's Janus peers):
/// [`publish::Publisher::start`] reads the publish state and counts keyframe requests here.
#[derive(Default)]
pub struct Shared {
    /// Every server message after `joined`, in arrival order (pongs excluded).
    events: Mutex<Vec<Value>>,
    pub(crate) received: Mutex<Received>,
    /// The `tracks` of the latest `subscribe_offer`.
    sub_tracks: Mutex<Vec<Value>>,
    /// Things that went wrong on the client side (a failed setRemoteDescription, ...).
    failures: Mutex<Vec<String>>,
    /// Set when the server closed the socket: the close code, if any.
    closed: Mutex<Option<Option<u16>>>,
    pub(crate) pub_state: Mutex<Option<RTCPeerConnectionState>>,
    sub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub(crate) keyframe_requests: AtomicU64,
    pongs: AtomicU64,
    subscribe_offers: AtomicU64,
    /// The video tracks received, by participant, to send them keyframe requests.
    video_tracks: Mutex<std::collections::HashMap<String, Arc<dyn TrackRemote>>>,
    /// Our participant id, from `joined`.
    me: std::sync::OnceLock<String>,
    /// Our own camera's track id, from the `track_published` the server sent us.
    camera_track: Mutex<Option<String>>,
    /// Simulcast encodings (lowest first) the server's `layers` message paused.
    pub(crate) layers_paused: Mutex<[bool; 3]>,
    /// `layers` messages applied.
    layers_messages: AtomicU64,
    /// The largest `subscribe_answer` sent, in bytes (the server takes at most 64 KiB).
    largest_answer: AtomicU64,
    /// The latest `active_speakers` ranking (kept apart from `events` so that a load
    /// generator can poll it cheaply).
    speakers: Mutex<Vec<String>>,
}

impl Shared {
    /// Records the publish connection's state (what [`publish::Publisher::start`] waits on).
    pub fn set_publish_state(&self, state: RTCPeerConnectionState) {
        if let Ok(mut s) = self.pub_state.lock() {
            *s = Some(state);
        }
    }

    /// Keyframe requests (PLI/FIR) that reached the published video so far.
    pub fn keyframe_requests(&self) -> u64 {
        self.keyframe_requests.load(Ordering::Relaxed)
    }

    fn fail(&self, what: String) {
        eprintln!("[client] {what}");
        if let Ok(mut f) = self.failures.lock() {
            f.push(what);
        }
    }
}

/// Local candidates are held back until the description they belong to has been sent,
/// so the server never sees a candidate for a connection it does not know yet.
#[derive(Default)]
pub(crate) struct Gate {
    open: bool,
    pending: Vec<Value>,
}

pub(crate) fn open_gate(gate: &Mutex<Gate>, sender: &SignalSender) {
    if let Ok(mut g) = gate.lock() {
        g.open = true;
        for m in g.pending.drain(..) {
            let _ = sender.send_json(&m);
        }
    }
}

pub(crate) struct PcHandler {
    pub(crate) pc: &'static str,
    pub(crate) sender: SignalSender,
    pub(crate) gate: Arc<Mutex<Gate>>,
    pub(crate) shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PcHandler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else {
            return;
        };
        let msg = json!({
            "type": "candidate",
            "pc": self.pc,
            "candidate": {
                "candidate": init.candidate,
                // webrtc-rs reports "" when it does not know; say nothing instead.
                "sdpMid": init.sdp_mid.filter(|m| !m.is_empty()),
                "sdpMLineIndex": init.sdp_mline_index,
            }
        });
        if let Ok(mut g) = self.gate.lock() {
            if g.open {
                let _ = self.sender.send_json(&msg);
            } else {
                g.pending.push(msg);
            }
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let slot = if self.pc == "publish" {
            &self.shared.pub_state
        } else {
            &self.shared.sub_state
        };
        if let Ok(mut s) = slot.lock() {
            *s = Some(state);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.shared.clone();
        tokio::spawn(async move { record_track(track, shared).await });
    }
}

async fn record_track(track: Arc<dyn TrackRemote>, shared: Arc<Shared>) {
    let participant = track.stream_id().await.to_string();
    let msid_track = track.track_id().await.to_string();
    let kind = match track.kind().await {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    };
    if kind == Kind::Video
        && let Ok(mut v) = shared.video_tracks.lock()
    {
        v.insert(participant.clone(), track.clone());
    }
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                if let Ok(mut r) = shared.received.lock() {
                    r.record(&participant, kind, &msid_track, &pkt);
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    if let Ok(mut r) = shared.received.lock() {
        r.mark_ended(&participant, kind);
    }
}

/// One participant.
pub struct Client {
    /// Our participant id (from `joined`).
    pub id: String,
    /// The `joined` message.
    pub joined: Value,
    /// WebSocket open; the join-time clock starts here.
    pub opened_at: Instant,
    pub joined_at: Instant,
    sender: SignalSender,
    shared: Arc<Shared>,
    publisher: Option<Publisher>,
    pub_pc: Option<Arc<dyn PeerConnection>>,
    sub_pc: Arc<dyn PeerConnection>,
    tasks: Tasks,
    closed: bool,
}

impl Client {
    /// Joins `room` on `server` as a member called `name`.
    pub async fn join(
        server: &crate::server::BridgeServer,
        room: &str,
        name: &str,
        opts: ClientOptions,
    ) -> anyhow::Result<Self> {
        let token = server.token(room, name, "member");
        Client::connect(&server.ws_url(), &token, opts)
            .await
            .with_context(|| format!("{name} joining {room}"))
    }

    /// Joins `room` with a token for `role` (`chair`, `member`, `viewer`) that speaks
    /// for `unit` (an administrative unit code), as the scheduler's links do.
    pub async fn join_as(
        server: &crate::server::BridgeServer,
        room: &str,
        name: &str,
        role: &str,
        unit: Option<&str>,
        opts: ClientOptions,
    ) -> anyhow::Result<Self> {
        let token = server.token_for_unit(room, name, role, unit)?;
        Client::connect(&server.ws_url(), &token, opts)
            .await
            .with_context(|| format!("{name} joining {room} as {role}"))
    }

    /// Connects, joins with `token`, sets up both peer connections and starts
    /// publishing per `opts` once the publish connection is up.
    pub async fn connect(ws_url: &str, token: &str, opts: ClientOptions) -> anyhow::Result<Self> {
        Self::connect_with(Signal::connect(ws_url).await?, token, opts).await
    }

    /// Like [`Client::connect`], printing every signaling message both ways.
    pub async fn connect_traced(
        ws_url: &str,
        token: &str,
        opts: ClientOptions,
    ) -> anyhow::Result<Self> {
        Self::connect_with(Signal::connect_with(ws_url, true).await?, token, opts).await
    }

    async fn connect_with(
        mut signal: Signal,
        token: &str,
        opts: ClientOptions,
    ) -> anyhow::Result<Self> {
        signal.send_json(&join_msg(token))?;
        let mut early = Vec::new();
        let joined = loop {
            match signal.recv_timeout(Duration::from_secs(20)).await {
                Some(Incoming::Msg(v)) if v["type"] == "joined" => break v,
                Some(Incoming::Msg(v)) => {
                    if let Some(code) = error_code(&v) {
                        bail!("join refused: {code} ({v})");
                    }
                    early.push(v);
                }
                Some(Incoming::Closed(code)) => bail!("socket closed ({code:?}) before joined"),
                None => bail!("no `joined` within 20 s"),
            }
        };
        let joined_at = Instant::now();
        let id = joined["participant"]["id"]
            .as_str()
            .ok_or_else(|| anyhow!("joined without participant.id: {joined}"))?
            .to_owned();
        signal.start_pings();
        let (sender, rx, opened_at, mut tasks) = signal.into_parts();

        let shared = Arc::new(Shared::default());
        if let Ok(mut e) = shared.events.lock() {
            e.extend(early);
        }
        if let Ok(mut r) = shared.received.lock() {
            r.decode_audio = opts.decode_audio;
        }
        let sub_gate = Arc::new(Mutex::new(Gate::default()));
        let sub_pc = build_pc(
            Arc::new(PcHandler {
                pc: "subscribe",
                sender: sender.clone(),
                gate: sub_gate.clone(),
                shared: shared.clone(),
            }),
            opts.tcp_only,
        )
        .await
        .context("building the subscribe connection")?;
        let publishing =
            opts.tone_hz.is_some() || opts.video_bps.is_some() || opts.simulcast.is_some();
        let pub_gate = Arc::new(Mutex::new(Gate::default()));
        let pub_pc = if publishing {
            Some(
                build_pc_with(
                    Arc::new(PcHandler {
                        pc: "publish",
                        sender: sender.clone(),
                        gate: pub_gate.clone(),
                        shared: shared.clone(),
                    }),
                    opts.tcp_only,
                    opts.simulcast.is_some(),
                )
                .await
                .context("building the publish connection")?,
            )
        } else {
            None
        };

        let _ = shared.me.set(id.clone());
        tasks.push(tokio::spawn(dispatch(
            rx,
            sender.clone(),
            shared.clone(),
            pub_pc.clone(),
            sub_pc.clone(),
            sub_gate,
            opts.tcp_only,
        )));

        let mut client = Client {
            id,
            joined,
            opened_at,
            joined_at,
            sender: sender.clone(),
            shared: shared.clone(),
            publisher: None,
            pub_pc: pub_pc.clone(),
            sub_pc,
            tasks,
            closed: false,
        };
        if let Some(pc) = pub_pc {
            let (publisher, offer) = publish::prepare(&pc, &opts).await?;
            sender.send_json(&offer)?;
            open_gate(&pub_gate, &sender);
            let started = publisher.start(pc, shared, opts);
            client.tasks.push(started);
            client.publisher = Some(publisher);
        }
        Ok(client)
    }

    pub fn sender(&self) -> &SignalSender {
        &self.sender
    }

    /// Every server message so far (after `joined`, pongs excluded).
    pub fn events(&self) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    /// The `error` messages the server sent (without copying the other events).
    pub fn errors(&self) -> Vec<Value> {
        self.shared
            .events
            .lock()
            .map(|e| e.iter().filter(|v| v["type"] == "error").cloned().collect())
            .unwrap_or_default()
    }

    /// Client-side failures (failed negotiation steps).
    pub fn failures(&self) -> Vec<String> {
        self.shared
            .failures
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }

    pub fn pongs(&self) -> u64 {
        self.shared.pongs.load(Ordering::Relaxed)
    }

    pub fn keyframe_requests(&self) -> u64 {
        self.shared.keyframe_requests.load(Ordering::Relaxed)
    }

    pub fn subscribe_offers(&self) -> u64 {
        self.shared.subscribe_offers.load(Ordering::Relaxed)
    }

    /// The close code if the server closed the socket.
    pub fn closed_by_server(&self) -> Option<Option<u16>> {
        self.shared.closed.lock().ok().and_then(|c| *c)
    }

    pub fn publish_state(&self) -> Option<RTCPeerConnectionState> {
        self.shared.pub_state.lock().ok().and_then(|s| *s)
    }

    pub fn subscribe_state(&self) -> Option<RTCPeerConnectionState> {
        self.shared.sub_state.lock().ok().and_then(|s| *s)
    }

    /// The `tracks` of the latest subscribe offer.
    pub fn subscribed_tracks(&self) -> Vec<Value> {
        self.shared
            .sub_tracks
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    pub fn stream(&self, participant: &str, kind: Kind) -> Option<StreamSnapshot> {
        self.shared
            .received
            .lock()
            .ok()?
            .snapshot(participant, kind)
    }

    /// The dominant tone in the last `seconds` of `participant`'s audio.
    pub fn tone(&self, participant: &str, seconds: f32) -> Option<crate::media::ToneReport> {
        self.shared.received.lock().ok()?.tone(participant, seconds)
    }

    pub fn share_at(&self, participant: &str, freq: f32, seconds: f32) -> Option<f32> {
        self.shared
            .received
            .lock()
            .ok()?
            .share_at(participant, freq, seconds)
    }

    /// Participants we received any media from.
    pub fn senders_seen(&self) -> Vec<String> {
        self.shared
            .received
            .lock()
            .map(|r| r.participants())
            .unwrap_or_default()
    }

    pub fn first_video_at(&self) -> Option<Instant> {
        self.shared.received.lock().ok()?.first_video_at()
    }

    /// Sends a picture loss indication for `participant`'s video, as a decoder would.
    pub async fn request_keyframe(&self, participant: &str) -> anyhow::Result<()> {
        let track = self
            .shared
            .video_tracks
            .lock()
            .ok()
            .and_then(|v| v.get(participant).cloned())
            .with_context(|| format!("no video from {participant}"))?;
        let ssrc = track.ssrcs().await.first().copied().context("no SSRC")?;
        let pli = rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        };
        track.write_rtcp(vec![Box::new(pli)]).await?;
        Ok(())
    }

    /// One-way delays (µs) of stamped video frames from `participant`, since the last
    /// `reset_loss`.
    pub fn delays_us(&self, participant: &str) -> Vec<u32> {
        self.shared
            .received
            .lock()
            .map(|r| r.delays_us(participant))
            .unwrap_or_default()
    }

    pub fn reset_loss(&self) {
        if let Ok(mut r) = self.shared.received.lock() {
            r.reset_loss();
        }
    }

    /// Packets received from `participant`, audio + video.
    pub fn packets_from(&self, participant: &str) -> u64 {
        [Kind::Audio, Kind::Video]
            .iter()
            .filter_map(|k| self.stream(participant, *k))
            .map(|s| s.packets)
            .sum()
    }

    /// Packets sent so far (audio, video).
    pub fn sent(&self) -> (u64, u64) {
        self.publisher.as_ref().map(|p| p.sent()).unwrap_or((0, 0))
    }

    pub fn send_json(&self, v: &Value) -> anyhow::Result<()> {
        self.sender.send_json(v)
    }

    /// Tells the server how we show the video `track` (docs/protocol.md, `view`).
    pub fn view(&self, track: &str, quality: Quality) -> anyhow::Result<()> {
        self.sender
            .send_json(&json!({"type": "view", "track": track, "quality": quality.as_str()}))
    }

    /// The track id of `participant`'s camera among the tracks we receive (per the
    /// latest subscribe offer).
    pub fn video_track_of(&self, participant: &str) -> Option<String> {
        self.subscribed_tracks()
            .iter()
            .find(|t| t["participant_id"] == participant && t["source"] == "camera")
            .and_then(|t| t["track_id"].as_str())
            .map(str::to_owned)
    }

    /// Our simulcast encodings the server has paused (lowest first), and how many
    /// `layers` messages came.
    pub fn layers_paused(&self) -> ([bool; 3], u64) {
        let p = self
            .shared
            .layers_paused
            .lock()
            .map(|p| *p)
            .unwrap_or_default();
        (p, self.shared.layers_messages.load(Ordering::Relaxed))
    }

    /// The largest `subscribe_answer` message sent so far, in bytes.
    pub fn largest_subscribe_answer(&self) -> u64 {
        self.shared.largest_answer.load(Ordering::Relaxed)
    }

    /// The latest `active_speakers` ranking (loudest first), empty before the first.
    pub fn active_speakers(&self) -> Vec<String> {
        self.shared
            .speakers
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Sends `leave`, waits (up to `timeout`) for `bye` and the close, then closes both
    /// peer connections. Returns the `bye` reason if one came.
    pub async fn leave(mut self, timeout: Duration) -> anyhow::Result<Option<String>> {
        self.sender.send_json(&json!({"type": "leave"}))?;
        let bye = wait_for(timeout, || {
            self.events()
                .iter()
                .find(|e| e["type"] == "bye")
                .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        })
        .await;
        self.close().await;
        Ok(bye)
    }

    /// Closes both peer connections and the socket without saying goodbye.
    pub async fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(p) = &self.publisher {
            p.stop();
        }
        // Stop the dispatcher and the socket first, so no negotiation races the close.
        self.tasks = Tasks::default();
        if let Some(pc) = &self.pub_pc {
            let _ = pc.close().await;
        }
        let _ = self.sub_pc.close().await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // A peer connection dropped without close() leaks its task and sockets.
        let pcs: Vec<Arc<dyn PeerConnection>> = self
            .pub_pc
            .iter()
            .cloned()
            .chain(std::iter::once(self.sub_pc.clone()))
            .collect();
        if let Some(p) = &self.publisher {
            p.stop();
        }
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                for pc in pcs {
                    let _ = pc.close().await;
                }
            });
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some`, or `timeout` passes.
/// Waits until `listener` hears `speaker`'s tone: the dominant frequency of the last half
/// second of its decoded audio is `freq` (±10 Hz) and carries most of the power.
pub async fn hears_tone(
    listener: &Client,
    speaker: &Client,
    freq: f32,
    timeout: Duration,
) -> Option<crate::media::ToneReport> {
    wait_for(timeout, || {
        listener
            .tone(&speaker.id, 0.5)
            .filter(|t| (t.peak_hz - freq).abs() <= 10.0 && t.peak_share > 0.5)
    })
    .await
}

pub async fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`wait_for`] for a condition; the error names what was awaited.
pub async fn wait_until(
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    wait_for(timeout, || f().then_some(()))
        .await
        .ok_or_else(|| anyhow!("timed out after {timeout:?} waiting for {what}"))
}

/// Applies server messages in order: descriptions, candidates; records the rest.
async fn dispatch(
    mut rx: mpsc::UnboundedReceiver<Incoming>,
    sender: SignalSender,
    shared: Arc<Shared>,
    pub_pc: Option<Arc<dyn PeerConnection>>,
    sub_pc: Arc<dyn PeerConnection>,
    sub_gate: Arc<Mutex<Gate>>,
    tcp_only: bool,
) {
    let mut sub_tcp_dialed = false;
    // Candidates that arrive before their connection has a remote description.
    let mut pending_pub: Vec<RTCIceCandidateInit> = Vec::new();
    let mut pending_sub: Vec<RTCIceCandidateInit> = Vec::new();
    while let Some(inc) = rx.recv().await {
        let msg = match inc {
            Incoming::Msg(v) => v,
            Incoming::Closed(code) => {
                if let Ok(mut c) = shared.closed.lock() {
                    *c = Some(code);
                }
                break;
            }
        };
        let ty = msg["type"].as_str().unwrap_or_default().to_owned();
        if ty == "pong" {
            shared.pongs.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Ok(mut e) = shared.events.lock() {
            e.push(msg.clone());
        }
        match ty.as_str() {
            "subscribe_offer" => {
                shared.subscribe_offers.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut t) = shared.sub_tracks.lock() {
                    *t = msg["tracks"].as_array().cloned().unwrap_or_default();
                }
                let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                match answer_subscribe(&sub_pc, sdp.clone()).await {
                    Ok(answer) => {
                        if tcp_only && !sub_tcp_dialed {
                            sub_tcp_dialed = true;
                            dial_tcp_candidates_in(&sub_pc, &sdp, &shared).await;
                        }
                        let msg = json!({"type": "subscribe_answer", "sdp": answer}).to_string();
                        shared
                            .largest_answer
                            .fetch_max(msg.len() as u64, Ordering::Relaxed);
                        let _ = sender.send_text(msg);
                        open_gate(&sub_gate, &sender);
                        for c in pending_sub.drain(..) {
                            if let Err(e) = sub_pc.add_ice_candidate(c).await {
                                shared.fail(format!("subscribe add_ice_candidate: {e}"));
                            }
                        }
                    }
                    Err(e) => shared.fail(format!("subscribe_offer: {e:#}")),
                }
            }
            "publish_answer" => {
                let Some(pc) = &pub_pc else {
                    shared.fail("publish_answer without a publish connection".into());
                    continue;
                };
                let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                let res = match RTCSessionDescription::answer(sdp.clone()) {
                    Ok(d) => pc.set_remote_description(d).await,
                    Err(e) => Err(e),
                };
                match res {
                    Ok(()) => {
                        if tcp_only {
                            dial_tcp_candidates_in(pc, &sdp, &shared).await;
                        }
                        for c in pending_pub.drain(..) {
                            if let Err(e) = pc.add_ice_candidate(c).await {
                                shared.fail(format!("publish add_ice_candidate: {e}"));
                            }
                        }
                    }
                    Err(e) => shared.fail(format!("publish_answer: {e}")),
                }
            }
            "candidate" => {
                let c = &msg["candidate"];
                let init = RTCIceCandidateInit {
                    candidate: c["candidate"].as_str().unwrap_or_default().to_owned(),
                    sdp_mid: c["sdpMid"].as_str().map(str::to_owned),
                    sdp_mline_index: c["sdpMLineIndex"].as_u64().map(|i| i as u16),
                    ..Default::default()
                };
                let (pc, pending) = match msg["pc"].as_str() {
                    Some("publish") => match &pub_pc {
                        Some(pc) => (pc.clone(), &mut pending_pub),
                        None => continue,
                    },
                    _ => (sub_pc.clone(), &mut pending_sub),
                };
                if init.candidate.is_empty() {
                    continue; // end-of-candidates
                }
                if pc.remote_description().await.is_some() {
                    if let Err(e) = pc.add_ice_candidate(init).await {
                        shared.fail(format!("add_ice_candidate: {e}"));
                    }
                } else {
                    pending.push(init);
                }
            }
            "track_published"
                if shared
                    .me
                    .get()
                    .is_some_and(|me| msg["participant_id"] == me.as_str()) =>
            {
                if msg["source"] == "camera"
                    && let (Some(t), Ok(mut c)) =
                        (msg["track_id"].as_str(), shared.camera_track.lock())
                {
                    *c = Some(t.to_owned());
                }
            }
            "layers" => apply_layers(&shared, &msg),
            "active_speakers" => {
                let ids = msg["participants"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                });
                if let (Some(ids), Ok(mut s)) = (ids, shared.speakers.lock()) {
                    *s = ids;
                }
            }
            _ => {}
        }
    }
}

/// The server's `layers` message: pause the encodings of our camera nobody receives.
/// Only the camera is ever simulcast; until its `track_published` arrives any `layers`
/// message can only be about it.
fn apply_layers(shared: &Shared, msg: &Value) {
    let ours = shared
        .camera_track
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .is_none_or(|t| msg["track"].as_str() == Some(t.as_str()));
    let Some(active) = msg["active"].as_array() else {
        shared.fail(format!("layers without an `active` list: {msg}"));
        return;
    };
    if !ours {
        return;
    }
    if let Ok(mut p) = shared.layers_paused.lock() {
        for (i, slot) in p.iter_mut().enumerate() {
            // An encoding the server does not mention stays as it is.
            if let Some(on) = active.get(i).and_then(Value::as_bool) {
                *slot = !on;
            }
        }
    }
    shared.layers_messages.fetch_add(1, Ordering::Relaxed);
}

/// webrtc-rs 0.21 dials a remote passive ICE-TCP candidate only when it arrives through
/// `add_ice_candidate`, not when it is in the remote description; browsers dial both.
/// So the passive TCP candidates of a description are added again, as if trickled.
async fn dial_tcp_candidates_in(pc: &Arc<dyn PeerConnection>, sdp: &str, shared: &Shared) {
    let mut mid: Option<String> = None;
    let mut index: i32 = -1;
    let mut done = false;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            index += 1;
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.trim().to_owned());
        } else if let Some(c) = line.strip_prefix("a=")
            && c.starts_with("candidate:")
            && c.contains(" tcp ")
            && c.contains("tcptype passive")
            && !done
        {
            // With BUNDLE one m-section's candidates serve all; the first suffices.
            let init = RTCIceCandidateInit {
                candidate: c.trim().to_owned(),
                sdp_mid: mid.clone(),
                sdp_mline_index: u16::try_from(index.max(0)).ok(),
                ..Default::default()
            };
            if let Err(e) = pc.add_ice_candidate(init).await {
                shared.fail(format!("adding the SDP's ICE-TCP candidate: {e}"));
            }
            if line.contains(" 1 tcp ") {
                done = true;
            }
        }
    }
}

pub(crate) async fn answer_subscribe(
    pc: &Arc<dyn PeerConnection>,
    sdp: String,
) -> anyhow::Result<String> {
    pc.set_remote_description(RTCSessionDescription::offer(sdp.clone())?)
        .await?;
    let answer = pc.create_answer(None).await?;
    pc.set_local_description(answer).await?;
    let local = pc
        .local_description()
        .await
        .ok_or_else(|| anyhow!("no local description after set_local_description"))?;
    Ok(local.sdp)
}

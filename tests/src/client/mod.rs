//! A Rust WebRTC participant that speaks docs/protocol.md: one signaling WebSocket,
//! a publish connection (it offers a sendonly Opus tone and sendonly fake VP8 video)
//! and a subscribe connection (the server offers; it answers). Every packet received is
//! credited to the participant whose source its m-line carries at that moment, per the
//! mid map of the latest applied `subscribe_offer` or `slots` message ([`slots`]).

mod dispatch;
mod observe;
mod options;
mod slots;

#[cfg(test)]
pub(crate) use dispatch::answer_subscribe;
use dispatch::dispatch;
pub use options::{ClientOptions, Quality, TalkSpurts};
pub use slots::PublishedTrack;
use slots::{MidMap, Room};

use crate::publish::{self, Publisher};
use crate::recv::{Kind, Received, StreamSnapshot};
use crate::rtc_setup::{build_pc, build_pc_with};
use crate::signal::{Incoming, Signal, SignalSender, Tasks, error_code, join_msg_viewing};
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

/// State shared between the client, its dispatcher task and the WebRTC callbacks.
/// Public so a publisher can be driven by other signaling (the benchmark's Janus peers):
/// [`publish::Publisher::start`] reads the publish state and counts keyframe requests here.
#[derive(Default)]
pub struct Shared {
    /// Every server message after `joined`, in arrival order (pongs excluded).
    events: Mutex<Vec<Value>>,
    pub(crate) received: Mutex<Received>,
    /// What each m-line of the subscribe connection carries now: the `tracks` of the
    /// latest applied `subscribe_offer`, or of a later `slots` message.
    mids: Mutex<MidMap>,
    /// `slots` messages applied.
    slots_messages: AtomicU64,
    /// The subscribe connection, to find the mid of a remote track.
    sub_pc: std::sync::OnceLock<std::sync::Weak<dyn PeerConnection>>,
    /// The tracks published in the room and the floor holder, from the signaling.
    room: Mutex<Room>,
    /// Bumped whenever `room` changes.
    room_version: AtomicU64,
    /// Things that went wrong on the client side (a failed setRemoteDescription, ...).
    failures: Mutex<Vec<String>>,
    /// Set when the server closed the socket: the close code, if any.
    closed: Mutex<Option<Option<u16>>>,
    pub(crate) pub_state: Mutex<Option<RTCPeerConnectionState>>,
    sub_state: Mutex<Option<RTCPeerConnectionState>>,
    pub(crate) keyframe_requests: AtomicU64,
    pongs: AtomicU64,
    subscribe_offers: AtomicU64,
    /// The video tracks of the subscribe connection, by mid, to send keyframe requests
    /// to whatever an m-line carries.
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

    /// Replaces the mid map (an applied subscribe offer's `tracks`, or `slots`).
    pub(crate) fn set_mids(&self, tracks: Vec<Value>) {
        if let Ok(mut m) = self.mids.lock() {
            *m = MidMap::from_tracks(tracks);
        }
    }

    /// The subscribe connection whose remote tracks this client records.
    pub(crate) fn set_sub_pc(&self, pc: &Arc<dyn PeerConnection>) {
        let _ = self.sub_pc.set(Arc::downgrade(pc));
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
        // Only the subscribe connection receives media.
        if self.pc != "subscribe" {
            return;
        }
        let shared = self.shared.clone();
        tokio::spawn(async move { record_track(track, shared).await });
    }
}

/// Counts a remote track's packets. The track's m-line (mid) is found once; which
/// participant a packet is credited to is looked up in the mid map as it arrives, since
/// the server may move another source into the slot at any time (`slots`).
async fn record_track(track: Arc<dyn TrackRemote>, shared: Arc<Shared>) {
    let kind = match track.kind().await {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    };
    let mid = match shared.sub_pc.get() {
        Some(pc) => crate::rtc_setup::mid_of(pc, &track).await,
        None => None,
    };
    if mid.is_none() {
        shared.fail(format!(
            "no mid for the remote {kind:?} track {}",
            track.track_id().await
        ));
    }
    if kind == Kind::Video
        && let Some(mid) = &mid
        && let Ok(mut v) = shared.video_tracks.lock()
    {
        v.insert(mid.clone(), track.clone());
    }
    let carried = || {
        let mid = mid.as_deref()?;
        shared.mids.lock().ok()?.get(mid)
    };
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                let now = carried();
                if let Ok(mut r) = shared.received.lock() {
                    match now {
                        Some(c) => r.record(&c.participant, kind, &c.key, &pkt),
                        None => r.record_unattributed(kind),
                    }
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    if let Some(c) = carried()
        && let Ok(mut r) = shared.received.lock()
    {
        r.mark_ended(&c.participant, kind);
    }
    if let Some(mid) = &mid
        && let Ok(mut v) = shared.video_tracks.lock()
        && v.get(mid).is_some_and(|t| Arc::ptr_eq(t, &track))
    {
        v.remove(mid);
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
        signal.send_json(&join_msg_viewing(
            token,
            opts.default_view.map(Quality::as_str),
        ))?;
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
        if let Ok(mut room) = shared.room.lock() {
            *room = Room::from_joined(&joined);
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
        shared.set_sub_pc(&sub_pc);
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

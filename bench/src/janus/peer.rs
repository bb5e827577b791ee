//! WebRTC participants of a Janus VideoRoom, built from the test client's parts: the same
//! peer connections (`rtc_setup::build_pc`), the same publisher (Opus tone + synthetic
//! VP8 with send-time stamps, `publish`), the same receive bookkeeping (`recv`). Only the
//! signaling differs: Janus's REST API instead of our WebSocket.

use super::api::{Api, Jsep, Session};
use anyhow::{Context, anyhow};
use bridge_e2e::client::{ClientOptions, Shared};
use bridge_e2e::publish::{self, Publisher};
use bridge_e2e::recv::{Kind, Received, StreamSnapshot};
use bridge_e2e::rtc_setup::build_pc;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription,
};

pub const VIDEOROOM: &str = "janus.plugin.videoroom";
/// Subscribers record the publisher's streams under this name.
pub const PUBLISHER: &str = "publisher";
/// How long one plugin request may take (join, publish, start) on a loaded machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A local candidate on its way to Janus, or the end of gathering.
enum Trickle {
    Candidate(Value),
    Completed,
}

/// What a subscriber received, shared with its track tasks.
#[derive(Default)]
struct RecvSide {
    received: Mutex<Received>,
    video: Mutex<Option<Arc<dyn TrackRemote>>>,
}

struct Handler {
    trickle: mpsc::UnboundedSender<Trickle>,
    /// The publisher's state, read by `Publisher::start`.
    publish: Option<Arc<Shared>>,
    recv: Option<Arc<RecvSide>>,
}

/// Janus rejects a trickled candidate whose `sdpMid` is not a string, so an unknown mid
/// is left out rather than sent as null.
fn candidate_json(candidate: &str, mid: Option<&str>, mline: Option<u16>) -> Value {
    let mut c = json!({ "candidate": candidate });
    if let Some(m) = mid.filter(|m| !m.is_empty()) {
        c["sdpMid"] = json!(m);
    }
    if let Some(i) = mline {
        c["sdpMLineIndex"] = json!(i);
    }
    c
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let c = candidate_json(
                &init.candidate,
                init.sdp_mid.as_deref(),
                init.sdp_mline_index,
            );
            let _ = self.trickle.send(Trickle::Candidate(c));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.trickle.send(Trickle::Completed);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if let Some(shared) = &self.publish {
            shared.set_publish_state(state);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(recv) = self.recv.clone() {
            tokio::spawn(record_track(track, recv));
        }
    }
}

async fn record_track(track: Arc<dyn TrackRemote>, recv: Arc<RecvSide>) {
    let msid_track = track.track_id().await.to_string();
    let kind = match track.kind().await {
        RtpCodecKind::Audio => Kind::Audio,
        _ => Kind::Video,
    };
    if kind == Kind::Video
        && let Ok(mut v) = recv.video.lock()
    {
        *v = Some(track.clone());
    }
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                if let Ok(mut r) = recv.received.lock() {
                    r.record(PUBLISHER, kind, &msid_track, &pkt);
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    if let Ok(mut r) = recv.received.lock() {
        r.mark_ended(PUBLISHER, kind);
    }
}

/// Forwards local candidates to Janus. Started once our description has been sent, so
/// Janus never gets a candidate for a handle that has no remote description yet; until
/// then the channel holds them.
fn forward_trickles(
    session: Arc<Session>,
    handle: u64,
    mut rx: mpsc::UnboundedReceiver<Trickle>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(t) = rx.recv().await {
            let c = match t {
                Trickle::Candidate(c) => c,
                Trickle::Completed => json!({"completed": true}),
            };
            if let Err(e) = session.trickle(handle, c).await {
                eprintln!("[janus] {e:#}");
            }
        }
    })
}

/// One session + one VideoRoom handle + one peer connection.
struct Peer {
    session: Arc<Session>,
    handle: u64,
    pc: Arc<dyn PeerConnection>,
    tasks: Vec<JoinHandle<()>>,
    closed: bool,
}

impl Peer {
    async fn new(
        api: &Api,
        publish: Option<Arc<Shared>>,
        recv: Option<Arc<RecvSide>>,
    ) -> anyhow::Result<(Peer, mpsc::UnboundedReceiver<Trickle>)> {
        let session = Arc::new(api.create_session().await?);
        let handle = session.attach(VIDEOROOM).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let handler = Handler {
            trickle: tx,
            publish,
            recv,
        };
        let pc = build_pc(Arc::new(handler), false)
            .await
            .context("building a peer connection")?;
        let peer = Peer {
            session,
            handle,
            pc,
            tasks: Vec::new(),
            closed: false,
        };
        Ok((peer, rx))
    }

    async fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.pc.close().await;
        let _ = self.session.destroy().await;
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        for t in &self.tasks {
            t.abort();
        }
        // A peer connection dropped without close() leaks its task and sockets.
        let pc = self.pc.clone();
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}

/// The VideoRoom publisher: joins with `ptype: publisher`, publishes its offer.
pub struct JanusPublisher {
    /// The feed id subscribers ask for.
    pub feed: u64,
    peer: Peer,
    publisher: Publisher,
    shared: Arc<Shared>,
}

impl JanusPublisher {
    pub async fn join(
        api: &Api,
        room: u64,
        display: &str,
        opts: ClientOptions,
    ) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let (mut peer, trickles) = Peer::new(api, Some(shared.clone()), None).await?;
        let (joined, _) = peer
            .session
            .message(
                peer.handle,
                json!({"request": "join", "ptype": "publisher", "room": room, "display": display}),
                None,
                REQUEST_TIMEOUT,
            )
            .await?;
        let feed = joined["id"]
            .as_u64()
            .with_context(|| format!("the publisher's `joined` has no numeric id: {joined}"))?;
        let (publisher, offer) = publish::prepare(&peer.pc, &opts).await?;
        let offer = Jsep {
            kind: "offer".into(),
            sdp: offer["sdp"]
                .as_str()
                .context("the publish offer has no SDP")?
                .to_owned(),
        };
        let session = peer.session.clone();
        let pending = session
            .send(peer.handle, json!({"request": "publish"}), Some(&offer))
            .await?;
        // The candidates may go once Janus has the offer.
        peer.tasks
            .push(forward_trickles(session.clone(), peer.handle, trickles));
        let (_, answer) = session.answer(pending, REQUEST_TIMEOUT).await?;
        let answer = answer.context("Janus configured the publisher without an answer")?;
        peer.pc
            .set_remote_description(RTCSessionDescription::answer(answer.sdp)?)
            .await
            .context("applying Janus's answer")?;
        peer.tasks
            .push(publisher.start(peer.pc.clone(), shared.clone(), opts));
        // Janus lists the feed only once the publisher's PeerConnection is up.
        session.webrtc_up(REQUEST_TIMEOUT).await?;
        Ok(JanusPublisher {
            feed,
            peer,
            publisher,
            shared,
        })
    }

    /// Keyframe requests (PLI/FIR from Janus) that reached the publisher so far.
    pub fn keyframe_requests(&self) -> u64 {
        self.shared.keyframe_requests()
    }

    pub async fn close(mut self) {
        self.publisher.stop();
        self.peer.close().await;
    }
}

/// A VideoRoom subscriber (multistream join): Janus offers, it answers with `start`.
pub struct JanusSubscriber {
    /// When it started joining (session creation): the join-time clock starts here.
    pub opened_at: Instant,
    peer: Peer,
    recv: Arc<RecvSide>,
}

impl JanusSubscriber {
    pub async fn join(api: &Api, room: u64, feed: u64) -> anyhow::Result<Self> {
        let opened_at = Instant::now();
        let recv = Arc::new(RecvSide::default());
        let (mut peer, trickles) = Peer::new(api, None, Some(recv.clone())).await?;
        let body = json!({
            "request": "join", "ptype": "subscriber", "room": room,
            "streams": [{"feed": feed}],
        });
        let (_, offer) = peer
            .session
            .message(peer.handle, body, None, REQUEST_TIMEOUT)
            .await?;
        let offer = offer.context("Janus attached the subscriber without an offer")?;
        if offer.kind != "offer" {
            return Err(anyhow!(
                "expected an offer from Janus, got a {}",
                offer.kind
            ));
        }
        peer.pc
            .set_remote_description(RTCSessionDescription::offer(offer.sdp)?)
            .await
            .context("applying Janus's offer")?;
        let answer = peer.pc.create_answer(None).await?;
        peer.pc.set_local_description(answer).await?;
        let sdp = peer
            .pc
            .local_description()
            .await
            .context("no local description after set_local_description")?
            .sdp;
        let answer = Jsep {
            kind: "answer".into(),
            sdp,
        };
        let session = peer.session.clone();
        let pending = session
            .send(peer.handle, json!({"request": "start"}), Some(&answer))
            .await?;
        peer.tasks
            .push(forward_trickles(session.clone(), peer.handle, trickles));
        session.answer(pending, REQUEST_TIMEOUT).await?;
        Ok(JanusSubscriber {
            opened_at,
            peer,
            recv,
        })
    }

    pub fn stream(&self, kind: Kind) -> Option<StreamSnapshot> {
        self.recv.received.lock().ok()?.snapshot(PUBLISHER, kind)
    }

    /// RTP packets received so far, audio + video.
    pub fn packets(&self) -> u64 {
        [Kind::Audio, Kind::Video]
            .iter()
            .filter_map(|k| self.stream(*k))
            .map(|s| s.packets)
            .sum()
    }

    /// RTP payload bytes received so far, audio + video.
    pub fn bytes(&self) -> u64 {
        [Kind::Audio, Kind::Video]
            .iter()
            .filter_map(|k| self.stream(*k))
            .map(|s| s.bytes)
            .sum()
    }

    pub fn first_video_at(&self) -> Option<Instant> {
        self.recv.received.lock().ok()?.first_video_at()
    }

    pub fn delays_us(&self) -> Vec<u32> {
        self.recv
            .received
            .lock()
            .map(|r| r.delays_us(PUBLISHER))
            .unwrap_or_default()
    }

    pub fn reset_loss(&self) {
        if let Ok(mut r) = self.recv.received.lock() {
            r.reset_loss();
        }
    }

    /// Sends a picture loss indication for the received video, as a decoder would.
    pub async fn request_keyframe(&self) -> anyhow::Result<()> {
        let track = self
            .recv
            .video
            .lock()
            .ok()
            .and_then(|v| v.clone())
            .context("no video received yet")?;
        let ssrc = track.ssrcs().await.first().copied().context("no SSRC")?;
        let pli = rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        };
        track.write_rtcp(vec![Box::new(pli)]).await?;
        Ok(())
    }

    pub async fn close(mut self) {
        self.peer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::candidate_json;
    use serde_json::json;

    #[test]
    fn trickled_candidates_never_carry_a_null_mid() {
        let c = candidate_json(
            "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host",
            Some(""),
            Some(0),
        );
        assert_eq!(
            c,
            json!({"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "sdpMLineIndex": 0})
        );
        let c = candidate_json("candidate:x", Some("0"), None);
        assert_eq!(c, json!({"candidate": "candidate:x", "sdpMid": "0"}));
    }
}

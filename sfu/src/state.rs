//! All media-plane state, owned by one loop: connections, participants, rooms and
//! published tracks. No sockets here: datagrams come in through
//! [`State::handle_datagram`] and go out through [`State::drain`]; time is passed in.

use crate::api::*;
use crate::demux;
use crate::engine::{self, Role};
use crate::forward::{KeyframeGate, NackLimiter, PacketCache, Rewriter};
use crate::layers::{LayerSwitch, MAX_LAYERS, RateMeter, View};
use bytes::BytesMut;
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tracing::{debug, trace};

pub type ConnId = u64;
pub type Flow = (TransportProtocol, SocketAddr);

pub struct Conn {
    pub pc: RTCPeerConnection,
    pub owner: ParticipantId,
    pub kind: PcKind,
    /// Every local ICE ufrag this connection has had (a restart adds one); the demux
    /// maps each to it until it closes.
    pub ufrags: Vec<String>,
    pub flows: Vec<Flow>,
    /// Publish side: the rtc track id of each inbound track -> our TrackId.
    pub in_tracks: HashMap<String, TrackId>,
    pub touched: bool,
    /// DTLS/SRTP is up: media written before that is only dropped (noisily) by rtc.
    pub connected: bool,
    /// The connection's next timer, refreshed whenever it is touched (asking every
    /// connection's pipeline on every loop turn costs more than the forwarding).
    pub timeout: Option<Instant>,
    /// Subscribe side: the bandwidth estimate in bit/s (0: none yet), see engine.rs.
    pub estimate: Option<Arc<AtomicU64>>,
}

/// One m-line of a subscribe connection: a *slot*. Which published track fills it is
/// the choice of `slots.rs` and changes without renegotiation (the [`Rewriter`] keeps
/// the outbound stream continuous), so a conference of hundreds of sites costs each
/// subscriber a few m-lines, not one per track in the room.
pub struct Subscription {
    pub sender: RTCRtpSenderId,
    /// The track id on the subscriber's connection (names the slot, not its source).
    pub rtc_track_id: String,
    /// Known once the slot has been offered.
    pub mid: Option<String>,
    pub audio: bool,
    /// Sources of another codec cannot share the m-line.
    pub codec: RTCRtpCodec,
    pub ssrc: u32,
    /// None until the subscriber's answer says how to send.
    pub rewriter: Option<Rewriter>,
    pub nack: NackLimiter,
    /// The track it forwards now.
    pub source: Option<TrackId>,
    /// Which simulcast layer of `source` it receives, and which it moves to.
    pub switch: LayerSwitch,
    /// Video: the track that replaces `source` at its first keyframe (until then the
    /// old picture goes on), with the layer it starts at.
    pub next: Option<(TrackId, LayerSwitch)>,
}

pub struct Participant {
    pub room: RoomId,
    pub events: UnboundedSender<SfuEvent>,
    pub publish: Option<ConnId>,
    pub subscribe: Option<ConnId>,
    pub specs: Vec<TrackSpec>,
    /// The subscribe connection's m-lines, never removed while it lives (their
    /// indices are kept in `Published::subscribers`).
    pub slots: Vec<Subscription>,
    /// How the client shows each video (`view`); others are shown as `default_view`.
    pub views: HashMap<TrackId, View>,
    pub default_view: View,
    pub offer_outstanding: bool,
    pub renegotiate_pending: bool,
    /// When the last subscribe offer went out.
    pub offered_at: Option<Instant>,
    /// The client asked for an ICE restart while an offer was outstanding: the
    /// restart offer follows its answer.
    pub restart_pending: bool,
    /// Since when a wanted source has found no free slot (negotiate.rs adds slots
    /// with the next paced offer); None: every wanted source has one.
    pub changed_at: Option<Instant>,
    /// The next subscribe offer may not go out before this.
    pub next_offer_at: Option<Instant>,
    /// The room's chair has closed this participant's microphone: its audio is not
    /// forwarded (see gate.rs).
    pub audio_blocked: bool,
}

impl Participant {
    pub fn send(&self, event: SfuEvent) {
        // The session may already be gone; its leave() will follow.
        let _ = self.events.send(event);
    }

    pub fn view_of(&self, track: &TrackId) -> View {
        self.views.get(track).copied().unwrap_or(self.default_view)
    }
}

pub struct Published {
    pub owner: ParticipantId,
    pub room: RoomId,
    pub source: TrackSource,
    pub mid: String,
    pub conn: ConnId,
    pub receiver: RTCRtpReceiverId,
    pub codec: RTCRtpCodec,
    /// By quality, lowest first; a video without simulcast has only layer 0.
    pub layers: [Option<Layer>; MAX_LAYERS],
    /// The `layers` event last sent to the publisher (which encodings to send).
    pub layers_announced: Option<[bool; MAX_LAYERS]>,
    pub in_audio_level_id: Option<u8>,
    pub live: bool,
    pub cache: Option<PacketCache>,
    /// The slots (participant, index in its `slots`) this track fills or is about to.
    pub subscribers: Vec<(ParticipantId, usize)>,
}

/// One encoding of a published track.
pub struct Layer {
    pub rid: String,
    pub ssrc: u32,
    pub rate: RateMeter,
    /// At most one keyframe request per interval reaches the publisher for this layer.
    pub gate: KeyframeGate,
    /// When the publisher was last told to send it again after a pause.
    pub resumed_at: Option<Instant>,
}

impl Layer {
    pub fn new(rid: String, ssrc: u32) -> Self {
        Layer {
            rid,
            ssrc,
            rate: RateMeter::default(),
            gate: KeyframeGate::new(KEYFRAME_INTERVAL),
            resumed_at: None,
        }
    }
}

impl Published {
    /// The layer an inbound SSRC belongs to.
    pub fn layer_of(&self, ssrc: u32) -> Option<usize> {
        self.layers
            .iter()
            .position(|l| l.as_ref().is_some_and(|l| l.ssrc == ssrc))
    }
}

pub struct State {
    pub config: SfuConfig,
    pub udp_local: SocketAddr,
    pub tcp_local: Option<SocketAddr>,
    /// The local port of each open ICE-TCP connection (the media port's listener or
    /// a shared one such as HTTPS), by remote address.
    pub tcp_ports: HashMap<SocketAddr, u16>,
    pub announce: Vec<IpAddr>,
    pub candidates: Vec<IceCandidate>,
    pub conns: HashMap<ConnId, Conn>,
    pub next_conn: ConnId,
    pub by_flow: HashMap<Flow, ConnId>,
    pub by_ufrag: HashMap<String, ConnId>,
    pub participants: HashMap<ParticipantId, Participant>,
    pub rooms: HashMap<RoomId, Vec<ParticipantId>>,
    /// Linked rooms, child -> parent (links.rs).
    pub links: HashMap<RoomId, RoomId>,
    pub published: HashMap<TrackId, Published>,
    pub stats: SfuStats,
    /// Per room, from the audio levels of the microphones being forwarded.
    pub speakers: HashMap<RoomId, crate::speaker::SpeakerDetector>,
    pub touched: Vec<ConnId>,
    /// Datagrams the driver must send: (flow, bytes).
    pub out: Vec<(Flow, BytesMut)>,
    /// When the layers of every subscriber are next chosen.
    pub next_selection: Option<Instant>,
    /// Open live microphones per room, counted at each selection (speaker::audible).
    pub open_mics: HashMap<RoomId, usize>,
    /// Copies of rooms' media for the recorder (tap.rs).
    pub taps: crate::tap::Taps,
    /// When the earliest paced subscribe offer is due (negotiate.rs).
    pub offers_due: Option<Instant>,
    /// Mixed audio for audio-only halls (mix_state.rs).
    pub mixes: crate::mix_state::Mixes,
}

pub const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// About 2 s of 1 Mbit/s video: NACKs older than a couple of round trips are useless.
pub const CACHE_PACKETS: usize = 256;
pub const MAX_RETRANSMISSIONS: u8 = 2;

impl State {
    pub fn new(
        config: SfuConfig,
        udp_local: SocketAddr,
        tcp_local: Option<SocketAddr>,
    ) -> Result<Self, SfuError> {
        let announce = announced_ips(&config, udp_local);
        let tcp_ports: Vec<u16> = tcp_local
            .map(|a| a.port())
            .into_iter()
            .chain(config.shared_tcp_ports.iter().copied())
            .collect();
        let candidates = engine::host_candidates(&announce, udp_local, &tcp_ports)?;
        Ok(Self {
            config,
            udp_local,
            tcp_local,
            tcp_ports: HashMap::new(),
            announce,
            candidates,
            conns: HashMap::new(),
            next_conn: 1,
            by_flow: HashMap::new(),
            by_ufrag: HashMap::new(),
            participants: HashMap::new(),
            rooms: HashMap::new(),
            links: HashMap::new(),
            published: HashMap::new(),
            stats: SfuStats::default(),
            speakers: HashMap::new(),
            touched: Vec::new(),
            out: Vec::new(),
            next_selection: None,
            open_mics: HashMap::new(),
            taps: Default::default(),
            offers_due: None,
            mixes: Default::default(),
        })
    }

    /// The local address ICE must see for a flow: the candidate address the peer
    /// most likely used (the socket may be bound to the unspecified address).
    fn local_for(&self, proto: TransportProtocol, peer: SocketAddr) -> SocketAddr {
        let port = match proto {
            TransportProtocol::TCP => self
                .tcp_ports
                .get(&peer)
                .copied()
                .or(self.tcp_local.map(|a| a.port()))
                .unwrap_or(0),
            _ => self.udp_local.port(),
        };
        let ip = self
            .announce
            .iter()
            .find(|ip| {
                ip.is_loopback() == peer.ip().is_loopback() && ip.is_ipv4() == peer.is_ipv4()
            })
            .or_else(|| self.announce.first())
            .copied()
            .unwrap_or(self.udp_local.ip());
        SocketAddr::new(ip, port)
    }

    pub fn touch(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id)
            && !c.touched
        {
            c.touched = true;
            self.touched.push(id);
        }
    }

    /// One datagram (or one RFC 4571 frame) from `peer`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        proto: TransportProtocol,
        peer: SocketAddr,
        buf: &[u8],
    ) {
        let flow = (proto, peer);
        // Only a binding request names its connection (by our ufrag); RTP/RTCP/DTLS
        // fail the first-byte check at once.
        let named = demux::binding_request_ufrag(buf).and_then(|u| self.by_ufrag.get(u).copied());
        let id = match (self.by_flow.get(&flow).copied(), named) {
            (Some(id), None) => id,
            (Some(id), Some(named)) if id == named => id,
            // A flow learned from our own checks may have come from a candidate that
            // another participant forged with this address; the request of the
            // address's real owner takes it back (rtc checks its MESSAGE-INTEGRITY).
            (_, Some(named)) => {
                self.by_flow.insert(flow, named);
                if let Some(c) = self.conns.get_mut(&named) {
                    c.flows.push(flow);
                }
                named
            }
            (None, None) => {
                self.stats.dropped_datagrams += 1;
                trace!(%peer, len = buf.len(), "dropping datagram from unknown flow");
                return;
            }
        };
        let local = self.local_for(proto, peer);
        let Some(conn) = self.conns.get_mut(&id) else {
            self.by_flow.remove(&flow);
            return;
        };
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: peer,
                ecn: None,
                transport_protocol: proto,
            },
            message: BytesMut::from(buf),
        };
        match guarded(|| conn.pc.handle_read(msg)) {
            Some(Ok(())) => self.touch(id),
            Some(Err(e)) => {
                self.stats.dropped_datagrams += 1;
                debug!(%peer, error = %e, "datagram rejected by connection");
                self.touch(id);
            }
            None => self.fail_conn(id, now),
        }
    }

    /// A transport flow ended (ICE-TCP connection closed).
    pub fn forget_flow(&mut self, flow: Flow) {
        if let Some(id) = self.by_flow.remove(&flow)
            && let Some(c) = self.conns.get_mut(&id)
        {
            c.flows.retain(|f| *f != flow);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<ConnId> = self
            .conns
            .iter()
            .filter_map(|(id, c)| c.timeout.is_some_and(|t| t <= now).then_some(*id))
            .collect();
        for id in due {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            match guarded(|| c.pc.handle_timeout(now)) {
                Some(res) => {
                    if let Err(e) = res {
                        debug!(error = %e, "connection timeout handling failed");
                    }
                    self.touch(id);
                }
                None => self.fail_conn(id, now),
            }
        }
        let released: Vec<(TrackId, usize)> = self
            .published
            .iter_mut()
            .flat_map(|(id, p)| {
                p.layers.iter_mut().enumerate().filter_map(move |(i, l)| {
                    l.as_mut()
                        .is_some_and(|l| l.gate.poll(now))
                        .then(|| (id.clone(), i))
                })
            })
            .collect();
        for (track, layer) in released {
            self.send_keyframe_request(&track, layer, now);
        }
        if self.offers_due.is_some_and(|t| t <= now) {
            self.offers_due = None;
            self.send_due_offers(now);
        }
        if self.next_selection.is_none_or(|t| t <= now) {
            self.next_selection = Some(now + crate::simulcast::SELECTION_INTERVAL);
            self.select_layers(now);
        }
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let conns = self.conns.values().filter_map(|c| c.timeout);
        let gates = self.published.values().flat_map(|p| {
            p.layers
                .iter()
                .filter_map(|l| l.as_ref().and_then(|l| l.gate.next_deadline()))
        });
        conns
            .chain(gates)
            .chain(self.next_selection)
            .chain(self.offers_due)
            .min()
    }

    /// Runs every touched connection until it is quiet, then collects its output.
    pub fn process(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.touched.len() {
            let id = self.touched[i];
            if guarded(|| self.pump(id, now)).is_none() {
                self.fail_conn(id, now);
            }
            i += 1;
        }
        for id in std::mem::take(&mut self.touched) {
            if guarded(|| self.collect_output(id)).is_none() {
                self.fail_conn(id, now);
            }
        }
    }

    /// Moves a connection's outgoing datagrams to the driver's queue, learning the
    /// flows our own connectivity checks open.
    pub fn collect_output(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.touched = false;
        while let Some(msg) = conn.pc.poll_write() {
            let flow = (msg.transport.transport_protocol, msg.transport.peer_addr);
            if let std::collections::hash_map::Entry::Vacant(e) = self.by_flow.entry(flow) {
                e.insert(id);
                conn.flows.push(flow);
            }
            self.out.push((flow, msg.message));
        }
        conn.timeout = conn.pc.poll_timeout();
    }

    pub fn new_conn(
        &mut self,
        owner: &ParticipantId,
        kind: PcKind,
        now: Instant,
    ) -> Result<ConnId, SfuError> {
        let role = match kind {
            PcKind::Publish => Role::Publish,
            PcKind::Subscribe => Role::Subscribe,
        };
        let estimate = (kind == PcKind::Subscribe).then(|| Arc::new(AtomicU64::new(0)));
        let pc = engine::build_pc(role, &self.candidates, estimate.clone(), now)?;
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                pc,
                owner: owner.clone(),
                kind,
                ufrags: Vec::new(),
                flows: Vec::new(),
                in_tracks: HashMap::new(),
                touched: false,
                connected: false,
                timeout: None,
                estimate,
            },
        );
        Ok(id)
    }

    /// After we set a local description on `id`: its ufrag (new at the first
    /// description and at each ICE restart) must lead binding requests to `id`.
    pub fn learn_ufrag(&mut self, id: ConnId, local_sdp: &str) {
        let (Some(ufrag), Some(conn)) = (sdp_ufrag(local_sdp), self.conns.get_mut(&id)) else {
            return;
        };
        if !conn.ufrags.iter().any(|u| u == ufrag) {
            conn.ufrags.push(ufrag.to_owned());
            self.by_ufrag.insert(ufrag.to_owned(), id);
        }
    }

    /// Closes a connection (DTLS close_notify is queued for the driver) and forgets it.
    pub fn close_conn(&mut self, id: ConnId) {
        let Some(mut conn) = self.conns.remove(&id) else {
            return;
        };
        if let Err(e) = conn.pc.close() {
            debug!(error = %e, "closing connection");
        }
        while let Some(msg) = conn.pc.poll_write() {
            let flow = (msg.transport.transport_protocol, msg.transport.peer_addr);
            self.out.push((flow, msg.message));
        }
        for ufrag in &conn.ufrags {
            self.by_ufrag.remove(ufrag);
        }
        for flow in conn.flows {
            if self.by_flow.get(&flow) == Some(&id) {
                self.by_flow.remove(&flow);
            }
        }
        self.touched.retain(|t| *t != id);
    }
}

/// Runs `f`, turning a panic into `None` (logged by the panic hook).
pub fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

fn announced_ips(config: &SfuConfig, bound: SocketAddr) -> Vec<IpAddr> {
    let mut ips = config.announce_ips.clone();
    let loopback = IpAddr::from([127, 0, 0, 1]);
    if ips.is_empty() && !bound.ip().is_unspecified() {
        ips.push(bound.ip());
    }
    // The browser tests run on loopback: always offer it when it can reach us.
    if (bound.ip().is_unspecified() || bound.ip().is_loopback()) && !ips.contains(&loopback) {
        ips.push(loopback);
    }
    ips
}

/// The ICE ufrag of a session description (the first: with BUNDLE all are one).
pub fn sdp_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .map(str::trim)
        .filter(|u| !u.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_announced_when_bound_to_any_or_loopback() {
        let mut c = SfuConfig::default();
        let any = SocketAddr::from(([0, 0, 0, 0], 5000));
        assert_eq!(announced_ips(&c, any), vec![IpAddr::from([127, 0, 0, 1])]);
        c.announce_ips = vec![IpAddr::from([10, 1, 2, 3])];
        assert_eq!(
            announced_ips(&c, any),
            vec![IpAddr::from([10, 1, 2, 3]), IpAddr::from([127, 0, 0, 1])]
        );
        let lan = SocketAddr::from(([10, 1, 2, 3], 5000));
        assert_eq!(announced_ips(&c, lan), vec![IpAddr::from([10, 1, 2, 3])]);
    }
}

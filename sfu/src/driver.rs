//! The thin I/O driver: owns the UDP socket and the ICE-TCP listener, runs the one
//! media loop on a dedicated thread (its own current-thread runtime), and turns
//! [`SfuHandle`] calls into commands on a channel. All state lives in [`State`].

use crate::api::*;
use crate::layers::View;
use crate::state::State;
use crate::tcp::{TcpEvent, TcpSlots, accept_tcp};
use bytes::BytesMut;
use rtc::shared::TransportProtocol;
use rtc::shared::tcp_framing::frame_packet;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

/// Entry point of the media plane.
pub struct Sfu;

/// A cheap, cloneable handle to the media loop.
#[derive(Clone)]
pub struct SfuHandle {
    tx: mpsc::UnboundedSender<Command>,
    /// Where ICE-TCP connections (from the media port's listener or handed over by
    /// another listener) report to the media loop.
    tcp_events: mpsc::UnboundedSender<TcpEvent>,
    tcp_slots: TcpSlots,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
}

pub(crate) enum Command {
    Join {
        room: RoomId,
        participant: ParticipantId,
        events: mpsc::UnboundedSender<SfuEvent>,
        default_view: View,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    PublishOffer {
        participant: ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    SubscribeAnswer {
        participant: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Candidate {
        participant: ParticipantId,
        pc: PcKind,
        candidate: IceCandidate,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    RestartIce {
        participant: ParticipantId,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Leave {
        participant: ParticipantId,
        reply: oneshot::Sender<()>,
    },
    SetAudio {
        participant: ParticipantId,
        allowed: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    SetView {
        participant: ParticipantId,
        track: TrackId,
        view: View,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Link {
        child: RoomId,
        parent: RoomId,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Unlink {
        child: RoomId,
        reply: oneshot::Sender<Result<bool, SfuError>>,
    },
    Stats {
        reply: oneshot::Sender<SfuStats>,
    },
    Receiving {
        participant: ParticipantId,
        reply: oneshot::Sender<Result<Option<SubscriberStats>, SfuError>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// Taps have no reply: they must not wait on the loop (tap.rs).
    Tap(crate::tap::TapCommand),
}

impl Sfu {
    /// Binds the one UDP socket (and the ICE-TCP listener), spawns the media loop,
    /// returns a handle.
    pub async fn start(config: SfuConfig) -> std::io::Result<SfuHandle> {
        let udp = std::net::UdpSocket::bind(config.udp_bind)?;
        match crate::udp_batch::enlarge_recv_buffer(&udp) {
            Some(got) if got < crate::udp_batch::RECV_BUFFER => tracing::warn!(
                got,
                "the media socket's receive buffer is small; raise net.core.rmem_max (docs/operations.md)"
            ),
            got => debug!(?got, "media socket receive buffer"),
        }
        udp.set_nonblocking(true)?;
        let udp_addr = udp.local_addr()?;
        let tcp = match config.tcp_bind {
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr)?;
                l.set_nonblocking(true)?;
                Some(l)
            }
            None => None,
        };
        let tcp_addr = tcp.as_ref().map(|l| l.local_addr()).transpose()?;
        let mut state = State::new(config, udp_addr, tcp_addr).map_err(std::io::Error::other)?;
        // Mixing workers (mix_live.rs) send their encoded frames back on this.
        let (mix_tx, mix_rx) = mpsc::unbounded_channel();
        state.mixes.set_output(mix_tx);
        let (tx, rx) = mpsc::unbounded_channel();
        let (tcp_events, tcp_rx) = mpsc::unbounded_channel();
        let loop_tcp_events = tcp_events.clone();
        let tcp_slots = TcpSlots::default();
        let loop_tcp_slots = tcp_slots.clone();
        let (ready_tx, ready_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("sfu-media".to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let sockets = rt.block_on(async {
                    let udp = UdpSocket::from_std(udp)?;
                    let tcp = tcp.map(TcpListener::from_std).transpose()?;
                    Ok::<_, std::io::Error>((udp, tcp))
                });
                let (udp, tcp) = match sockets {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let reply = rt.block_on(run(
                    state,
                    udp,
                    tcp,
                    rx,
                    (loop_tcp_slots, loop_tcp_events),
                    tcp_rx,
                    mix_rx,
                ));
                // Dropping the runtime drops the sockets and every TCP task.
                drop(rt);
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            })?;
        ready_rx
            .await
            .map_err(|_| std::io::Error::other("media loop did not start"))??;
        Ok(SfuHandle {
            tx,
            tcp_events,
            tcp_slots,
            udp_addr,
            tcp_addr,
        })
    }
}

impl SfuHandle {
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Takes an ICE-TCP connection that another listener accepted and recognised by
    /// its first bytes (an RFC 4571 frame holding a STUN binding request); `local_port`
    /// is the port it arrived on, one of [`SfuConfig::shared_tcp_ports`]. Nothing of the
    /// stream may have been read: peek only.
    pub fn accept_ice_tcp(&self, stream: tokio::net::TcpStream, peer: SocketAddr, local_port: u16) {
        crate::tcp::spawn_connection(
            stream,
            peer,
            local_port,
            &self.tcp_slots,
            self.tcp_events.clone(),
        );
    }

    pub(crate) fn send(&self, cmd: Command) -> Result<(), SfuError> {
        self.tx.send(cmd).map_err(|_| SfuError::Stopped)
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<T, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).map_err(|_| SfuError::Stopped)?;
        rx.await.map_err(|_| SfuError::Stopped)?
    }

    /// Registers a participant in a room; its events go to `events`.
    pub async fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        events: mpsc::UnboundedSender<SfuEvent>,
    ) -> Result<(), SfuError> {
        self.join_viewing(room, participant, events, View::High)
            .await
    }

    /// Joins with a default for the videos the client names no `view` for: a
    /// conference site that shows only the main stage and the speaker joins with
    /// [`View::Off`] and is given (and renegotiated for) nothing else.
    pub async fn join_viewing(
        &self,
        room: RoomId,
        participant: ParticipantId,
        events: mpsc::UnboundedSender<SfuEvent>,
        default_view: View,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::Join {
            room,
            participant,
            events,
            default_view,
            reply,
        })
        .await
    }

    /// Applies the client's publish offer; returns the answer SDP.
    pub async fn publish_offer(
        &self,
        participant: &ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
    ) -> Result<String, SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::PublishOffer {
            participant,
            sdp,
            tracks,
            reply,
        })
        .await
    }

    pub async fn subscribe_answer(
        &self,
        participant: &ParticipantId,
        sdp: String,
    ) -> Result<(), SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::SubscribeAnswer {
            participant,
            sdp,
            reply,
        })
        .await
    }

    /// Restarts ICE on the participant's subscribe connection: a `SubscribeOffer`
    /// with new credentials follows (negotiate.rs `restart_ice`).
    pub async fn restart_ice(&self, participant: &ParticipantId) -> Result<(), SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::RestartIce { participant, reply })
            .await
    }

    pub async fn remote_candidate(
        &self,
        participant: &ParticipantId,
        pc: PcKind,
        candidate: IceCandidate,
    ) -> Result<(), SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::Candidate {
            participant,
            pc,
            candidate,
            reply,
        })
        .await
    }

    /// Opens or closes a participant's microphone for everyone (the chair's floor control).
    pub async fn set_audio_allowed(
        &self,
        participant: &ParticipantId,
        allowed: bool,
    ) -> Result<(), SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::SetAudio {
            participant,
            allowed,
            reply,
        })
        .await
    }

    /// How the participant shows a video it receives: the main stage gets the best
    /// simulcast layer its link carries, a thumbnail the lowest, off nothing.
    pub async fn set_view(
        &self,
        participant: &ParticipantId,
        track: &TrackId,
        view: View,
    ) -> Result<(), SfuError> {
        let (participant, track) = (participant.clone(), track.clone());
        self.call(|reply| Command::SetView {
            participant,
            track,
            view,
            reply,
        })
        .await
    }

    /// Links `child`'s room into `parent`'s conference: their participants receive
    /// each other's media until [`SfuHandle::unlink`] (links.rs).
    pub async fn link(&self, child: &RoomId, parent: &RoomId) -> Result<(), SfuError> {
        let (child, parent) = (child.clone(), parent.clone());
        self.call(|reply| Command::Link {
            child,
            parent,
            reply,
        })
        .await
    }

    /// Takes `child` out of the conference it was linked into; false if it was not.
    pub async fn unlink(&self, child: &RoomId) -> Result<bool, SfuError> {
        let child = child.clone();
        self.call(|reply| Command::Unlink { child, reply }).await
    }

    /// What one participant receives: its estimate and the layer of each video.
    pub async fn receiving(
        &self,
        participant: &ParticipantId,
    ) -> Result<Option<SubscriberStats>, SfuError> {
        let participant = participant.clone();
        self.call(|reply| Command::Receiving { participant, reply })
            .await
    }

    /// Removes the participant and everything it owned. Idempotent.
    pub async fn leave(&self, participant: &ParticipantId) {
        let (reply, rx) = oneshot::channel();
        let participant = participant.clone();
        if self.tx.send(Command::Leave { participant, reply }).is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn stats(&self) -> SfuStats {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Stats { reply }).is_err() {
            return SfuStats::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Closes every connection and stops the loop; the sockets are closed on return.
    pub async fn shutdown(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown { reply }).is_ok() {
            let _ = rx.await;
        }
    }
}

const MAX_DATAGRAM: usize = 2048;
const RECV_BATCH: usize = 64;

async fn run(
    mut state: State,
    udp: UdpSocket,
    tcp: Option<TcpListener>,
    mut rx: mpsc::UnboundedReceiver<Command>,
    (tcp_slots, tcp_tx): (TcpSlots, mpsc::UnboundedSender<TcpEvent>),
    mut tcp_rx: mpsc::UnboundedReceiver<TcpEvent>,
    mut mix_rx: mpsc::UnboundedReceiver<crate::mix_live::MixOutput>,
) -> Option<oneshot::Sender<()>> {
    if let Some(listener) = tcp {
        tokio::spawn(accept_tcp(listener, tcp_slots, tcp_tx));
    }
    let mut tcp_writers: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let far = Duration::from_secs(3600);
    let mut stop = None;
    let mut udp_batch = Vec::new();
    loop {
        let now = Instant::now();
        let deadline = state.poll_timeout().unwrap_or(now + far);
        if deadline <= now {
            state.handle_timeout(now);
        } else {
            tokio::select! {
                biased;
                cmd = rx.recv() => match cmd {
                    Some(Command::Shutdown { reply }) => {
                        state.shutdown();
                        stop = Some(reply);
                    }
                    Some(cmd) => {
                        // A panic drops the reply: the caller sees `Stopped`, the loop goes on.
                        let _ = crate::state::guarded(|| handle_command(&mut state, cmd, Instant::now()));
                    }
                    None => state.shutdown(),
                },
                res = udp.recv_from(&mut buf) => {
                    let now = Instant::now();
                    match res {
                        Ok((n, peer)) => {
                            state.handle_datagram(now, TransportProtocol::UDP, peer, &buf[..n]);
                            // Drain what else is queued before doing output work.
                            for _ in 0..RECV_BATCH {
                                match udp.try_recv_from(&mut buf) {
                                    Ok((n, peer)) => state.handle_datagram(
                                        now, TransportProtocol::UDP, peer, &buf[..n]),
                                    Err(_) => break,
                                }
                            }
                        }
                        Err(e) => debug!(error = %e, "udp receive"),
                    }
                }
                Some(ev) = tcp_rx.recv() => match ev {
                    TcpEvent::Opened(peer, local_port, w) => {
                        debug!(%peer, local_port, "ICE-TCP connection opened");
                        tcp_writers.insert(peer, w);
                        state.tcp_ports.insert(peer, local_port);
                    }
                    TcpEvent::Frame(peer, frame) => state.handle_datagram(
                        Instant::now(), TransportProtocol::TCP, peer, &frame),
                    TcpEvent::Closed(peer) => {
                        tcp_writers.remove(&peer);
                        state.tcp_ports.remove(&peer);
                        state.forget_flow((TransportProtocol::TCP, peer));
                    }
                },
                // A mixing worker's frames: written as RTP on the mixed halls' slots.
                Some(out) = mix_rx.recv() => {
                    let _ = crate::state::guarded(|| state.on_mix_output(out, Instant::now()));
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    state.handle_timeout(Instant::now());
                }
            }
        }
        state.process(Instant::now());
        flush(&mut state, &udp, &tcp_writers, &mut udp_batch).await;
        if stop.is_some() || (rx.is_closed() && state.conns.is_empty()) {
            break;
        }
    }
    stop
}

async fn flush(
    state: &mut State,
    udp: &UdpSocket,
    tcp: &HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    udp_batch: &mut Vec<(SocketAddr, BytesMut)>,
) {
    for ((proto, peer), bytes) in state.out.drain(..) {
        match proto {
            TransportProtocol::UDP => udp_batch.push((peer, bytes)),
            _ => {
                if let Some(w) = tcp.get(&peer) {
                    let _ = w.send(frame_packet(&bytes));
                }
            }
        }
    }
    crate::udp_batch::send_all(udp, udp_batch).await;
    udp_batch.clear();
}

fn handle_command(state: &mut State, cmd: Command, now: Instant) {
    match cmd {
        Command::Join {
            room,
            participant,
            events,
            default_view,
            reply,
        } => {
            let _ = reply.send(state.join(room, participant, events, default_view, now));
        }
        Command::PublishOffer {
            participant,
            sdp,
            tracks,
            reply,
        } => {
            let _ = reply.send(state.publish_offer(&participant, sdp, tracks, now));
        }
        Command::SubscribeAnswer {
            participant,
            sdp,
            reply,
        } => {
            let _ = reply.send(state.subscribe_answer(&participant, sdp, now));
        }
        Command::RestartIce { participant, reply } => {
            let _ = reply.send(state.restart_ice(&participant, now));
        }
        Command::Candidate {
            participant,
            pc,
            candidate,
            reply,
        } => {
            let _ = reply.send(state.remote_candidate(&participant, pc, candidate));
        }
        Command::Leave { participant, reply } => {
            state.leave(&participant, now);
            let _ = reply.send(());
        }
        Command::SetAudio {
            participant,
            allowed,
            reply,
        } => {
            let _ = reply.send(state.set_audio_allowed(&participant, allowed));
        }
        Command::SetView {
            participant,
            track,
            view,
            reply,
        } => {
            let _ = reply.send(state.set_view(&participant, &track, view, now));
        }
        Command::Link {
            child,
            parent,
            reply,
        } => {
            let _ = reply.send(state.link(child, parent, now));
        }
        Command::Unlink { child, reply } => {
            let _ = reply.send(Ok(state.unlink(&child, now)));
        }
        Command::Receiving { participant, reply } => {
            let _ = reply.send(Ok(state.subscriber_stats_of(&participant)));
        }
        Command::Stats { reply } => {
            let _ = reply.send(state.stats());
        }
        Command::Shutdown { reply } => {
            state.shutdown();
            let _ = reply.send(());
        }
        Command::Tap(cmd) => state.on_tap_command(cmd, now),
    }
}

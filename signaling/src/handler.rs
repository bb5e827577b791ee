//! The thin I/O driver: one task per WebSocket, feeding the socket, the media
//! plane's events, timers and shutdown into a [`Session`] and carrying out its actions.

use crate::Signaling;
use crate::directory::{LinkPermission, RoomEvent};
use crate::limits::SEND_TIMEOUT;
use crate::live::Claim;
use crate::messages::{ErrorCode, LeaveReason, ParticipantInfo, ServerMsg};
use crate::roster::{Gates, Refused};
use crate::roster_links::LinkError;
use crate::session::{Action, JoinedRoom, Session, close_code, sfu_error};
use crate::speaking::SpeakingClock;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use bridge_sfu::{ParticipantId, RoomId, SfuError, SfuEvent};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

mod park;

/// How long to wait for the client's close frame after ours, so the socket ends
/// cleanly instead of being reset.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

pub(crate) async fn upgrade(State(sig): State<Signaling>, ws: WebSocketUpgrade) -> Response {
    let Some(unjoined) = Unjoined::take(&sig) else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "5")],
            "too many connections waiting to join; try again",
        )
            .into_response();
    };
    let max = sig.inner.config.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run(sig, socket, unjoined))
}

/// A socket that has not joined a room yet, counted against `max_unjoined` until it
/// joins or ends: without a cap, sockets that never join would each hold a task and a
/// file until their join timeout, however many are opened.
struct Unjoined(Signaling);

impl Unjoined {
    fn take(sig: &Signaling) -> Option<Self> {
        use std::sync::atomic::Ordering;
        let count = &sig.inner.unjoined;
        if count.fetch_add(1, Ordering::SeqCst) >= sig.inner.config.max_unjoined {
            count.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Self(sig.clone()))
    }
}

impl Drop for Unjoined {
    fn drop(&mut self) {
        self.0
            .inner
            .unjoined
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Counts live sessions so shutdown can wait for them.
struct Live(Signaling);

impl Live {
    fn new(sig: &Signaling) -> Self {
        sig.inner.sessions.send_modify(|n| *n += 1);
        Self(sig.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0
            .inner
            .sessions
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

struct Driver {
    sig: Signaling,
    /// None while parked: the socket dropped, the participant waits for a resume.
    sink: Option<SplitSink<WebSocket, Message>>,
    session: Session,
    outbox: mpsc::UnboundedSender<ServerMsg>,
    events: mpsc::UnboundedSender<SfuEvent>,
    /// Set once the media plane and the roster have us: cleanup must undo it.
    joined: Option<RoomId>,
    /// Our speaking time, told to the directory when we leave (attendance).
    speaking: SpeakingClock,
    /// Held until we join.
    unjoined: Option<Unjoined>,
    /// Resume and presence (park.rs).
    park: park::Park,
}

enum Flow {
    Continue,
    /// The socket is gone; the session waits for a resume (park.rs).
    Detached,
    /// This socket resumes (or takes over) another session: hand it over.
    HandOff(
        mpsc::UnboundedSender<crate::resume::Handoff>,
        crate::resume::HandoffKind,
    ),
    Closed,
}

/// The next frame, or never while there is no socket.
async fn next_frame(
    stream: &mut Option<SplitStream<WebSocket>>,
) -> Option<Result<Message, axum::Error>> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn run(sig: Signaling, socket: WebSocket, unjoined: Unjoined) {
    let _live = Live::new(&sig);
    let (sink, stream) = socket.split();
    let mut stream = Some(stream);
    let (outbox, mut outbox_rx) = mpsc::unbounded_channel();
    let (events, mut events_rx) = mpsc::unbounded_channel();
    let (handoff, mut handoff_rx) = mpsc::unbounded_channel();
    let mut shutdown = sig.inner.shutdown.subscribe();
    let id = ParticipantId(format!("p-{}", uuid::Uuid::new_v4().simple()));
    let session = Session::new(sig.inner.config.clone(), id, Instant::now());
    let mut d = Driver {
        sig,
        sink: Some(sink),
        session,
        outbox,
        events,
        joined: None,
        speaking: SpeakingClock::default(),
        unjoined: Some(unjoined),
        park: park::Park::new(handoff),
    };
    loop {
        let deadline = d
            .session
            .next_deadline()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        let actions = tokio::select! {
            frame = next_frame(&mut stream) => match frame {
                Some(Ok(Message::Text(text))) => {
                    // The join token is a credential: never log it.
                    let shown = if text.contains("\"token\"") { "(join, token not logged)" } else { text.as_str() };
                    tracing::trace!(participant = %d.session.participant_id(), "<- {shown}");
                    let key = &d.sig.inner.key;
                    d.session.on_text(text.as_str(), Instant::now(), unix_now(), key)
                }
                Some(Ok(Message::Binary(_))) => d.session.on_binary(Instant::now()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    d.session.on_activity(Instant::now());
                    Vec::new()
                }
                Some(Ok(Message::Close(_))) | None => {
                    d.session.on_disconnect();
                    vec![Action::Detach]
                }
                Some(Err(e)) => {
                    d.read_failed(&e).await;
                    vec![Action::Detach]
                }
            },
            Some(h) = handoff_rx.recv() => {
                stream = Some(h.stream);
                d.adopt(h.sink, h.kind).await
            }
            // While parked the room goes on without us; `joined` on resume tells
            // where it stands. Only a removal still matters.
            Some(msg) = outbox_rx.recv() => if d.session.parked() && !park::is_removal(&msg) {
                Vec::new()
            } else {
                d.session.on_room_msg(msg)
            },
            Some(event) = events_rx.recv() => {
                if let SfuEvent::Speakers { ordered } = &event {
                    d.speaking.ranking(d.session.participant_id(), ordered, Instant::now());
                }
                d.session.on_sfu_event(event)
            }
            _ = tokio::time::sleep_until(deadline) => d.session.on_tick(Instant::now()),
            // The guard `wait_for` returns is not `Send`: drop it inside.
            () = async { drop(shutdown.wait_for(|stop| *stop).await) } => d.session.on_shutdown(),
        };
        match d.execute(actions).await {
            Flow::Continue => {}
            Flow::Detached => {
                stream = None;
                if !d.session.parked() {
                    break; // not joined: nothing to keep
                }
            }
            Flow::HandOff(to, kind) => {
                if let (Some(sink), Some(stream)) = (d.sink.take(), stream.take()) {
                    // The session it resumes may have ended a moment ago: the socket
                    // is dropped and the client joins afresh.
                    let _ = to.send(crate::resume::Handoff { sink, stream, kind });
                }
                return;
            }
            Flow::Closed => {
                // Leave the room at once, then let the client answer our close frame
                // (ignoring whatever else it says) so the socket ends without a reset.
                d.cleanup().await;
                let _ = tokio::time::timeout(CLOSE_LINGER, async {
                    while let Some(Ok(m)) = next_frame(&mut stream).await {
                        if matches!(m, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
                break;
            }
        }
    }
    d.cleanup().await;
}

impl Driver {
    async fn execute(&mut self, actions: Vec<Action>) -> Flow {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Send(msg) => {
                    if self.sink.is_none() {
                        self.park.keep(msg);
                    } else if self.send(&msg).await.is_err() {
                        self.session.on_disconnect();
                        self.detach().await;
                        return if self.session.parked() {
                            Flow::Detached
                        } else {
                            Flow::Closed
                        };
                    }
                }
                Action::Detach => {
                    self.detach().await;
                    return Flow::Detached;
                }
                Action::Resume { credential, token } => {
                    match self.sig.inner.resumes.take(&credential, &token.id) {
                        Ok((participant, to)) => {
                            tracing::info!(%participant, "resumed on a new socket");
                            queue.extend(self.session.resume_done(Ok(())));
                            return Flow::HandOff(to, crate::resume::HandoffKind::Resume);
                        }
                        Err(why) => queue.extend(self.session.resume_done(Err(why.into()))),
                    }
                }
                Action::RestartIce => {
                    let id = self.session.participant_id().clone();
                    if let Err(e) = self.sig.inner.media.restart_ice(&id).await {
                        queue.push_back(Action::Send(sfu_error(&e, "restart_ice")));
                    }
                }
                Action::MediaState { pc, state } => self.media_state(pc, state),
                Action::Join {
                    room,
                    participant,
                    default_view,
                    token,
                } => {
                    if self.sig.inner.held_out.holds(&token, unix_now()) {
                        let refusal = Err(crate::held_out::refusal());
                        queue.extend(self.session.join_done(refusal, None));
                        continue;
                    }
                    let id = participant.id.clone();
                    let to = self.park.handoff();
                    if let Claim::TakeOver(to) = self.sig.inner.live.claim(&token.id, &id, to) {
                        // The same link is in the room already: this socket takes that
                        // place over (live.rs) and is never refused.
                        queue.extend(self.session.resume_done(Ok(())));
                        let kind = crate::resume::HandoffKind::Takeover { default_view };
                        return Flow::HandOff(to, kind);
                    }
                    let result = self.join(room, participant, default_view).await;
                    if result.is_err() {
                        self.sig.inner.live.release(&token.id, &id);
                    }
                    let grant = result.is_ok().then(|| self.grant(&token.id));
                    queue.extend(self.session.join_done(result, grant));
                }
                Action::HoldOut(token) => self.sig.inner.held_out.hold(token, unix_now()),
                Action::RefuseEarly {
                    room,
                    opens_at,
                    message,
                } => {
                    // The title tells the hall which meeting it came early to; only a
                    // correctly signed link for this room gets this far.
                    let title = match (self.sig.inner.directory.get(), room) {
                        (Some(d), Some(room)) => d.describe(&room).await.and_then(|i| i.title),
                        _ => None,
                    };
                    queue.push_front(Action::Send(ServerMsg::Error {
                        code: ErrorCode::NotYetOpen,
                        message,
                        request: Some("join".into()),
                        opens_at,
                        title,
                    }));
                }
                Action::PublishOffer { sdp, tracks } => {
                    let sources: Vec<_> = tracks.iter().map(|t| t.source).collect();
                    let id = self.session.participant_id().clone();
                    let reply = match self.sig.inner.media.publish_offer(&id, sdp, tracks).await {
                        Ok(sdp) => {
                            if let Some(room) = &self.joined {
                                self.sig.inner.roster.keep_sources(room, &id, &sources);
                            }
                            ServerMsg::PublishAnswer { sdp }
                        }
                        Err(e) => sfu_error(&e, "publish_offer"),
                    };
                    queue.push_back(Action::Send(reply));
                }
                Action::SubscribeAnswer { sdp } => {
                    let id = self.session.participant_id().clone();
                    if let Err(e) = self.sig.inner.media.subscribe_answer(&id, sdp).await {
                        queue.push_back(Action::Send(sfu_error(&e, "subscribe_answer")));
                    }
                }
                Action::Candidate { pc, candidate } => {
                    let id = self.session.participant_id().clone();
                    if let Err(e) = self
                        .sig
                        .inner
                        .media
                        .remote_candidate(&id, pc, candidate)
                        .await
                    {
                        queue.push_back(Action::Send(sfu_error(&e, "candidate")));
                    }
                }
                Action::View { track, quality } => {
                    let id = self.session.participant_id().clone();
                    if let Err(e) = self.sig.inner.media.set_view(&id, &track, quality).await {
                        queue.push_back(Action::Send(sfu_error(&e, "view")));
                    }
                }
                Action::Mute { source, muted } => {
                    if let Some(room) = &self.joined {
                        let id = self.session.participant_id();
                        self.sig.inner.roster.set_muted(room, id, source, muted);
                    }
                }
                Action::Chair(cmd) => {
                    let Some(room) = self.joined.clone() else {
                        continue;
                    };
                    let id = self.session.participant_id().clone();
                    let request = cmd.type_name();
                    match self.sig.inner.roster.chair(&room, &id, cmd, unix_ms()) {
                        Ok(gates) => self.apply_gates(gates).await,
                        Err(e) => queue.push_back(Action::Send(ServerMsg::error(
                            ErrorCode::Forbidden,
                            e.to_string(),
                            Some(request),
                        ))),
                    }
                }
                Action::Quality(report) => {
                    let Some(room) = self.joined.clone() else {
                        continue;
                    };
                    let id = self.session.participant_id().clone();
                    let receiving = self.sig.inner.media.receiving(&id).await;
                    let q = crate::quality::SiteQuality::new(report, receiving.as_ref());
                    self.sig.inner.roster.set_quality(&room, &id, q);
                }
                Action::Link {
                    room: child,
                    linked,
                } => {
                    let Some(room) = self.joined.clone() else {
                        continue;
                    };
                    if let Err(msg) = self.link(&room, child, linked).await {
                        queue.push_back(Action::Send(msg));
                    }
                }
                Action::TrackLive { track_id, source } => {
                    if let Some(room) = &self.joined {
                        let id = self.session.participant_id();
                        self.sig.inner.roster.track_live(room, id, track_id, source);
                    }
                }
                Action::TrackEnded { track_id } => {
                    if let Some(room) = &self.joined {
                        let id = self.session.participant_id();
                        self.sig.inner.roster.track_ended(room, id, &track_id);
                    }
                }
                Action::Close { bye, code } => {
                    if self.sink.is_none() {
                        return Flow::Closed; // parked: nobody to say goodbye to
                    }
                    let _ = self.send(&ServerMsg::Bye { reason: bye }).await;
                    let frame = CloseFrame {
                        code,
                        reason: format!("{bye:?}").to_lowercase().into(),
                    };
                    let _ = self.send_frame(Message::Close(Some(frame))).await;
                    return Flow::Closed;
                }
            }
        }
        Flow::Continue
    }

    async fn join(
        &mut self,
        room: RoomId,
        participant: ParticipantInfo,
        default_view: bridge_sfu::View,
    ) -> Result<JoinedRoom, ServerMsg> {
        let inner = &self.sig.inner;
        let id = participant.id.clone();
        inner
            .media
            .join(room.clone(), id.clone(), self.events.clone(), default_view)
            .await
            .map_err(|e| sfu_error(&e, "join"))?;
        let max = inner.config.max_participants_per_room;
        // The first participant opens the room: ask the directory what it is.
        let was_open = inner.roster.is_open(&room);
        let opening = match inner.directory.get() {
            Some(d) if !was_open => d.describe(&room).await,
            _ => None,
        };
        let pull_in = opening
            .as_ref()
            .map(|o| o.links.clone())
            .unwrap_or_default();
        match inner.roster.admit(
            &room,
            participant.clone(),
            self.outbox.clone(),
            max,
            opening,
        ) {
            Ok(a) => {
                tracing::info!(%room, participant = %id, name = %participant.name, role = %participant.role, "joined");
                self.joined = Some(room.clone());
                self.unjoined = None;
                if !was_open {
                    self.observe(RoomEvent::Opened { room: room.clone() });
                }
                self.observe(RoomEvent::Joined {
                    room: room.clone(),
                    participant: id.clone(),
                    name: participant.name.clone(),
                    unit: participant.unit.clone(),
                    role: participant.role,
                });
                self.apply_gates(a.gates).await;
                self.pull_in(&room, pull_in).await;
                Ok(JoinedRoom {
                    room,
                    participant,
                    others: a.others,
                    floor: a.floor,
                    title: a.title,
                    links: a.links,
                })
            }
            Err(refused) => {
                inner.media.leave(&id).await;
                Err(match refused {
                    Refused::Full { max } => sfu_error(&SfuError::RoomFull { room, max }, "join"),
                    Refused::Locked => {
                        ServerMsg::error(ErrorCode::RoomLocked, refused.to_string(), Some("join"))
                    }
                })
            }
        }
    }

    /// The room just opened: link the rooms its meeting pulls in. A room already in
    /// another conference stays there (two meetings at once for one unit).
    async fn pull_in(&self, room: &RoomId, rooms: Vec<crate::messages::LinkedRoom>) {
        let inner = &self.sig.inner;
        for child in rooms {
            if inner.roster.parent_of(&child.room).is_some() {
                tracing::info!(%room, child = %child.room, "already linked elsewhere; not pulled in");
                continue;
            }
            match inner.media.link(&child.room, room).await {
                Ok(()) => {
                    let gates = inner.roster.linked(child.room, room.clone(), child.title);
                    self.apply_gates(gates).await;
                }
                Err(e) => tracing::warn!(%room, child = %child.room, error = %e, "not linked"),
            }
        }
    }

    /// A chair links `child` into its room, or unlinks it: the roster checks who asks
    /// and what the tree allows, the directory which rooms this conference may hold,
    /// the media plane the shape of the tree; then the roster tells everyone.
    async fn link(&self, room: &RoomId, child: RoomId, linked: bool) -> Result<(), ServerMsg> {
        let inner = &self.sig.inner;
        let request = if linked { "link_room" } else { "unlink_room" };
        let refused = |e: LinkError| ServerMsg::error(e.code(), e.to_string(), Some(request));
        let id = self.session.participant_id();
        if !linked {
            inner.roster.may_unlink(room, id, &child).map_err(refused)?;
            inner
                .media
                .unlink(&child)
                .await
                .map_err(|e| sfu_error(&e, request))?;
            tracing::info!(%room, %child, by = %id, "room unlinked");
            let gates = inner.roster.unlinked(&child).unwrap_or_default();
            self.apply_gates(gates).await;
            return Ok(());
        }
        inner.roster.may_link(room, id, &child).map_err(refused)?;
        let directory = inner.directory.get();
        if let Some(d) = directory {
            if let LinkPermission::Refused(why) = d.may_pull_in(room, &child).await {
                tracing::info!(%room, %child, by = %id, %why, "link refused by the directory");
                return Err(refused(LinkError::OutOfReach(why)));
            }
            // The tree may have changed while the directory was asked.
            inner.roster.may_link(room, id, &child).map_err(refused)?;
        }
        inner
            .media
            .link(&child, room)
            .await
            .map_err(|e| sfu_error(&e, request))?;
        let title = match directory {
            Some(d) => d.describe(&child).await.and_then(|i| i.title),
            None => None,
        };
        tracing::info!(%room, %child, by = %id, "room linked");
        let gates = inner.roster.linked(child, room.clone(), title);
        self.apply_gates(gates).await;
        Ok(())
    }

    fn observe(&self, event: RoomEvent) {
        if let Some(d) = self.sig.inner.directory.get() {
            d.observe(event, SystemTime::now());
        }
    }

    /// Tells the media plane which microphones the chairing state opens or closes.
    async fn apply_gates(&self, gates: Gates) {
        for (id, allowed) in gates {
            if let Err(e) = self.sig.inner.media.set_audio_allowed(&id, allowed).await {
                // The participant is leaving at this moment; nothing to forward anyway.
                tracing::debug!(participant = %id, error = %e, "microphone gate not applied");
            }
        }
    }

    /// Only with a socket (`execute` keeps messages while parked).
    async fn send(&mut self, msg: &ServerMsg) -> Result<(), axum::Error> {
        // Serializing our own enum cannot fail; an error here would be a bug, reported
        // to the client as `internal` rather than a panic.
        let text = serde_json::to_string(msg).unwrap_or_else(|e| {
            format!(r#"{{"type":"error","code":"internal","message":"serialize: {e}"}}"#)
        });
        tracing::trace!(participant = %self.session.participant_id(), "-> {text}");
        self.send_frame(Message::Text(text.into())).await
    }

    /// Every write goes through here: a client that stops reading is dropped.
    async fn send_frame(&mut self, frame: Message) -> Result<(), axum::Error> {
        let Some(sink) = self.sink.as_mut() else {
            return Err(axum::Error::new("no socket"));
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(frame)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::info!(participant = %self.session.participant_id(), "client stopped reading; dropping it");
                Err(axum::Error::new("send timed out"))
            }
        }
    }

    /// The socket failed: a message over the limit gets close code 1009.
    async fn read_failed(&mut self, e: &axum::Error) {
        let text = e.to_string();
        tracing::debug!(error = %text, "websocket read failed");
        if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
            let frame = CloseFrame {
                code: close_code::TOO_BIG,
                reason: "message too big".into(),
            };
            let _ = self.send_frame(Message::Close(Some(frame))).await;
        }
        self.session.on_disconnect();
    }

    async fn cleanup(&mut self) {
        self.park.revoke(&self.sig);
        if let Some(token) = self.session.token_id() {
            let id = self.session.participant_id();
            self.sig.inner.live.release(&token, id);
        }
        let Some(room) = self.joined.take() else {
            return;
        };
        let id = self.session.participant_id().clone();
        let reason = self.session.ended().unwrap_or(LeaveReason::Left);
        self.sig.inner.media.leave(&id).await;
        let (gates, ended) = self.sig.inner.roster.remove(&room, &id, reason);
        self.observe(RoomEvent::Left {
            room: room.clone(),
            participant: id.clone(),
            speaking: self.speaking.total(Instant::now()),
        });
        if !self.sig.inner.roster.is_open(&room) {
            self.observe(RoomEvent::Closed { room: room.clone() });
        }
        self.apply_gates(gates).await;
        // The conference ended: the rooms it had pulled in go back to themselves.
        for child in ended {
            if let Err(e) = self.sig.inner.media.unlink(&child).await {
                tracing::debug!(%child, error = %e, "unlink at the end of the conference");
            }
            let gates = self.sig.inner.roster.unlinked(&child).unwrap_or_default();
            self.apply_gates(gates).await;
        }
        tracing::info!(%room, participant = %id, ?reason, "left");
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

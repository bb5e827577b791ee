//! A fake media plane and a WebSocket client for the signaling tests.
#![allow(dead_code)]

use bridge_sfu::{
    IceCandidate, ParticipantId, PcKind, RoomId, SfuError, SfuEvent, SfuStats, TrackSpec,
};
use bridge_signaling::{BoxFuture, MediaPlane, Signaling, SignalingConfig};
use bridge_token::{Grant, Role, TokenKey};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Records what signaling asked of it; SDP "garbage" is refused as invalid.
#[derive(Default)]
pub struct FakeMedia {
    pub events: Mutex<HashMap<ParticipantId, UnboundedSender<SfuEvent>>>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeMedia {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    /// Pushes an event to a participant's session, as the SFU would.
    pub fn emit(&self, to: &str, event: SfuEvent) {
        let events = self.events.lock().unwrap();
        events[&ParticipantId::from(to)].send(event).unwrap();
    }
}

impl MediaPlane for FakeMedia {
    fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        events: UnboundedSender<SfuEvent>,
        _default_view: bridge_sfu::View,
    ) -> BoxFuture<'_, Result<(), SfuError>> {
        self.log(format!("join {room} {participant}"));
        self.events.lock().unwrap().insert(participant, events);
        Box::pin(async { Ok(()) })
    }
    fn publish_offer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        sdp: String,
        tracks: Vec<TrackSpec>,
    ) -> BoxFuture<'a, Result<String, SfuError>> {
        self.log(format!("publish {participant} {}", tracks.len()));
        Box::pin(async move {
            if sdp == "garbage" {
                Err(SfuError::InvalidSdp("no v= line".into()))
            } else {
                Ok(format!("answer to {sdp}"))
            }
        })
    }
    fn subscribe_answer<'a>(
        &'a self,
        participant: &'a ParticipantId,
        _sdp: String,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        self.log(format!("subscribe_answer {participant}"));
        Box::pin(async { Ok(()) })
    }
    fn remote_candidate<'a>(
        &'a self,
        participant: &'a ParticipantId,
        pc: PcKind,
        candidate: IceCandidate,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        self.log(format!("candidate {participant} {pc:?}"));
        Box::pin(async move {
            if candidate.candidate.starts_with("candidate:") {
                Ok(())
            } else {
                Err(SfuError::InvalidCandidate(candidate.candidate))
            }
        })
    }
    fn leave<'a>(&'a self, participant: &'a ParticipantId) -> BoxFuture<'a, ()> {
        self.log(format!("leave {participant}"));
        Box::pin(async {})
    }
    fn set_audio_allowed<'a>(
        &'a self,
        participant: &'a ParticipantId,
        allowed: bool,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        self.log(format!("audio {participant} {allowed}"));
        Box::pin(async { Ok(()) })
    }
    fn link<'a>(
        &'a self,
        child: &'a RoomId,
        parent: &'a RoomId,
    ) -> BoxFuture<'a, Result<(), SfuError>> {
        self.log(format!("link {child} {parent}"));
        Box::pin(async { Ok(()) })
    }
    fn unlink<'a>(&'a self, child: &'a RoomId) -> BoxFuture<'a, Result<bool, SfuError>> {
        self.log(format!("unlink {child}"));
        Box::pin(async { Ok(true) })
    }
    fn stats(&self) -> BoxFuture<'_, SfuStats> {
        Box::pin(async { SfuStats::default() })
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub key: TokenKey,
    pub media: Arc<FakeMedia>,
    pub signaling: Signaling,
}

pub async fn start(config: SignalingConfig) -> Server {
    let media = Arc::new(FakeMedia::default());
    let key = TokenKey::generate();
    let signaling = Signaling::new(config, media.clone(), key.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = signaling.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        addr,
        key,
        media,
        signaling,
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Server {
    pub fn token(&self, room: &str, name: &str, role: Role) -> String {
        self.unit_token(room, name, role, None)
    }

    /// A token naming the participant's unit (as the scheduler's join links do).
    pub fn unit_token(&self, room: &str, name: &str, role: Role, unit: Option<&str>) -> String {
        let grant = Grant {
            room: room.into(),
            name: name.into(),
            role,
            unit: unit.map(str::to_owned),
        };
        self.key
            .mint(grant, now_unix(), Duration::from_secs(3600))
            .unwrap()
    }

    pub async fn connect(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr))
            .await
            .unwrap();
        Client { ws }
    }

    /// Connects and joins; returns the client and its `joined` message.
    pub async fn join(&self, room: &str, name: &str, role: Role) -> (Client, Value) {
        let mut c = self.connect().await;
        c.send(
            json!({"type": "join", "v": 1, "token": self.token(room, name, role), "room": room}),
        )
        .await;
        let joined = c.recv().await;
        assert_eq!(joined["type"], "joined", "{joined}");
        (c, joined)
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next, as a test sees it.
#[derive(Debug)]
pub enum Next {
    Msg(Value),
    Close(Option<u16>),
    Ended,
}

impl Client {
    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, s: String) {
        self.ws.send(Message::text(s)).await.unwrap();
    }

    pub async fn next(&mut self) -> Next {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("no message from the server within 5 s");
            match frame {
                Some(Ok(Message::Text(t))) => return Next::Msg(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(f))) => return Next::Close(f.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Next::Ended,
            }
        }
    }

    /// The next JSON message (panics on close).
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Next::Msg(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Skips messages until one of type `ty` arrives.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == ty {
                return v;
            }
        }
    }

    /// Expects `bye {reason}` and then a close frame with `code`.
    pub async fn expect_bye_and_close(&mut self, reason: &str, code: u16) {
        let bye = self.recv_type("bye").await;
        assert_eq!(bye["reason"], reason, "{bye}");
        match self.next().await {
            Next::Close(got) => assert_eq!(got, Some(code)),
            other => panic!("expected close {code}, got {other:?}"),
        }
    }

    /// Skips messages until the close frame; returns its code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Next::Msg(_) => continue,
                Next::Close(code) => return code,
                Next::Ended => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Ping round trip: proves the session is still alive.
    pub async fn assert_alive(&mut self) {
        self.send(json!({"type": "ping"})).await;
        assert_eq!(self.recv_type("pong").await["type"], "pong");
    }
}

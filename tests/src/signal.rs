//! The signaling WebSocket as a test sees it: JSON messages in, JSON messages out, and
//! the close code when the server hangs up. Raw enough for the bad-input tests (they
//! send text that is not JSON), typed enough for the client.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What arrives on the socket.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// One JSON message (text frames that are not JSON become `Value::String`).
    Msg(Value),
    /// The server closed: the close code if it sent a close frame.
    Closed(Option<u16>),
}

impl Incoming {
    pub fn msg_type(&self) -> Option<&str> {
        match self {
            Incoming::Msg(v) => v.get("type").and_then(Value::as_str),
            Incoming::Closed(_) => None,
        }
    }
}

/// A handle for sending on the socket; cheap to clone, usable from sync callbacks.
#[derive(Clone)]
pub struct SignalSender {
    tx: mpsc::UnboundedSender<Message>,
}

impl SignalSender {
    #[cfg(test)]
    pub(crate) fn from_channel(tx: mpsc::UnboundedSender<Message>) -> Self {
        SignalSender { tx }
    }

    pub fn send_json(&self, v: &Value) -> anyhow::Result<()> {
        self.send_text(v.to_string())
    }

    pub fn send_text(&self, text: String) -> anyhow::Result<()> {
        self.tx
            .send(Message::text(text))
            .map_err(|_| anyhow::anyhow!("signaling socket is closed"))
    }

    pub fn send_raw(&self, msg: Message) -> anyhow::Result<()> {
        self.tx
            .send(msg)
            .map_err(|_| anyhow::anyhow!("signaling socket is closed"))
    }
}

/// One signaling WebSocket.
pub struct Signal {
    pub sender: SignalSender,
    rx: mpsc::UnboundedReceiver<Incoming>,
    /// When the WebSocket handshake completed (the join-time clock starts here).
    pub opened_at: Instant,
    tasks: Tasks,
}

impl Signal {
    /// Opens `ws_url`. No heartbeat: call [`Signal::start_pings`] for that.
    pub async fn connect(ws_url: &str) -> anyhow::Result<Self> {
        Self::connect_with(ws_url, std::env::var_os("BRIDGE_E2E_TRACE").is_some()).await
    }

    /// Like [`Signal::connect`]; with `trace`, prints every text message both ways.
    pub async fn connect_with(ws_url: &str, trace: bool) -> anyhow::Result<Self> {
        // The client must be able to send more than the server accepts (1 MiB tests).
        let config = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let (ws, _resp) = tokio::time::timeout(
            Duration::from_secs(20),
            tokio_tungstenite::connect_async_with_config(ws_url, Some(config), false),
        )
        .await
        .context("WebSocket connect timed out")?
        .with_context(|| format!("WebSocket connect to {ws_url}"))?;
        let opened_at = Instant::now();
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (in_tx, in_rx) = mpsc::unbounded_channel::<Incoming>();

        let writer = tokio::spawn(async move {
            while let Some(msg) = out_rx.recv().await {
                if trace && let Message::Text(t) = &msg {
                    println!("C→S {}", abbreviate(t.as_str()));
                }
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader = tokio::spawn(async move {
            let mut code = None;
            while let Some(frame) = stream.next().await {
                match frame {
                    Ok(Message::Text(t)) => {
                        if trace {
                            println!("S→C {}", abbreviate(t.as_str()));
                        }
                        let v = serde_json::from_str(t.as_str())
                            .unwrap_or_else(|_| Value::String(t.to_string()));
                        if in_tx.send(Incoming::Msg(v)).is_err() {
                            return;
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        code = frame.map(|f| u16::from(f.code));
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            let _ = in_tx.send(Incoming::Closed(code));
        });
        Ok(Signal {
            sender: SignalSender { tx: out_tx },
            rx: in_rx,
            opened_at,
            tasks: Tasks(vec![writer, reader]),
        })
    }

    /// Sends `ping` every 5 s, as the protocol asks, for as long as the socket lives.
    pub fn start_pings(&mut self) {
        let sender = self.sender.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.tick().await;
            loop {
                tick.tick().await;
                if sender.send_json(&json!({"type": "ping"})).is_err() {
                    break;
                }
            }
        }));
    }

    pub fn send_json(&self, v: &Value) -> anyhow::Result<()> {
        self.sender.send_json(v)
    }

    pub fn send_text(&self, text: impl Into<String>) -> anyhow::Result<()> {
        self.sender.send_text(text.into())
    }

    /// The next thing from the server, or `None` after `timeout`.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<Incoming> {
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Ok(Some(i)) => Some(i),
            // The reader task ended after reporting Closed; keep reporting it.
            Ok(None) => Some(Incoming::Closed(None)),
            Err(_) => None,
        }
    }

    /// Waits for a message of type `ty`, skipping others (`pong`, events). Fails on close
    /// or timeout; returns the skipped messages too, in order, for assertions.
    pub async fn expect_type(
        &mut self,
        ty: &str,
        timeout: Duration,
    ) -> anyhow::Result<(Value, Vec<Value>)> {
        let deadline = Instant::now() + timeout;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_timeout(left).await {
                Some(Incoming::Msg(v)) if v.get("type").and_then(Value::as_str) == Some(ty) => {
                    return Ok((v, skipped));
                }
                Some(Incoming::Msg(v)) => skipped.push(v),
                Some(Incoming::Closed(code)) => {
                    bail!("socket closed (code {code:?}) while waiting for {ty}; got {skipped:?}")
                }
                None => bail!("no {ty} within {timeout:?}; got {skipped:?}"),
            }
        }
    }

    /// Waits until the server closes the socket; returns the close code and everything
    /// received before it.
    pub async fn expect_close(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<(Option<u16>, Vec<Value>)> {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv_timeout(left).await {
                Some(Incoming::Msg(v)) => got.push(v),
                Some(Incoming::Closed(code)) => return Ok((code, got)),
                None => bail!("socket still open after {timeout:?}; got {got:?}"),
            }
        }
    }

    /// Takes the receiving half, for a client that dispatches messages itself.
    pub(crate) fn into_parts(
        self,
    ) -> (
        SignalSender,
        mpsc::UnboundedReceiver<Incoming>,
        Instant,
        Tasks,
    ) {
        (self.sender, self.rx, self.opened_at, self.tasks)
    }
}

/// Background tasks aborted when their owner is dropped.
#[derive(Default)]
pub struct Tasks(pub Vec<JoinHandle<()>>);

impl Tasks {
    pub fn push(&mut self, t: JoinHandle<()>) {
        self.0.push(t);
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// A message for a transcript: SDP bodies and tokens shortened to their first line.
fn abbreviate(text: &str) -> String {
    if std::env::var("BRIDGE_E2E_TRACE").is_ok_and(|v| v == "full") {
        return text.to_owned();
    }
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return text.chars().take(200).collect();
    };
    for key in ["sdp", "token"] {
        if let Some(s) = v.get(key).and_then(Value::as_str) {
            let short = format!(
                "{}…({} bytes)",
                s.lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(24)
                    .collect::<String>(),
                s.len()
            );
            v[key] = Value::String(short);
        }
    }
    v.to_string()
}

/// The `join` message.
pub fn join_msg(token: &str) -> Value {
    json!({"type": "join", "v": 1, "token": token})
}

/// The `join` message with a `default_view` (`high`, `low` or `off`) when given.
pub fn join_msg_viewing(token: &str, default_view: Option<&str>) -> Value {
    let mut v = join_msg(token);
    if let Some(q) = default_view {
        v["default_view"] = json!(q);
    }
    v
}

/// The `code` of an `error` message.
pub fn error_code(v: &Value) -> Option<&str> {
    (v.get("type")?.as_str()? == "error")
        .then(|| v.get("code")?.as_str())
        .flatten()
}

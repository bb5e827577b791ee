//! Janus's REST API as the benchmark uses it: sessions, plugin handles, plugin requests
//! (synchronous ones answered in the reply, asynchronous ones through the long-poll),
//! trickled candidates, keepalives. Everything Janus sends is checked, never unwrapped:
//! a malformed or refused reply becomes an error that says which request it answered.

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// A description Janus sent or is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jsep {
    /// `offer` or `answer`.
    pub kind: String,
    pub sdp: String,
}

impl Jsep {
    fn to_json(&self) -> Value {
        json!({"type": self.kind, "sdp": self.sdp})
    }

    fn parse(v: &Value) -> anyhow::Result<Jsep> {
        let kind = v["type"].as_str().context("jsep without a type")?;
        let sdp = v["sdp"].as_str().context("jsep without an sdp")?;
        Ok(Jsep {
            kind: kind.to_owned(),
            sdp: sdp.to_owned(),
        })
    }
}

/// One event from the long-poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A plugin event; `data` is `plugindata.data`.
    Plugin {
        sender: u64,
        transaction: Option<String>,
        data: Value,
        jsep: Option<Jsep>,
    },
    /// The handle's PeerConnection is up (ICE + DTLS done).
    WebrtcUp {
        sender: u64,
    },
    Hangup {
        sender: u64,
        reason: String,
    },
    /// Anything else (media, slowlink, keepalive, detached, ...), by its `janus` field.
    Other {
        kind: String,
    },
}

/// Checks one reply of the API: `{"janus": "error", "error": {code, reason}}` becomes an
/// error naming `what`; anything without a `janus` field is malformed.
pub fn check_reply<'a>(v: &'a Value, what: &str) -> anyhow::Result<&'a Value> {
    match v["janus"].as_str() {
        Some("error") => {
            let code = v["error"]["code"].as_i64().unwrap_or(0);
            let reason = v["error"]["reason"].as_str().unwrap_or("no reason given");
            bail!("Janus refused {what}: error {code}: {reason}")
        }
        Some(_) => Ok(v),
        None => bail!("malformed Janus reply to {what} (no \"janus\" field): {v}"),
    }
}

/// The `data.id` of a `success` reply (a new session or handle).
pub fn success_id(v: &Value, what: &str) -> anyhow::Result<u64> {
    let v = check_reply(v, what)?;
    if v["janus"] != "success" {
        bail!("expected success for {what}, Janus said {v}");
    }
    v["data"]["id"]
        .as_u64()
        .with_context(|| format!("Janus's reply to {what} has no numeric data.id: {v}"))
}

/// A VideoRoom error inside plugin data (`{"videoroom": "event", "error_code": .., "error": ..}`).
pub fn plugin_error(data: &Value) -> Option<String> {
    let code = data.get("error_code")?;
    Some(format!(
        "VideoRoom error {}: {}",
        code,
        data["error"].as_str().unwrap_or("no reason given")
    ))
}

/// The plugin data of a synchronous plugin request's `success` reply.
pub fn sync_plugin_data(v: &Value, what: &str) -> anyhow::Result<Value> {
    let v = check_reply(v, what)?;
    let data = v["plugindata"]["data"].clone();
    if !data.is_object() {
        bail!("Janus's reply to {what} carries no plugin data: {v}");
    }
    if let Some(e) = plugin_error(&data) {
        bail!("{what}: {e}");
    }
    Ok(data)
}

/// One event object.
pub fn parse_event(v: &Value) -> anyhow::Result<Event> {
    let kind = v["janus"]
        .as_str()
        .with_context(|| format!("malformed Janus event (no \"janus\" field): {v}"))?;
    let sender = || {
        v["sender"]
            .as_u64()
            .with_context(|| format!("Janus {kind} event without a sender handle: {v}"))
    };
    Ok(match kind {
        "event" => Event::Plugin {
            sender: sender()?,
            transaction: v["transaction"].as_str().map(str::to_owned),
            data: v["plugindata"]["data"].clone(),
            jsep: match v.get("jsep") {
                Some(j) => Some(Jsep::parse(j).with_context(|| format!("in event {v}"))?),
                None => None,
            },
        },
        "webrtcup" => Event::WebrtcUp { sender: sender()? },
        "hangup" => Event::Hangup {
            sender: sender()?,
            reason: v["reason"].as_str().unwrap_or_default().to_owned(),
        },
        other => Event::Other {
            kind: other.to_owned(),
        },
    })
}

/// A long-poll answer: one event object, or an array of them (with `maxev`).
pub fn parse_poll(body: &Value) -> anyhow::Result<Vec<Event>> {
    match body {
        Value::Array(items) => items.iter().map(parse_event).collect(),
        Value::Object(_) => {
            check_reply(body, "the long-poll")?;
            Ok(vec![parse_event(body)?])
        }
        _ => bail!("malformed Janus long-poll answer: {body}"),
    }
}

/// The HTTP side: one reqwest client (a connection pool) for every session.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    next_tx: Arc<AtomicU64>,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Api {
            // Above the long-poll's 30 s, so an idle poll ends with Janus's keepalive.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            next_tx: Arc::new(AtomicU64::new(1)),
        })
    }

    fn transaction(&self) -> String {
        format!("t{}", self.next_tx.fetch_add(1, Ordering::Relaxed))
    }

    async fn post(&self, path: &str, body: Value, what: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {url} ({what})"))?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| format!("{what}: body"))?;
        let v: Value = serde_json::from_str(&text).with_context(|| {
            format!("Janus answered {what} with HTTP {status} and no JSON: {text:.200}")
        })?;
        check_reply(&v, what)?;
        Ok(v)
    }

    /// `GET /janus/info`.
    pub async fn info(&self) -> anyhow::Result<Value> {
        let v: Value = self
            .http
            .get(format!("{}/info", self.base))
            .send()
            .await?
            .json()
            .await
            .context("Janus info")?;
        check_reply(&v, "info")?;
        Ok(v)
    }

    /// Creates a session and starts its long-poll and keepalive tasks.
    pub async fn create_session(&self) -> anyhow::Result<Session> {
        let tx = self.transaction();
        let reply = self
            .post("", json!({"janus": "create", "transaction": tx}), "create")
            .await?;
        let id = success_id(&reply, "create")?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(long_poll(self.clone(), id, events_tx)),
            tokio::spawn(keepalive(self.clone(), id)),
        ];
        Ok(Session {
            api: self.clone(),
            id,
            events: Mutex::new(events_rx),
            tasks,
        })
    }
}

/// One `GET /janus/<session>` at a time, forever; events go to the session's channel.
async fn long_poll(api: Api, session: u64, events: mpsc::UnboundedSender<Event>) {
    let url = format!("{}/{session}?maxev=10", api.base);
    loop {
        let polled = async {
            let v: Value = api.http.get(&url).send().await?.json().await?;
            parse_poll(&v)
        }
        .await;
        match polled {
            Ok(list) => {
                for e in list {
                    if events.send(e).is_err() {
                        return; // the session is gone
                    }
                }
            }
            Err(e) => {
                if events.is_closed() {
                    return;
                }
                let text = format!("{e:#}");
                eprintln!("[janus session {session}] long-poll: {text}");
                if text.contains("No such session") {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The long-poll already keeps a session alive; an explicit keepalive every 25 s (under
/// Janus's 60 s session timeout) also covers a poll that is being retried.
async fn keepalive(api: Api, session: u64) {
    let mut tick = tokio::time::interval(Duration::from_secs(25));
    tick.tick().await;
    loop {
        tick.tick().await;
        let tx = api.transaction();
        let body = json!({"janus": "keepalive", "transaction": tx});
        if let Err(e) = api.post(&format!("/{session}"), body, "keepalive").await {
            eprintln!("[janus session {session}] keepalive: {e:#}");
        }
    }
}

/// A plugin request sent, its answer not yet read.
#[derive(Debug)]
pub enum Pending {
    /// Answered in the reply itself: the plugin data.
    Done(Value),
    /// Acked; the answer will come through the long-poll with this transaction.
    Awaiting { tx: String, what: String },
}

/// One Janus session; its background tasks end when it is dropped.
pub struct Session {
    api: Api,
    pub id: u64,
    events: Mutex<mpsc::UnboundedReceiver<Event>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Session {
    /// Attaches `plugin`; returns the handle id.
    pub async fn attach(&self, plugin: &str) -> anyhow::Result<u64> {
        let tx = self.api.transaction();
        let body = json!({"janus": "attach", "plugin": plugin, "transaction": tx});
        let what = format!("attach {plugin}");
        let reply = self.api.post(&format!("/{}", self.id), body, &what).await?;
        success_id(&reply, &what)
    }

    fn message_body(&self, body: &Value, jsep: Option<&Jsep>, tx: &str) -> Value {
        let mut msg = json!({"janus": "message", "body": body, "transaction": tx});
        if let Some(j) = jsep {
            msg["jsep"] = j.to_json();
        }
        msg
    }

    /// A synchronous plugin request (e.g. VideoRoom `create`): its plugin data.
    pub async fn request(&self, handle: u64, body: Value) -> anyhow::Result<Value> {
        let what = format!("the {} request", body["request"]);
        let tx = self.api.transaction();
        let msg = self.message_body(&body, None, &tx);
        let reply = self
            .api
            .post(&format!("/{}/{handle}", self.id), msg, &what)
            .await?;
        sync_plugin_data(&reply, &what)
    }

    /// An asynchronous plugin request (join, publish, start): Janus acks it, and the
    /// answer comes through the long-poll with the same transaction. Returns the answer's
    /// plugin data and description; a VideoRoom error in it is an error.
    pub async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<&Jsep>,
        timeout: Duration,
    ) -> anyhow::Result<(Value, Option<Jsep>)> {
        let pending = self.send(handle, body, jsep).await?;
        self.answer(pending, timeout).await
    }

    /// The first half of [`Session::message`]: the request is sent (and acked) when this
    /// returns, so what must follow it (trickled candidates) can go.
    pub async fn send(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<&Jsep>,
    ) -> anyhow::Result<Pending> {
        let what = format!("the {} request", body["request"]);
        let tx = self.api.transaction();
        let msg = self.message_body(&body, jsep, &tx);
        let reply = self
            .api
            .post(&format!("/{}/{handle}", self.id), msg, &what)
            .await?;
        match reply["janus"].as_str() {
            Some("ack") => Ok(Pending::Awaiting { tx, what }),
            // Some requests are answered at once even when sent as asynchronous.
            Some("success") => Ok(Pending::Done(sync_plugin_data(&reply, &what)?)),
            _ => bail!("unexpected reply to {what}: {reply}"),
        }
    }

    /// The second half of [`Session::message`]: waits for the answer to `pending`.
    pub async fn answer(
        &self,
        pending: Pending,
        timeout: Duration,
    ) -> anyhow::Result<(Value, Option<Jsep>)> {
        let (tx, what) = match pending {
            Pending::Done(data) => return Ok((data, None)),
            Pending::Awaiting { tx, what } => (tx, what),
        };
        let mut events = self.events.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ev = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| anyhow!("no answer to {what} within {timeout:?}"))?
                .ok_or_else(|| anyhow!("session {} closed awaiting {what}", self.id))?;
            match ev {
                Event::Plugin {
                    transaction: Some(t),
                    data,
                    jsep,
                    ..
                } if t == tx => {
                    if let Some(e) = plugin_error(&data) {
                        bail!("{what}: {e}");
                    }
                    return Ok((data, jsep));
                }
                Event::Hangup { reason, .. } => bail!("Janus hung up awaiting {what}: {reason}"),
                _ => {} // webrtcup, media, ...: nothing to wait for
            }
        }
    }

    /// Waits for the `webrtcup` of this session's handle: Janus's PeerConnection is up.
    /// (A VideoRoom feed can be subscribed to only from then on.)
    pub async fn webrtc_up(&self, timeout: Duration) -> anyhow::Result<()> {
        let mut events = self.events.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ev = tokio::time::timeout_at(deadline, events.recv())
                .await
                .map_err(|_| anyhow!("Janus's PeerConnection not up within {timeout:?}"))?
                .ok_or_else(|| anyhow!("session {} closed awaiting webrtcup", self.id))?;
            match ev {
                Event::WebrtcUp { .. } => return Ok(()),
                Event::Hangup { reason, .. } => bail!("Janus hung up before webrtcup: {reason}"),
                _ => {}
            }
        }
    }

    /// Sends one trickled candidate (`{"candidate", "sdpMid", "sdpMLineIndex"}`) or
    /// `{"completed": true}`.
    pub async fn trickle(&self, handle: u64, candidate: Value) -> anyhow::Result<()> {
        let tx = self.api.transaction();
        let body = json!({"janus": "trickle", "candidate": candidate, "transaction": tx});
        self.api
            .post(&format!("/{}/{handle}", self.id), body, "trickle")
            .await?;
        Ok(())
    }

    /// Destroys the session (and its handles' PeerConnections).
    pub async fn destroy(&self) -> anyhow::Result<()> {
        // The long-poll would only report the session gone.
        for t in &self.tasks {
            t.abort();
        }
        let tx = self.api.transaction();
        let body = json!({"janus": "destroy", "transaction": tx});
        self.api
            .post(&format!("/{}", self.id), body, "destroy")
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_code_and_reason() {
        let v = json!({"janus": "error", "error": {"code": 458, "reason": "No such session 1"}});
        let e = check_reply(&v, "attach").unwrap_err().to_string();
        assert_eq!(e, "Janus refused attach: error 458: No such session 1");
        // An error without its details still is one, with a clear message.
        let e = check_reply(&json!({"janus": "error"}), "create")
            .unwrap_err()
            .to_string();
        assert!(e.contains("error 0: no reason given"), "{e}");
        let e = check_reply(&json!({"hello": 1}), "create")
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed"), "{e}");
    }

    #[test]
    fn ids_come_from_success_only() {
        let ok = json!({"janus": "success", "transaction": "t1", "data": {"id": 42}});
        assert_eq!(success_id(&ok, "create").unwrap(), 42);
        for bad in [
            json!({"janus": "success", "data": {"id": "42"}}),
            json!({"janus": "success", "data": {}}),
            json!({"janus": "ack"}),
            json!({"janus": "success", "data": {"id": -1}}),
        ] {
            assert!(success_id(&bad, "create").is_err(), "{bad}");
        }
    }

    #[test]
    fn plugin_errors_are_errors() {
        let v = json!({"janus": "success", "plugindata": {"plugin": "janus.plugin.videoroom",
            "data": {"videoroom": "event", "error_code": 427, "error": "Room 7 already exists"}}});
        let e = sync_plugin_data(&v, "create").unwrap_err().to_string();
        assert!(e.contains("427") && e.contains("already exists"), "{e}");
        let ok = json!({"janus": "success", "plugindata": {"data": {"videoroom": "created", "room": 7}}});
        assert_eq!(sync_plugin_data(&ok, "create").unwrap()["room"], 7);
        assert!(sync_plugin_data(&json!({"janus": "success"}), "create").is_err());
    }

    #[test]
    fn long_poll_answers_parse_as_lists() {
        let offer = json!([{
            "janus": "event", "session_id": 1, "sender": 2, "transaction": "t9",
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "attached"}},
            "jsep": {"type": "offer", "sdp": "v=0\r\n"}
        }, {"janus": "webrtcup", "session_id": 1, "sender": 2},
           {"janus": "media", "session_id": 1, "sender": 2, "type": "video", "receiving": true}]);
        let ev = parse_poll(&offer).unwrap();
        assert_eq!(ev.len(), 3);
        match &ev[0] {
            Event::Plugin {
                sender,
                transaction,
                jsep,
                ..
            } => {
                assert_eq!(*sender, 2);
                assert_eq!(transaction.as_deref(), Some("t9"));
                assert_eq!(jsep.as_ref().map(|j| j.kind.as_str()), Some("offer"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ev[1], Event::WebrtcUp { sender: 2 });
        assert_eq!(
            parse_poll(&json!({"janus": "keepalive"})).unwrap(),
            [Event::Other {
                kind: "keepalive".into()
            }]
        );
    }

    #[test]
    fn malformed_events_are_errors_not_panics() {
        for bad in [
            json!("text"),
            json!(17),
            json!([{"no": "janus"}]),
            json!([{"janus": "event", "plugindata": {}}]), // no sender
            json!([{"janus": "event", "sender": 1, "jsep": {"type": "offer"}}]), // no sdp
            json!({"janus": "error", "error": {"code": 458, "reason": "No such session"}}),
        ] {
            assert!(parse_poll(&bad).is_err(), "{bad}");
        }
    }
}

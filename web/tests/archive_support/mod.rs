//! The real `bridge` binary for the meeting-file tests: a server on a fresh data folder
//! with its first-run accounts, an HTTP client, and a WebSocket join with a unit's link.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_bridge");
const BOUNDARY: &str = "----archive-test-boundary";

/// `bridge serve` on a fresh data folder, with its first-run accounts.
pub struct Server {
    child: Child,
    pub http: SocketAddr,
    pub data: PathBuf,
    lines: Vec<String>,
    _dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut child = Command::new(BIN)
            .args(["serve", "--data"])
            .arg(&data)
            .args(["--http", "127.0.0.1:0", "--media-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            // The banner, the demo links and every seeded account's password.
            .take(13)
            .map(|l| l.unwrap())
            .collect();
        let http = lines[0]
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http="))
            .unwrap()
            .parse()
            .unwrap();
        Server {
            child,
            http,
            data,
            lines,
            _dir: dir,
            client: reqwest::Client::new(),
        }
    }

    /// Kills the server without warning (SIGKILL) and starts it again on the same data.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--data"])
            .arg(&self.data)
            .args(["--http", "127.0.0.1:0", "--media-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        self.http = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http="))
            .unwrap()
            .parse()
            .unwrap();
        self.child = child;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    pub fn password(&self, user: &str) -> String {
        let line = self
            .lines
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{user} (")))
            .unwrap_or_else(|| panic!("no {user} in {:?}", self.lines));
        line.rsplit(' ').next().unwrap().to_owned()
    }

    pub async fn login(&self, user: &str) -> String {
        let res = self
            .client
            .post(self.url("/api/auth/login"))
            .json(&json!({"username": user, "password": self.password(user)}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {user}");
        let set = res.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str, cookie: &str, range: Option<&str>) -> reqwest::Response {
        let mut r = self.client.get(self.url(path)).header("cookie", cookie);
        if let Some(range) = range {
            r = r.header("range", range);
        }
        r.send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, cookie: &str) -> (u16, Value) {
        let res = self.get(path, cookie, None).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Creates a meeting as `vp.tinh`; returns its id.
    pub async fn meeting(&self, cookie: &str, body: Value) -> String {
        let res = self
            .client
            .post(self.url("/api/meetings"))
            .header("cookie", cookie)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let out: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "{out}");
        out["meeting"]["id"].as_str().unwrap().to_owned()
    }

    pub async fn upload(&self, cookie: &str, meeting: &str, filename: &str, bytes: &[u8]) {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let res = self
            .client
            .post(self.url(&format!("/api/meetings/{meeting}/documents")))
            .header("cookie", cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
}

pub fn meeting_body(title: &str, location: &str, units: &[&str], start: OffsetDateTime) -> Value {
    json!({
        "title": title,
        "agenda": ["Khai mạc", "Đánh giá sản xuất vụ đông"],
        "organizer": "25",
        "location": location,
        "starts_at": start.format(&Rfc3339).unwrap(),
        "ends_at": (start + Duration::hours(2)).format(&Rfc3339).unwrap(),
        "participants": units.iter().map(|u| json!({"type": "unit", "code": u})).collect::<Vec<_>>(),
    })
}

pub fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Joins the meeting room with the unit's join link; returns the open socket.
pub async fn join(
    s: &Server,
    cookie: &str,
    meeting: &str,
    unit: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (status, link) = s
        .get_json(&format!("/api/meetings/{meeting}/join/{unit}"), cookie)
        .await;
    assert_eq!(status, 200, "{link}");
    let token = link["ticket"]["token"].as_str().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", s.http))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"type": "join", "token": token}).to_string().into(),
    ))
    .await
    .unwrap();
    loop {
        let m = ws.next().await.unwrap().unwrap();
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).unwrap();
            assert_ne!(v["type"], "error", "{v}");
            if v["type"] == "joined" {
                return ws;
            }
        }
    }
}

/// Attendance is written by a background task: poll until `check` holds (or fail).
pub async fn attendance_until(
    s: &Server,
    cookie: &str,
    id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/meetings/{id}/attendance");
    for _ in 0..100 {
        let (status, v) = s.get_json(&path, cookie).await;
        assert_eq!(status, 200, "{v}");
        if check(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("attendance never reached the expected state");
}

pub fn unit<'a>(v: &'a Value, code: &str) -> &'a Value {
    v.as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == code)
        .unwrap()
}

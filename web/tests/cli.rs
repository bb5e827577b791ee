//! The `bridge` binary as an operator uses it: `bridge token` and `bridge serve`.

use bridge_token::{Role, TokenKey};
use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_bridge");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The token inside `.../r/ROOM?t=TOKEN`.
fn token_of(url: &str) -> &str {
    url.split_once("?t=").unwrap().1.trim()
}

#[test]
fn token_prints_a_join_url_whose_token_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = Command::new(BIN)
        .args(["token", "--data"])
        .arg(&data)
        .args([
            "--room",
            "hop-tinh",
            "--name",
            "Xã Thanh Sơn",
            "--role",
            "chair",
        ])
        .args([
            "--unit",
            "25222",
            "--ttl",
            "30m",
            "--base-url",
            "http://meet.example:9000/",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).unwrap();
    assert!(
        url.starts_with("http://meet.example:9000/r/hop-tinh?t="),
        "{url}"
    );

    // The secret was created with mode 0600 and is what verifies the token.
    let secret = data.join("secret.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let key = TokenKey::load_or_create(&data).unwrap();
    let claims = key.verify(token_of(&url), Some("hop-tinh"), now()).unwrap();
    assert_eq!(claims.name, "Xã Thanh Sơn");
    assert_eq!(claims.role, Role::Chair);
    assert_eq!(claims.unit.as_deref(), Some("25222"));
    assert_eq!(claims.exp - claims.iat, 1800);
    // Another secret does not verify it.
    assert!(
        TokenKey::generate()
            .verify(token_of(&url), None, now())
            .is_err()
    );

    // The default role is member and the default base is the local server.
    let out = Command::new(BIN)
        .args(["token", "--data"])
        .arg(&data)
        .args(["--room", "demo", "--name", "Xã Thanh Sơn"])
        .output()
        .unwrap();
    let url = String::from_utf8(out.stdout).unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/r/demo?t="), "{url}");
    let claims = key.verify(token_of(&url), Some("demo"), now()).unwrap();
    assert_eq!(claims.role, Role::Member);
    assert_eq!(claims.exp - claims.iat, 2 * 3600);
}

#[test]
fn token_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["--room", "demo", "--name", "A", "--role", "admin"],
            "admin",
        ),
        (
            vec!["--room", "demo", "--name", "A", "--ttl", "soon"],
            "soon",
        ),
        (vec!["--room", "../etc", "--name", "A"], "invalid room"),
        // A hand-made link is for a day at most unless the operator says otherwise.
        (
            vec!["--room", "demo", "--name", "A", "--ttl", "2d"],
            "longer than the maximum",
        ),
        (vec!["--room", "demo", "--name", " "], "name"),
    ] {
        let out = Command::new(BIN)
            .args(["token", "--data"])
            .arg(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// GET over a plain socket: (status, headers, body).
fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn serve_answers_health_pages_and_ws_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let mut child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--http", "127.0.0.1:0", "--media-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let field = |k: &str| -> SocketAddr {
        let w = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap();
        w.parse().unwrap()
    };
    assert!(first.starts_with("listening "), "{first}");
    let (http, udp, tcp) = (field("http"), field("udp"), field("tcp"));
    assert_ne!(http.port(), 0);
    assert_ne!(udp.port(), 0);
    assert_ne!(tcp.port(), 0);
    let banner: Vec<String> = lines.by_ref().take(4).map(|l| l.unwrap()).collect();
    assert!(
        banner[0].contains(&format!("Open: http://{http}/")),
        "{banner:?}"
    );
    let chair_link = banner
        .iter()
        .find(|l| l.contains("Tỉnh Phú Thọ (chair)"))
        .unwrap();
    assert!(
        banner.iter().any(|l| l.contains("Xã Thanh Sơn (member)")),
        "{banner:?}"
    );
    assert!(
        data.join("secret.key").exists(),
        "data dir created on first run"
    );

    let (status, _, body) = get(http, "/healthz");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(health["sfu"]["rooms"].is_number(), "{health}");

    let (status, head, body) = get(http, "/r/demo");
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(
        body.contains("<html") || body.contains("<!doctype"),
        "room page"
    );
    let (status, head, _) = get(http, "/static/js/app.js");
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/javascript; charset=utf-8"),
        "{head}"
    );
    let (status, head, body) = get(http, "/static/nope.js");
    assert_eq!(status, 404);
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(body.contains("\"status\":404"), "{body}");

    // Request bodies are limited (1 MiB): a larger declared body is refused up front.
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {http}\r\nContent-Length: 2000000\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");

    // The printed demo link joins the demo room.
    let token = token_of(chair_link);
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    let join = serde_json::json!({"type": "join", "v": 1, "token": token, "room": "demo"});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let joined: serde_json::Value = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => serde_json::from_str(&t).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["participant"]["name"], "Tỉnh Phú Thọ");

    // A token signed with the server's own key but valid for 300 years is refused.
    let key = TokenKey::load_or_create(&data).unwrap();
    let forever = key
        .sign(&bridge_token::Claims {
            room: "demo".into(),
            name: "Xã Thanh Sơn".into(),
            role: Role::Member,
            unit: None,
            sub: bridge_token::random_id(),
            iat: now(),
            exp: now() + 300 * 365 * 86_400,
            nbf: None,
        })
        .unwrap();
    let (mut long, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    let join = serde_json::json!({"type": "join", "v": 1, "token": forever, "room": "demo"});
    long.send(Message::text(join.to_string())).await.unwrap();
    let mut said = Vec::new();
    let mut refused_with = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), long.next()).await {
        match msg {
            Message::Text(t) => said.push(serde_json::from_str::<serde_json::Value>(&t).unwrap()),
            Message::Close(f) => {
                refused_with = f.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(said[0]["code"], "token_lifetime", "{said:?}");
    assert_eq!(
        said[1],
        serde_json::json!({"type": "bye", "reason": "refused"})
    );
    assert_eq!(refused_with, Some(1008));

    // SIGTERM: the session hears bye {shutdown} and a close, the process exits 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut saw_bye = false;
    let mut close_code = None;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        match msg {
            Message::Text(t) => {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                saw_bye |= v == serde_json::json!({"type": "bye", "reason": "shutdown"});
            }
            Message::Close(f) => {
                close_code = f.map(|f| u16::from(f.code));
                break;
            }
            _ => {}
        }
    }
    assert!(saw_bye, "no bye before close");
    assert_eq!(close_code, Some(1001));
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

fn bridge(args: &[&str], data: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

fn units_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scheduler/units")
}

async fn open_db(data: &std::path::Path) -> bridge_scheduler::Db {
    bridge_scheduler::Db::open_sqlite_file(&data.join("bridge.db"))
        .await
        .unwrap()
}

#[tokio::test]
async fn units_import_loads_a_tree_and_refuses_duplicates_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = units_dir().join("units-vn-2025.csv");
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    let out = bridge(&["units", "import", csv.to_str().unwrap()], &data);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!("imported {rows} units")),
        "{stdout}"
    );
    assert_eq!(
        open_db(&data).await.unit_count().await.unwrap(),
        rows as i64
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "code,parent_code,level,kind,name\n901,,1,tinh,Tỉnh A\n901,,1,tinh,Tỉnh B\n",
    )
    .unwrap();
    let other = dir.path().join("other");
    let out = bridge(&["units", "import", bad.to_str().unwrap()], &other);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(open_db(&other).await.unit_count().await.unwrap(), 0);
}

#[tokio::test]
async fn users_add_creates_accounts_that_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = units_dir().join("units-phu-tho.csv");
    assert!(
        bridge(&["units", "import", csv.to_str().unwrap()], &data)
            .status
            .success()
    );

    let out = bridge(
        &[
            "users",
            "add",
            "--username",
            "vp.xa",
            "--role",
            "secretary",
            "--unit",
            "07888",
            "--password",
            "mật khẩu dài",
        ],
        &data,
    );
    assert!(out.status.success(), "{out:?}");
    // No --password: one is generated and printed.
    let out = bridge(
        &["users", "add", "--username", "boss", "--role", "admin"],
        &data,
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .trim()
        .to_owned();

    let db = open_db(&data).await;
    let u = db.authenticate("vp.xa", "mật khẩu dài").await.unwrap();
    assert_eq!(u.role, bridge_scheduler::Role::Secretary);
    assert_eq!(u.unit.unwrap().as_str(), "07888");
    let a = db.authenticate("boss", &generated).await.unwrap();
    assert_eq!(a.role, bridge_scheduler::Role::Administrator);
    assert!(db.authenticate("boss", "wrong").await.is_err());

    // Unknown role, a site without its unit, a taken name: refused, nothing added.
    for args in [
        &["users", "add", "--username", "x", "--role", "king"][..],
        &["users", "add", "--username", "x", "--role", "site"][..],
        &[
            "users",
            "add",
            "--username",
            "vp.xa",
            "--role",
            "site",
            "--unit",
            "07888",
        ][..],
    ] {
        let out = bridge(args, &data);
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    assert_eq!(db.user_count().await.unwrap(), 2);
}

/// POST a JSON body over a plain socket: (status, body).
fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (
        head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        body.to_owned(),
    )
}

/// Runs `bridge serve` until its account lines are printed; returns (child, http, stdout lines).
fn serve_first_lines(
    data: &std::path::Path,
    n: usize,
) -> (std::process::Child, SocketAddr, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(data)
        .args(["--http", "127.0.0.1:0", "--media-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(n)
        .map(|l| l.unwrap())
        .collect();
    let http = lines[0]
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .unwrap()
        .parse()
        .unwrap();
    (child, http, lines)
}

#[test]
fn serve_seeds_the_demo_once_and_its_printed_accounts_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (mut child, http, lines) = serve_first_lines(&data, 12);
    let password = |user: &str| -> String {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{user} (")))
            .unwrap_or_else(|| panic!("no {user} in {lines:?}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert!(lines.iter().any(|l| l.contains("221")), "{lines:?}");
    let (status, _, body) = get(http, "/api/openapi.json");
    assert_eq!(status, 200);
    assert!(body.contains("/meetings/urgent"));
    for user in ["admin", "vp.tinh", "site.07888"] {
        let login = format!(r#"{{"username":"{user}","password":"{}"}}"#, password(user));
        let (status, body) = post_json(http, "/api/auth/login", &login);
        assert_eq!(status, 200, "{user}: {body}");
    }
    let (status, _) = post_json(
        http,
        "/api/auth/login",
        r#"{"username":"admin","password":"nope"}"#,
    );
    assert_eq!(status, 401);
    child.kill().unwrap();
    child.wait().unwrap();

    // The first run printed the demo room's join links.
    assert!(lines.iter().any(|l| l.contains("/r/demo?t=")), "{lines:?}");

    // Second run: same database, nothing seeded, no password and no join link printed
    // again (a chair link in every start's log would let anyone chair), only how to get
    // them: listening, open, demo room, scheduler.
    let (mut child, _, lines) = serve_first_lines(&data, 4);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!lines.iter().any(|l| l.contains("admin (")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("?t=")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("bridge demo-links")),
        "{lines:?}"
    );

    // `bridge demo-links` prints a chair's and a hall's link on the given base URL.
    let out = Command::new(BIN)
        .args(["demo-links", "--data"])
        .arg(&data)
        .args(["--base-url", "https://10.0.0.5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let links: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("https://10.0.0.5/r/demo?t="))
        .collect();
    assert_eq!(links.len(), 2, "{text}");
    assert!(
        links[0].contains("(chair)") && links[1].contains("(member)"),
        "{text}"
    );
}

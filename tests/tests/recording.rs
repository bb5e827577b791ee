//! Server-side recording against the real binary: a meeting scheduled with "record"
//! on is recorded when its room opens. Two halls publish Opus tones and VP8; one leaves
//! and comes back; when the room closes, the API lists an audio and a video file, both
//! read by FFprobe as Opus and VP8 lasting as long as the room was open, downloadable
//! with HTTP Range by the invited units, and refused (403) to a site not invited.

use anyhow::{Context, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::client::{Client, ClientOptions};
use bridge_e2e::hearing::assert_heard;
use bridge_e2e::readers::ffprobe;
use bridge_e2e::sched_pages::add_user;
use bridge_e2e::server::{BridgeServer, bridge_bin, parse_listening};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn hall(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(150_000),
        ..Default::default()
    }
}

/// The server with a secretary of the province (25), a site of the invited district
/// (227) and a site of a district not invited (228), and a recorded meeting.
async fn recorded_meeting() -> anyhow::Result<(BridgeServer, ApiSession, String)> {
    let server = BridgeServer::start().await?;
    add_user(&server, "vp.thu", "secretary", "25")?;
    add_user(&server, "tp.227", "site", "227")?;
    add_user(&server, "tx.228", "site", "228")?;
    let secretary = ApiSession::login(&server.http_url(), "vp.thu").await?;
    let start = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let fmt = &time::format_description::well_known::Rfc3339;
    let created = secretary
        .call(
            reqwest::Method::POST,
            "/meetings",
            json!({
            "title": "Họp trực tuyến có ghi hình",
            "organizer": "25",
            "starts_at": start.format(fmt)?,
            "ends_at": (start + time::Duration::hours(1)).format(fmt)?,
            "participants": [{"type": "unit", "code": "227"}],
            "record": true,
            }),
        )
        .await?;
    let id = created["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned();
    ensure!(created["meeting"]["record"] == true, "{created}");
    Ok((server, secretary, id))
}

async fn join(server: &BridgeServer, room: &str, unit: &str, freq: f32) -> anyhow::Result<Client> {
    let (name, role) = match unit {
        "25" => ("Tỉnh Phú Thọ", "chair"),
        _ => ("Thành phố Việt Trì", "member"),
    };
    Client::join_as(server, room, name, role, Some(unit), hall(freq)).await
}

/// The meeting's recordings once none is still `recording` (the room has closed).
async fn finished_rows(api: &ApiSession, id: &str) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let v: Value = api
            .get(&format!("/meetings/{id}/recordings"))
            .send()
            .await?
            .json()
            .await?;
        rows = v.as_array().cloned().unwrap_or_default();
        if rows.len() == 2 && rows.iter().all(|r| r["status"] != "recording") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ensure!(rows.len() == 2, "recordings: {rows:?}");
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_meeting_yields_audio_and_video_for_the_invited_only() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let (server, secretary, id) = recorded_meeting().await?;
    let room = format!("m-{id}");

    let opened = Instant::now();
    let chair = join(&server, &room, "25", 440.0).await?;
    let district = join(&server, &room, "227", 660.0).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The district drops out and comes back: the recording goes on through it.
    district.leave(WAIT).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let district = join(&server, &room, "227", 660.0).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    district.leave(WAIT).await?;
    chair.leave(WAIT).await?;
    let open_for = opened.elapsed().as_secs_f64();

    let path = format!("/meetings/{id}/recordings");
    let rows = finished_rows(&secretary, &id).await?;
    let dir = tempfile::tempdir()?;
    for (kind, file, codec) in [
        ("audio", "1-audio.ogg", "opus"),
        ("video", "1-video.ivf", "vp8"),
    ] {
        let r = rows.iter().find(|r| r["kind"] == kind).context(kind)?;
        ensure!(r["status"] == "done" && r["filename"] == file, "{r}");
        let size = r["size"].as_u64().unwrap_or(0);
        ensure!(size > 1000, "{r}");
        // The invited district downloads it, first a range (a resumed download), then whole.
        let district = ApiSession::login(&server.http_url(), "tp.227").await?;
        let url = format!("{path}/{}", r["id"].as_str().unwrap_or_default());
        let part = district
            .get(&url)
            .header("range", "bytes=0-99")
            .send()
            .await?;
        ensure!(part.status() == 206, "range: {}", part.status());
        ensure!(part.bytes().await?.len() == 100);
        let whole = district.get(&url).send().await?;
        ensure!(whole.status() == 200, "download: {}", whole.status());
        let bytes = whole.bytes().await?;
        ensure!(
            bytes.len() as u64 == size,
            "listed {size}, got {}",
            bytes.len()
        );
        let saved = dir.path().join(file);
        std::fs::write(&saved, &bytes)?;
        let (got, duration) = ffprobe(&saved)?;
        println!("{file}: {got}, {duration:.2} s, {size} bytes; room open {open_for:.2} s");
        ensure!(got == codec, "{file}: codec {got}");
        ensure!(
            (duration - open_for).abs() < 1.5,
            "{file}: {duration:.2} s, the room was open {open_for:.2} s"
        );

        // A site not invited sees neither the list nor the file.
        let outsider = ApiSession::login(&server.http_url(), "tx.228").await?;
        ensure!(outsider.get(&path).send().await?.status() == 403);
        ensure!(outsider.get(&url).send().await?.status() == 403);
    }
    Ok(())
}

/// The disk fills up: the audio file cannot be written (its name points at /dev/full).
/// Its row says `failed` with the disk error, the video is recorded all the same, and
/// the meeting goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_file_not_the_meeting() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let (server, secretary, id) = recorded_meeting().await?;
    let dir = server.data_dir().join("recordings").join(&id);
    std::fs::create_dir_all(&dir)?;
    std::os::unix::fs::symlink("/dev/full", dir.join("1-audio.ogg"))?;
    let room = format!("m-{id}");
    let chair = join(&server, &room, "25", 440.0).await?;
    let district = join(&server, &room, "227", 660.0).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Still a meeting: the chair gives the floor and the district is heard.
    chair.send_json(&json!({"type": "grant_floor", "participant": district.id}))?;
    assert_heard(&chair, &district, 660.0).await;
    district.leave(WAIT).await?;
    chair.leave(WAIT).await?;

    let rows = finished_rows(&secretary, &id).await?;
    let audio = rows
        .iter()
        .find(|r| r["kind"] == "audio")
        .context("audio")?;
    ensure!(audio["status"] == "failed", "{audio}");
    let error = audio["error"].as_str().unwrap_or_default();
    ensure!(error.contains("disk is full"), "{audio}");
    let video = rows
        .iter()
        .find(|r| r["kind"] == "video")
        .context("video")?;
    ensure!(video["status"] == "done", "{video}");
    let (codec, duration) = ffprobe(&dir.join("1-video.ivf"))?;
    ensure!(codec == "vp8" && duration > 2.0, "{codec} {duration}");
    Ok(())
}

/// The server is killed mid-meeting: both files on disk stay playable with the time
/// recorded up to the kill (at most about a second lost), and the next start closes
/// their rows as `done` with their real size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_leaves_playable_files_closed_at_restart() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let (server, _secretary, id) = recorded_meeting().await?;
    let room = format!("m-{id}");
    let opened = Instant::now();
    let mut chair = join(&server, &room, "25", 440.0).await?;
    let mut district = join(&server, &room, "227", 660.0).await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let status = Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()?;
    ensure!(status.success());
    let killed_at = opened.elapsed().as_secs_f64();
    chair.close().await;
    district.close().await;

    let dir = server.data_dir().join("recordings").join(&id);
    for (file, codec) in [("1-audio.ogg", "opus"), ("1-video.ivf", "vp8")] {
        let (got, duration) = ffprobe(&dir.join(file))?;
        println!("{file} after the kill: {got}, {duration:.2} s; killed at {killed_at:.2} s");
        ensure!(got == codec, "{file}: {got}");
        ensure!(
            duration > killed_at - 2.5 && duration < killed_at + 0.5,
            "{file}: {duration:.2} s, killed {killed_at:.2} s after the room opened"
        );
    }

    // The next start on the same data closes the rows with the files' sizes.
    let restarted = Restarted::start(server.data_dir())?;
    let secretary = ApiSession::login(&format!("http://{}", restarted.http), "vp.thu").await?;
    let rows = finished_rows(&secretary, &id).await?;
    for r in &rows {
        let file = r["filename"].as_str().unwrap_or_default();
        let size = std::fs::metadata(dir.join(file))?.len();
        ensure!(
            r["status"] == "done" && r["size"] == size,
            "{r} (file: {size} bytes)"
        );
    }
    Ok(())
}

/// A second `bridge serve` on an existing data folder (the harness always starts fresh).
struct Restarted {
    child: std::process::Child,
    http: std::net::SocketAddr,
}

impl Restarted {
    fn start(data: &std::path::Path) -> anyhow::Result<Restarted> {
        use std::io::BufRead;
        let mut child = Command::new(bridge_bin()?)
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--http", "127.0.0.1:0", "--media-port", "0"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()?;
        let mut lines = std::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
        let first = lines.next().context("no output")??;
        // Keep draining, or the server blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        let (http, _, _) = parse_listening(&first)?;
        Ok(Restarted { child, http })
    }
}

impl Drop for Restarted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

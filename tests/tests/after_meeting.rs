//! After the meeting, end to end with the real binary, as staff meet it: a meeting with
//! three invited sites runs with recording on (one site drops out and comes back);
//! afterwards the attendance lists the three with their times, the recording plays in
//! an independent reader (ffprobe) with the right duration, the minutes PDF carries the
//! Vietnamese names of the attendees as text, the DOCX opens in LibreOffice, the signed
//! minutes verify in poppler's pdfsig, and a site of a commune that was not invited
//! cannot download anything.

use anyhow::{Context, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::client::{Client, ClientOptions};
use bridge_e2e::readers::{docx_text, ffprobe, pdfsig, pdftotext};
use bridge_e2e::sched_pages::add_user;
use bridge_e2e::server::{BridgeServer, token_from_url};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const P12_PASSWORD: &str = "mật-khẩu-ký";
/// The three invited sites (demo province codes) and the commune that was not invited.
const SITES: [(&str, &str); 3] = [
    ("227", "Thành phố Việt Trì"),
    ("07888", "Phường Dữu Lâu"),
    ("07894", "Phường Nông Trang"),
];
const UNINVITED: &str = "07900";

/// A self-signed signing certificate as PKCS#12, made by OpenSSL.
fn make_p12(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let (key, cert, p12) = (dir.join("k.pem"), dir.join("c.pem"), dir.join("ky.p12"));
    let run = |args: &[&str]| -> anyhow::Result<()> {
        let out = Command::new("openssl").args(args).output()?;
        ensure!(out.status.success(), "openssl {args:?}: {out:?}");
        Ok(())
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=Nguyen Thi Huong/O=UBND tinh Phu Tho",
        "-keyout",
        key.to_str().context("path")?,
        "-out",
        cert.to_str().context("path")?,
    ])?;
    run(&[
        "pkcs12",
        "-export",
        "-inkey",
        key.to_str().context("path")?,
        "-in",
        cert.to_str().context("path")?,
        "-out",
        p12.to_str().context("path")?,
        "-passout",
        &format!("pass:{P12_PASSWORD}"),
    ])?;
    Ok(p12)
}

async fn join_site(
    staff: &ApiSession,
    server: &BridgeServer,
    meeting: &str,
    unit: &str,
    freq: f32,
) -> anyhow::Result<Client> {
    let link = staff
        .json(&format!("/meetings/{meeting}/join/{unit}"))
        .await?;
    let url = link["url"].as_str().context("join url")?;
    let token = token_from_url(url).context("token in the join link")?;
    let opts = ClientOptions {
        tone_hz: Some(freq),
        video_bps: Some(150_000),
        ..Default::default()
    };
    Client::connect(&server.ws_url(), &token, opts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_meeting_leaves_attendance_recording_and_signed_minutes() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let dir = tempfile::tempdir()?;
    let p12 = make_p12(dir.path())?;
    let server = BridgeServer::start_with_env(
        &["--signing-p12", p12.to_str().context("path")?],
        &[("BRIDGE_SIGNING_P12_PASSWORD", P12_PASSWORD)],
    )
    .await?;
    add_user(&server, "thuky.tinh", "secretary", "25")?;
    for (unit, _) in SITES {
        add_user(&server, &format!("hoitruong.{unit}"), "site", unit)?;
    }
    add_user(&server, "hoitruong.khac", "site", UNINVITED)?;
    let secretary = ApiSession::login(&server.http_url(), "thuky.tinh").await?;

    // The secretary schedules a recorded meeting starting now with the three sites.
    let start = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let fmt = &time::format_description::well_known::Rfc3339;
    let created = secretary
        .call(
            reqwest::Method::POST,
            "/meetings",
            json!({
                "title": "Họp trực tuyến phòng chống lụt bão",
                "agenda": ["Tình hình mưa lũ", "Phân công nhiệm vụ"],
                "organizer": "25",
                "location": "Hội trường UBND tỉnh",
                "starts_at": start.format(fmt)?,
                "ends_at": (start + time::Duration::hours(1)).format(fmt)?,
                "record": true,
                "participants": SITES.iter().map(|(u, _)| json!({"type": "unit", "code": u})).collect::<Vec<_>>(),
            }),
        )
        .await?;
    let id = created["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned();

    // The three halls join; the second drops out and comes back.
    let opened = Instant::now();
    let mut halls = Vec::new();
    for (i, (unit, _)) in SITES.iter().enumerate() {
        halls.push(join_site(&secretary, &server, &id, unit, 440.0 + 220.0 * i as f32).await?);
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let second = halls.remove(1);
    second.leave(Duration::from_secs(5)).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    halls.insert(
        1,
        join_site(&secretary, &server, &id, SITES[1].0, 660.0).await?,
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    for hall in halls {
        hall.leave(Duration::from_secs(5)).await?;
    }
    let open_secs = opened.elapsed().as_secs_f64();

    // Attendance: every invited site present, its periods closed; the second has two,
    // with the gap between them.
    let attendance = poll(&secretary, &format!("/meetings/{id}/attendance"), |a| {
        a.as_array().is_some_and(|units| {
            units.iter().all(|u| {
                u["periods"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty() && p.iter().all(|x| x["ongoing"] == false))
            })
        })
    })
    .await?;
    for (i, (unit, name)) in SITES.iter().enumerate() {
        let line = attendance
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["unit"] == *unit)
            .with_context(|| format!("{name} missing from attendance: {attendance}"))?;
        ensure!(
            line["unit_name"] == *name && line["present"] == true,
            "{line}"
        );
        let periods = line["periods"].as_array().context("periods")?;
        ensure!(
            periods.len() == if i == 1 { 2 } else { 1 },
            "{name}: {line}"
        );
        ensure!(periods.iter().all(|p| p["ongoing"] == false), "{line}");
        let connected = line["connected_seconds"].as_i64().unwrap_or(0);
        ensure!(
            (5..=20).contains(&connected),
            "{name} connected {connected} s: {line}"
        );
    }
    // Recording: the mixed audio is as long as the room was open, by ffprobe.
    let recordings = poll(&secretary, &format!("/meetings/{id}/recordings"), |r| {
        r.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["status"] == "done"))
    })
    .await?;
    let audio = recordings
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["kind"] == "audio")
        .context("an audio recording")?;
    let rec_id = audio["id"].as_str().context("recording id")?;
    let ogg = secretary
        .bytes(&format!("/meetings/{id}/recordings/{rec_id}"))
        .await?;
    std::fs::write(dir.path().join("hop.ogg"), &ogg)?;
    let (codec, secs) = ffprobe(&dir.path().join("hop.ogg"))?;
    ensure!(codec == "opus", "the recording's codec: {codec}");
    ensure!(
        (secs - open_secs).abs() < 3.0,
        "recording lasts {secs:.1} s, the room was open {open_secs:.1} s"
    );

    // The minutes: the draft is filled from the meeting and its attendance; the
    // secretary writes the conclusions and finalizes; PDF and DOCX carry the names.
    let draft = secretary.json(&format!("/meetings/{id}/minutes")).await?;
    let mut doc = draft["minutes"].clone();
    doc["conclusions"] = json!(["Các xã khẩn trương rà soát khu dân cư ven sông."]);
    let version = draft["meta"]["version"].clone();
    let saved = secretary
        .call(
            reqwest::Method::PUT,
            &format!("/meetings/{id}/minutes"),
            json!({"version": version, "minutes": doc}),
        )
        .await?;
    secretary
        .call(
            reqwest::Method::POST,
            &format!("/meetings/{id}/minutes/finalize"),
            json!({"version": saved["meta"]["version"]}),
        )
        .await?;
    let pdf = secretary
        .bytes(&format!("/meetings/{id}/minutes.pdf"))
        .await?;
    let text = pdftotext(&pdf)?;
    for (_, name) in SITES {
        ensure!(
            text.contains(name),
            "{name} missing from the minutes PDF: {text}"
        );
    }
    ensure!(
        text.contains("/BB-"),
        "no number in the final minutes: {text}"
    );
    let docx = secretary
        .bytes(&format!("/meetings/{id}/minutes.docx"))
        .await?;
    let txt = docx_text(&docx)?;
    ensure!(
        txt.contains(SITES[1].1),
        "the DOCX as LibreOffice reads it: {txt}"
    );

    // Signed with the configured certificate, verified by pdfsig.
    secretary
        .call(
            reqwest::Method::POST,
            &format!("/meetings/{id}/minutes/sign"),
            json!({}),
        )
        .await?;
    let signed = secretary
        .bytes(&format!("/meetings/{id}/minutes.signed.pdf"))
        .await?;
    let report = pdfsig(&signed)?;
    ensure!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );

    // The meeting's file holds what was issued and recorded, the same bytes each time.
    let zip = secretary
        .bytes(&format!("/meetings/{id}/archive.zip"))
        .await?;
    ensure!(
        zip == secretary
            .bytes(&format!("/meetings/{id}/archive.zip"))
            .await?
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))?;
    let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    for want in ["diem-danh.csv", "ghi-hinh/", "bien-ban/", "signed.pdf"] {
        ensure!(
            names.iter().any(|n| n.contains(want)),
            "{want} not in the ZIP: {names:?}"
        );
    }
    let signed_entry = names
        .iter()
        .find(|n| n.ends_with("signed.pdf"))
        .context("signed")?;
    let mut in_zip = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name(signed_entry)?, &mut in_zip)?;
    ensure!(
        in_zip == signed,
        "the signed minutes in the ZIP differ from the download"
    );

    // A commune that was not invited gets nothing.
    let outsider = ApiSession::login(&server.http_url(), "hoitruong.khac").await?;
    for path in [
        format!("/meetings/{id}/attendance"),
        format!("/meetings/{id}/recordings"),
        format!("/meetings/{id}/recordings/{rec_id}"),
        format!("/meetings/{id}/minutes"),
        format!("/meetings/{id}/minutes.pdf"),
        format!("/meetings/{id}/minutes.docx"),
        format!("/meetings/{id}/minutes.signed.pdf"),
        format!("/meetings/{id}/archive.zip"),
    ] {
        let status = outsider.status(&path).await?;
        ensure!(
            status == StatusCode::FORBIDDEN,
            "GET {path} by an outsider: {status}"
        );
    }
    // An invited site may download the signed minutes.
    let site = ApiSession::login(&server.http_url(), "hoitruong.07888").await?;
    ensure!(
        site.bytes(&format!("/meetings/{id}/minutes.signed.pdf"))
            .await?
            == signed
    );
    Ok(())
}

/// Asks `get` until `done` holds (the server writes attendance and closes recordings
/// just after the last participant leaves).
async fn poll(
    staff: &ApiSession,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = staff.json(path).await?;
        if done(&v) || Instant::now() > deadline {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

//! Invitations by e-mail, against the real binary with `--smtp-url` pointing at a small
//! SMTP receiver in this test. Each message is read back with independent parsers (the
//! `mail-parser` crate for MIME, the `ical` crate for the calendar part): one message
//! per invited unit with an address, the unit's join link, METHOD and SEQUENCE that follow
//! creation, edit and cancellation, and a CANCEL for a unit an edit dropped.

use anyhow::{Context, bail, ensure};
use bridge_e2e::sched_pages::{add_user, users_add};
use bridge_e2e::server::BridgeServer;
use mail_parser::MimeHeaders;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One received message: envelope recipients and the raw RFC 5322 text.
struct Received {
    rcpt: Vec<String>,
    data: Vec<u8>,
}

/// Accepts SMTP sessions and hands each message over; enough of RFC 5321 for a client.
async fn smtp_sink() -> anyhow::Result<(u16, mpsc::UnboundedReceiver<Received>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r);
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut rcpt = Vec::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if cmd.starts_with("RCPT TO:") {
                        rcpt.push(
                            line.trim_end()[8..]
                                .trim_matches(['<', '>', ' '])
                                .to_owned(),
                        );
                        b"250 ok\r\n"
                    } else if cmd.starts_with("DATA") {
                        let _ = w.write_all(b"354 go on\r\n").await;
                        let mut data = Vec::new();
                        loop {
                            line.clear();
                            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            let l = line.strip_prefix('.').unwrap_or(&line);
                            data.extend_from_slice(l.as_bytes());
                        }
                        let _ = tx.send(Received {
                            rcpt: std::mem::take(&mut rcpt),
                            data,
                        });
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((port, rx))
}

/// What the test checks in one message.
#[derive(Debug)]
struct Invite {
    to: String,
    subject: String,
    text: String,
    method: String,
    sequence: String,
    url: Option<String>,
    calendar_type: String,
}

fn read(msg: &Received) -> anyhow::Result<Invite> {
    let parsed = mail_parser::MessageParser::default()
        .parse(&msg.data)
        .context("MIME parse")?;
    let part = parsed
        .attachments()
        .find(|a| {
            a.content_type()
                .is_some_and(|c| c.subtype() == Some("calendar"))
        })
        .context("no text/calendar part")?;
    let ctype = part.content_type().context("content type")?;
    let calendar_type = format!(
        "{}/{}; method={}",
        ctype.ctype(),
        ctype.subtype().unwrap_or_default(),
        ctype.attribute("method").unwrap_or_default()
    );
    let ics = String::from_utf8(part.contents().to_vec())?;
    let cal = ical::IcalParser::new(ics.as_bytes())
        .next()
        .context("no calendar")??;
    let prop = |props: &[ical::property::Property], name: &str| {
        props
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
    };
    let event = cal.events.first().context("no VEVENT")?;
    Ok(Invite {
        to: msg.rcpt.join(","),
        subject: parsed.subject().unwrap_or_default().to_owned(),
        text: parsed.body_text(0).unwrap_or_default().into_owned(),
        method: prop(&cal.properties, "METHOD").unwrap_or_default(),
        sequence: prop(&event.properties, "SEQUENCE").unwrap_or_default(),
        url: prop(&event.properties, "URL"),
        calendar_type,
    })
}

/// The next `n` messages, sorted by recipient.
async fn next(rx: &mut mpsc::UnboundedReceiver<Received>, n: usize) -> anyhow::Result<Vec<Invite>> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
            Ok(Some(m)) => out.push(read(&m)?),
            _ => bail!("only {} of {n} messages arrived", out.len()),
        }
    }
    out.sort_by(|a, b| a.to.cmp(&b.to));
    Ok(out)
}

fn add_with_email(
    server: &BridgeServer,
    user: &str,
    unit: &str,
    email: &str,
) -> anyhow::Result<()> {
    let out = users_add(
        server,
        &[
            "--username",
            user,
            "--role",
            "site",
            "--unit",
            unit,
            "--email",
            email,
        ],
    )?;
    ensure!(out.status.success(), "users add {user}: {out:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_mailed_with_the_calendar_and_follow_edits() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let (port, mut inbox) = smtp_sink().await?;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = BridgeServer::start_with(&[
        "--smtp-url",
        &smtp,
        "--smtp-from",
        "Văn phòng UBND tỉnh <vp@phutho.gov.vn>",
    ])
    .await?;
    add_user(&server, "vp.thu", "secretary", "25")?;
    add_with_email(&server, "xa.07888", "07888", "xa07888@phutho.gov.vn")?;
    add_with_email(&server, "xa.07894", "07894", "xa07894@phutho.gov.vn")?;
    // A bad address is refused and creates no account.
    let bad = users_add(
        &server,
        &[
            "--username",
            "xa.x",
            "--role",
            "site",
            "--unit",
            "07900",
            "--email",
            "không phải địa chỉ",
        ],
    )?;
    ensure!(!bad.status.success(), "a malformed address must be refused");

    let api = bridge_e2e::api::ApiSession::login(&server.http_url(), "vp.thu").await?;
    let call = |method: reqwest::Method, path: &str, body: Value| {
        api.request(method, path).json(&body).send()
    };

    let start = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let fmt = &time::format_description::well_known::Rfc3339;
    let mut draft = json!({
        "title": "Họp giao ban quý IV",
        "agenda": ["Báo cáo tình hình", "Kết luận"],
        "organizer": "25",
        "location": "Hội trường tầng 3",
        "starts_at": start.format(fmt)?,
        "ends_at": (start + time::Duration::hours(2)).format(fmt)?,
        "participants": [{"type": "unit", "code": "07888"}, {"type": "unit", "code": "07894"}],
    });
    let created: Value = call(reqwest::Method::POST, "/meetings", draft.clone())
        .await?
        .json()
        .await?;
    let id = created["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned();

    let first = next(&mut inbox, 2).await?;
    for (m, unit) in first.iter().zip(["07888", "07894"]) {
        ensure!(m.to == format!("xa{unit}@phutho.gov.vn"), "recipient {m:?}");
        ensure!(
            m.subject == "Giấy mời họp: Họp giao ban quý IV",
            "subject {m:?}"
        );
        ensure!(
            m.text.contains("Kính gửi: Phường") && m.text.contains("1. Báo cáo tình hình"),
            "text {m:?}"
        );
        ensure!(m.calendar_type == "text/calendar; method=REQUEST", "{m:?}");
        ensure!(m.method == "REQUEST" && m.sequence == "0", "{m:?}");
        let url = m.url.as_deref().context("join link")?;
        ensure!(url.contains(&format!("/r/m-{id}?t=")), "join link {url}");
    }
    ensure!(first[0].url != first[1].url, "each unit has its own link");

    // An edit that drops 07894: 07888 gets the update, 07894 a cancellation.
    draft["participants"] = json!([{"type": "unit", "code": "07888"}]);
    draft["title"] = json!("Họp giao ban quý IV (đổi giờ)");
    let r = call(
        reqwest::Method::PUT,
        &format!("/meetings/{id}"),
        json!({"version": 0, "meeting": draft}),
    )
    .await?;
    ensure!(r.status().is_success(), "update: {}", r.status());
    let second = next(&mut inbox, 2).await?;
    ensure!(
        second[0].to.contains("07888")
            && second[0].method == "REQUEST"
            && second[0].sequence == "1",
        "{:?}",
        second[0]
    );
    ensure!(
        second[0].subject == "Thay đổi cuộc họp: Họp giao ban quý IV (đổi giờ)",
        "{:?}",
        second[0]
    );
    ensure!(
        second[1].to.contains("07894") && second[1].method == "CANCEL",
        "{:?}",
        second[1]
    );
    ensure!(
        second[1].calendar_type == "text/calendar; method=CANCEL",
        "{:?}",
        second[1]
    );

    let r = call(
        reqwest::Method::POST,
        &format!("/meetings/{id}/cancel"),
        json!({"version": 1}),
    )
    .await?;
    ensure!(r.status().is_success(), "cancel: {}", r.status());
    let third = next(&mut inbox, 1).await?;
    ensure!(
        third[0].method == "CANCEL" && third[0].sequence == "2" && third[0].url.is_none(),
        "{:?}",
        third[0]
    );
    ensure!(
        third[0].subject.starts_with("Hủy cuộc họp"),
        "{:?}",
        third[0]
    );
    Ok(())
}

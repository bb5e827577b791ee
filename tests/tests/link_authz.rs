//! Who may link which room, against the real binary with the scheduler behind it. The
//! takeover this guards against: the chair token of any other room (the demo room's,
//! printed at every start, or a ward's for its own room) linked a running provincial
//! meeting's room under its own, then governed it (remove, mute) while the province
//! chair could not unlink. Now a meeting's room is never linked under anything, a
//! conference pulls in only the rooms of its invited units and their descendants (a
//! unit's own room: its descendants; an ad-hoc room: nothing), a room leading its own
//! conference stays out, and a room id is 1–64 letters, digits, '-' or '_' (a 300 KB
//! id used to be echoed in every `links` message).

use anyhow::{Context, bail, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::sched_pages::add_user;
use bridge_e2e::server::{BridgeServer, token_from_url};
use bridge_e2e::signal::{Incoming, Signal, join_msg};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

/// One signaling-only participant (no media: authorization is all this file checks).
struct Peer {
    sig: Signal,
    id: String,
    /// Everything received so far, in order, for assertions about what never came.
    seen: Vec<Value>,
}

impl Peer {
    async fn join(server: &BridgeServer, token: &str) -> anyhow::Result<Self> {
        let mut sig = Signal::connect(&server.ws_url()).await?;
        sig.start_pings();
        sig.send_json(&join_msg(token))?;
        let (joined, seen) = sig.expect_type("joined", WAIT).await?;
        let id = joined["participant"]["id"]
            .as_str()
            .context("participant id")?
            .to_owned();
        Ok(Peer { sig, id, seen })
    }

    /// Waits for the first message `pred` accepts, keeping everything received.
    async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.sig.recv_timeout(left).await {
                Some(Incoming::Msg(v)) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return Ok(v);
                    }
                }
                Some(Incoming::Closed(code)) => bail!("closed ({code:?}) waiting for {what}"),
                None => bail!("no {what} within {WAIT:?}; last: {:?}", self.seen.last()),
            }
        }
    }

    /// Sends `{type: request, room}` and expects the `error` answering it, with `code`
    /// and a short message (a refused id is never echoed back).
    async fn refused(&mut self, request: &str, room: &str, code: &str) -> anyhow::Result<()> {
        self.sig
            .send_json(&json!({"type": request, "room": room}))?;
        let what = format!("{request} {} refused", short(room));
        let err = self
            .until(&what, |v| v["type"] == "error" || v["type"] == "links")
            .await?;
        ensure!(
            err["type"] == "error",
            "{what}: got {}",
            short(&err.to_string())
        );
        ensure!(
            err["code"] == code && err["request"] == request,
            "{what}: {err}"
        );
        let len = err.to_string().len();
        ensure!(len < 400, "{what}: a {len}-byte error");
        Ok(())
    }

    /// Sends `{type: request, room}` and waits for the `links` message it brings.
    async fn links_after(
        &mut self,
        request: &str,
        room: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        self.sig
            .send_json(&json!({"type": request, "room": room}))?;
        let what = format!("links after {request} {room}");
        let v = self
            .until(&what, |v| {
                (v["type"] == "error" && v["request"] == request)
                    || (v["type"] == "links" && pred(v))
            })
            .await?;
        ensure!(v["type"] == "links", "{what}: {v}");
        Ok(v)
    }
}

fn short(s: &str) -> String {
    if s.len() <= 80 {
        return s.to_owned();
    }
    let head: String = s.chars().take(60).collect();
    format!("{head}…({} bytes)", s.len())
}

fn linked(links: &Value) -> Vec<&str> {
    links["linked"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["room"].as_str())
        .collect()
}

/// The media plane's links, `(child, parent)`, from the administrator's health detail.
async fn sfu_links(server: &BridgeServer) -> anyhow::Result<Vec<(String, String)>> {
    let stats = bridge_e2e::admin::admin_health(server).await?;
    let pairs = stats["sfu"]["links"].as_array().context("sfu.links")?;
    Ok(pairs
        .iter()
        .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
        .collect())
}

/// A meeting starting now, organized by `organizer`, with `units` invited; the
/// secretary of the province schedules it. Returns its id.
async fn meeting(staff: &ApiSession, organizer: &str, units: &[&str]) -> anyhow::Result<String> {
    let start = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let fmt = &time::format_description::well_known::Rfc3339;
    let created = staff
        .call(
            reqwest::Method::POST,
            "/meetings",
            json!({
                "title": "Họp trực tuyến phòng chống lụt bão",
                "agenda": ["Tình hình mưa lũ"],
                "organizer": organizer,
                "location": "Hội trường",
                "starts_at": start.format(fmt)?,
                "ends_at": (start + time::Duration::hours(1)).format(fmt)?,
                "participants": units.iter().map(|u| json!({"type": "unit", "code": u})).collect::<Vec<_>>(),
            }),
        )
        .await?;
    Ok(created["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned())
}

/// The scheduler's join token of `unit` for the meeting (the organizer's is a chair's).
async fn meeting_token(staff: &ApiSession, id: &str, unit: &str) -> anyhow::Result<String> {
    let link = staff.json(&format!("/meetings/{id}/join/{unit}")).await?;
    token_from_url(link["url"].as_str().context("join url")?).context("token in the join link")
}

async fn province_staff(server: &BridgeServer) -> anyhow::Result<ApiSession> {
    add_user(server, "thuky.tinh", "secretary", "25")?;
    ApiSession::login(&server.http_url(), "thuky.tinh").await
}

/// A chair token for a unit's own room, speaking for that unit.
fn unit_chair(server: &BridgeServer, code: &str, name: &str) -> anyhow::Result<String> {
    server.token_for_unit(&format!("u-{code}"), name, "chair", Some(code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_rooms_chairs_cannot_take_over_a_running_meeting() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    let staff = province_staff(&server).await?;
    let id = meeting(&staff, "25", &["227"]).await?;
    let room = format!("m-{id}");

    let mut chair = Peer::join(&server, &meeting_token(&staff, &id, "25").await?).await?;
    let mut hall = Peer::join(&server, &meeting_token(&staff, &id, "227").await?).await?;
    // Opening, the meeting pulled its invited units' rooms in.
    chair
        .until("the meeting's links", |v| {
            v["type"] == "links" && linked(v).contains(&"u-227")
        })
        .await?;

    // The demo room's chair (its link is printed at every start) and a ward's chair in
    // its own room try to pull the meeting under them.
    let demo = server.token("demo", "Tỉnh Phú Thọ", "chair");
    let mut demo = Peer::join(&server, &demo).await?;
    demo.refused("link_room", &room, "not_linkable").await?;
    let ward = unit_chair(&server, "07888", "Phường Dữu Lâu")?;
    let mut ward = Peer::join(&server, &ward).await?;
    ward.refused("link_room", &room, "not_linkable").await?;
    // Nor can they release the meeting or take its rooms.
    ward.refused("unlink_room", &room, "forbidden").await?;
    ward.refused("unlink_room", "u-227", "forbidden").await?;
    demo.refused("link_room", "u-227", "forbidden").await?;
    ensure!(
        !sfu_links(&server).await?.iter().any(|(c, _)| *c == room),
        "the meeting's room was linked under another"
    );

    // A district running its own conference with a commune stays out of the meeting
    // (although the province meeting could hold both) until it releases the commune.
    let district = unit_chair(&server, "228", "Thị xã Phú Thọ")?;
    let mut district = Peer::join(&server, &district).await?;
    district
        .links_after("link_room", "u-07942", |l| linked(l) == ["u-07942"])
        .await?;
    chair.refused("link_room", "u-228", "not_linkable").await?;
    district
        .links_after("unlink_room", "u-07942", |l| linked(l).is_empty())
        .await?;
    chair
        .links_after("link_room", "u-228", |l| linked(l).contains(&"u-228"))
        .await?;

    // The province chair still governs its meeting: mute, unlink, remove.
    let hall_id = hall.id.clone();
    chair
        .sig
        .send_json(&json!({"type": "force_mute", "participant": hall_id, "muted": true}))?;
    chair
        .until("the hall muted by the chair", |v| {
            v["type"] == "floor"
                && v["muted_by_chair"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|p| p == hall_id.as_str()))
        })
        .await?;
    chair
        .links_after("unlink_room", "u-227", |l| !linked(l).contains(&"u-227"))
        .await?;
    chair
        .sig
        .send_json(&json!({"type": "remove", "participant": hall_id}))?;
    let (code, got) = hall.sig.expect_close(WAIT).await?;
    ensure!(code == Some(4403), "the hall closed with {code:?}: {got:?}");
    ensure!(
        got.iter()
            .any(|m| m["type"] == "bye" && m["reason"] == "removed"),
        "{got:?}"
    );
    ensure!(
        chair
            .seen
            .iter()
            .all(|m| m["type"] != "links" || m["into"].is_null()),
        "the meeting was linked into another room"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_links_only_rooms_of_its_invited_units_and_their_descendants()
-> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    let staff = province_staff(&server).await?;
    // Việt Trì (227) meets with one of its wards; the organizer is invited too.
    let id = meeting(&staff, "227", &["07888"]).await?;
    let mut chair = Peer::join(&server, &meeting_token(&staff, &id, "227").await?).await?;
    chair
        .until("the meeting's links", |v| {
            v["type"] == "links" && linked(v).contains(&"u-07888")
        })
        .await?;

    // The ward's own chair may release its room from the meeting; the meeting's chair
    // may pull it back (invited), and another ward of Việt Trì (under the organizer).
    let ward = unit_chair(&server, "07888", "Phường Dữu Lâu")?;
    let mut ward = Peer::join(&server, &ward).await?;
    ward.links_after("unlink_room", "u-07888", |l| l["into"].is_null())
        .await?;
    chair
        .links_after("link_room", "u-07888", |l| linked(l).contains(&"u-07888"))
        .await?;
    chair
        .links_after("link_room", "u-07900", |l| linked(l).contains(&"u-07900"))
        .await?;
    // Not invited, not under an invited unit: another district, its ward, the province.
    for other in ["u-228", "u-07942", "u-25"] {
        chair.refused("link_room", other, "not_linkable").await?;
    }

    // A district chairing its own room ad hoc holds its wards only.
    let district = unit_chair(&server, "228", "Thị xã Phú Thọ")?;
    let mut district = Peer::join(&server, &district).await?;
    district
        .links_after("link_room", "u-07945", |l| linked(l) == ["u-07945"])
        .await?;
    district
        .refused("link_room", "u-07894", "not_linkable")
        .await?;
    district
        .refused("link_room", "u-25", "not_linkable")
        .await?;
    // An ad-hoc room holds nothing.
    let demo = server.token("demo", "Tỉnh Phú Thọ", "chair");
    let mut demo = Peer::join(&server, &demo).await?;
    demo.refused("link_room", "u-07948", "not_linkable").await?;

    let links = sfu_links(&server).await?;
    let room = format!("m-{id}");
    let mut want = vec![
        ("u-07888".to_owned(), room.clone()),
        ("u-07900".to_owned(), room.clone()),
        ("u-07945".to_owned(), "u-228".to_owned()),
        ("u-227".to_owned(), room),
    ];
    let mut got = links.clone();
    want.sort();
    got.sort();
    ensure!(got == want, "media links {got:?}");
    Ok(())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_or_malformed_room_id_is_refused_and_never_echoed() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    let demo = server.token("demo", "Tỉnh Phú Thọ", "chair");
    let mut chair = Peer::join(&server, &demo).await?;
    let before = rss_kib(server.pid());

    // The attack that made the server send 246 MB: 40 links of 300 KB ids.
    for i in 0..40u8 {
        let id = format!("{}{}", "a".repeat(300_000), char::from(b'a' + i % 26));
        chair.refused("link_room", &id, "invalid_room").await?;
    }
    chair
        .refused("unlink_room", &"u".repeat(300_000), "invalid_room")
        .await?;
    let too_long = "a".repeat(65);
    for bad in ["", "u-1 2", "u-07888/..", "phòng", too_long.as_str()] {
        chair.refused("link_room", bad, "invalid_room").await?;
    }
    // 64 characters is a room id (of an ad-hoc room, which this one may not hold).
    chair
        .refused("link_room", &"a".repeat(64), "not_linkable")
        .await?;

    ensure!(
        chair.seen.iter().all(|m| m["type"] != "links"),
        "a links message was sent"
    );
    // Measured before asking the media plane: the administrator's sign-in that asking
    // takes runs Argon2 (19 MiB) in the server.
    let grown = rss_kib(server.pid()).saturating_sub(before);
    ensure!(grown < 16 * 1024, "the server grew by {grown} KiB");
    ensure!(
        sfu_links(&server).await?.is_empty(),
        "the media plane linked something"
    );
    ensure!(server.is_alive(), "the server died");
    Ok(())
}

//! Issue 14's last parts against the real binary: one live session per join link (a
//! hall that opens its link again takes its own place over, with new media, and the old
//! page is told `bye replaced`), and a `/healthz` that names nothing (the detail is the
//! administrator's).

use anyhow::{Context, ensure};
use bridge_e2e::admin::admin_health;
use bridge_e2e::api::ApiSession;
use bridge_e2e::client::{Client, ClientOptions, hears_tone, wait_until};
use bridge_e2e::sched_pages::add_user;
use bridge_e2e::server::{BridgeServer, token_from_url};
use bridge_e2e::signal::{Signal, join_msg};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const ROOM: &str = "hop-giao-ban";

fn tone(freq: f32) -> ClientOptions {
    ClientOptions {
        tone_hz: Some(freq),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_opening_its_link_again_takes_its_place_over_with_new_media() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    let hall_token = server.token(ROOM, "Xã Thu Cúc", "member");
    let province = Client::join(&server, ROOM, "Tỉnh Phú Thọ", tone(880.0)).await?;
    let first = Client::connect(&server.ws_url(), &hall_token, tone(440.0)).await?;
    hears_tone(&province, &first, 440.0, WAIT)
        .await
        .context("the province hears the hall's first page")?;

    // The hall opens its link on another PC (the first one froze): the same place, its
    // new microphone heard, the old page told to stop.
    let before = province.events().len();
    let second = Client::connect(&server.ws_url(), &hall_token, tone(660.0)).await?;
    ensure!(second.id == first.id, "{} is not {}", second.id, first.id);
    ensure!(
        second.joined["resumed"] != json!(true),
        "new media connections: {}",
        second.joined
    );
    wait_until(WAIT, "the first page closed with 4409", || {
        first.closed_by_server() == Some(Some(4409))
    })
    .await?;
    ensure!(
        first
            .events()
            .iter()
            .any(|e| e == &json!({"type": "bye", "reason": "replaced"})),
        "bye replaced: {:?}",
        first.events()
    );
    hears_tone(&province, &second, 660.0, WAIT)
        .await
        .with_context(|| {
            format!(
                "the province hears the second page: {:?}",
                province.tone(&second.id, 0.5)
            )
        })?;
    hears_tone(&second, &province, 880.0, WAIT)
        .await
        .context("the second page hears the province")?;
    // Nobody left or arrived, as far as the province could tell.
    let churn: Vec<Value> = province
        .events()
        .into_iter()
        .skip(before)
        .filter(|e| {
            (e["type"] == "participant_left" && e["participant_id"] == first.id.as_str())
                || (e["type"] == "participant_joined"
                    && e["participant"]["id"] == first.id.as_str())
        })
        .collect();
    ensure!(
        churn.is_empty(),
        "the hall left or arrived again: {:?}",
        province.events()
    );
    let health: Value = reqwest::get(format!("{}/healthz", server.http_url()))
        .await?
        .json()
        .await?;
    ensure!(health["signaling"]["participants"] == 2, "{health}");
    Ok(())
}

/// A meeting starting now, organized by the province, with a ward invited.
async fn meeting(staff: &ApiSession) -> anyhow::Result<String> {
    let start = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let fmt = &time::format_description::well_known::Rfc3339;
    let created = staff
        .call(
            reqwest::Method::POST,
            "/meetings",
            json!({
                "title": "Họp trực tuyến phòng chống lụt bão",
                "agenda": ["Tình hình mưa lũ"],
                "organizer": "25",
                "location": "Hội trường",
                "starts_at": start.format(fmt)?,
                "ends_at": (start + time::Duration::hours(1)).format(fmt)?,
                "participants": [{"type": "unit", "code": "07888"}],
            }),
        )
        .await?;
    Ok(created["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_no_room_and_the_detail_is_for_administrators() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    add_user(&server, "thuky.tinh", "secretary", "25")?;
    let staff = ApiSession::login(&server.http_url(), "thuky.tinh").await?;
    let id = meeting(&staff).await?;
    let link = staff.json(&format!("/meetings/{id}/join/25")).await?;
    let token = token_from_url(link["url"].as_str().context("url")?).context("token")?;
    let mut chair = Signal::connect(&server.ws_url()).await?;
    chair.start_pings();
    chair.send_json(&join_msg(&token))?;
    let (joined, _) = chair.expect_type("joined", WAIT).await?;
    let chair_id = joined["participant"]["id"]
        .as_str()
        .context("id")?
        .to_owned();
    // The meeting opened and pulled its ward's room in: the media plane has a link.
    chair.expect_type("links", WAIT).await?;

    let anonymous = reqwest::get(format!("{}/healthz", server.http_url())).await?;
    ensure!(anonymous.status() == 200);
    let text = anonymous.text().await?;
    let health: Value = serde_json::from_str(&text)?;
    ensure!(health["status"] == "ok", "{text}");
    ensure!(health["signaling"]["rooms"].as_u64() >= Some(1), "{text}");
    ensure!(health["signaling"]["participants"] == 1, "{text}");
    for secret in [id.as_str(), "u-07888", chair_id.as_str(), "Tỉnh", "version"] {
        ensure!(!text.contains(secret), "/healthz tells {secret:?}: {text}");
    }

    // The administrator sees the detail: the links and each subscriber.
    let detail = admin_health(&server).await?;
    let detail_text = detail.to_string();
    ensure!(detail_text.contains(&format!("m-{id}")), "{detail}");
    let links = detail["sfu"]["links"].as_array().context("links")?;
    ensure!(
        links.contains(&json!(["u-07888", format!("m-{id}")])),
        "the invited ward's room is linked: {detail}"
    );
    ensure!(detail["version"].is_string(), "{detail}");
    // A secretary is refused, and so is nobody.
    let status = staff.status("/admin/health").await?;
    ensure!(status == 403, "secretary: {status}");
    let status = reqwest::get(format!("{}/api/admin/health", server.http_url()))
        .await?
        .status();
    ensure!(status == 401, "anonymous: {status}");
    Ok(())
}

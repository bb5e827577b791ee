//! `not_yet_open` over the real binary's WebSocket: a meeting's link used before its
//! room opens is refused with the opening time (the link's `nbf`, as the join API's
//! ticket says) and the meeting's title, then `bye refused` and close 1008; the same
//! kind of link within its window joins.

use anyhow::{Context, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::sched_pages::{WAIT, add_user};
use bridge_e2e::server::{BridgeServer, token_from_url};
use bridge_e2e::signal::{Signal, error_code};
use serde_json::json;
use time::{Duration, OffsetDateTime};

/// Schedules a one-hour meeting of the province with ward 07888 invited; returns its id.
async fn schedule(
    staff: &ApiSession,
    title: &str,
    start: OffsetDateTime,
) -> anyhow::Result<String> {
    let fmt = &time::format_description::well_known::Rfc3339;
    let end = start + Duration::hours(1);
    staff
        .schedule_ward_meeting(title, &start.format(fmt)?, &end.format(fmt)?)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_link_is_refused_with_its_opening_time_and_title() -> anyhow::Result<()> {
    let _serial = bridge_e2e::serial().await;
    let server = BridgeServer::start().await?;
    add_user(&server, "vp.som", "secretary", "25")?;
    let staff = ApiSession::login(&server.http_url(), "vp.som").await?;
    let title = "Họp giao ban đầu tuần";
    let id = schedule(&staff, title, OffsetDateTime::now_utc() + Duration::days(1)).await?;
    let link = staff.json(&format!("/meetings/{id}/join/07888")).await?;
    let token = token_from_url(link["url"].as_str().context("url")?).context("token")?;
    let not_before = OffsetDateTime::parse(
        link["ticket"]["not_before"]
            .as_str()
            .context("not_before")?,
        &time::format_description::well_known::Rfc3339,
    )?;
    let room = link["ticket"]["room"].as_str().context("room")?.to_owned();

    let mut sig = Signal::connect(&server.ws_url()).await?;
    sig.send_json(&json!({"type": "join", "v": 1, "token": token, "room": room}))?;
    let (code, got) = sig.expect_close(WAIT).await?;
    ensure!(code == Some(1008), "closed with {code:?}: {got:?}");
    let err = got
        .iter()
        .find(|m| m["type"] == "error")
        .context("an error before the close")?;
    ensure!(error_code(err) == Some("not_yet_open"), "{err}");
    ensure!(err["request"] == "join", "{err}");
    ensure!(
        err["opens_at"].as_i64() == Some(not_before.unix_timestamp()),
        "{err} vs {not_before}"
    );
    ensure!(err["title"] == title, "{err}");
    ensure!(
        got.iter()
            .any(|m| m["type"] == "bye" && m["reason"] == "refused"),
        "{got:?}"
    );

    // The same link for another page's room: `wrong_room`, not the other meeting's title.
    let mut sig = Signal::connect(&server.ws_url()).await?;
    sig.send_json(&json!({"type": "join", "v": 1, "token": token, "room": "m-other"}))?;
    let (_, got) = sig.expect_close(WAIT).await?;
    let err = got.iter().find(|m| m["type"] == "error").context("error")?;
    ensure!(error_code(err) == Some("wrong_room"), "{err}");
    ensure!(
        err.get("title").is_none() && err.get("opens_at").is_none(),
        "{err}"
    );

    // A meeting starting in 10 minutes is open already (30 minutes early).
    let soon = schedule(
        &staff,
        "Họp sắp bắt đầu",
        OffsetDateTime::now_utc() + Duration::minutes(10),
    )
    .await?;
    let link = staff.json(&format!("/meetings/{soon}/join/07888")).await?;
    let token = token_from_url(link["url"].as_str().context("url")?).context("token")?;
    let mut sig = Signal::connect(&server.ws_url()).await?;
    sig.send_json(&json!({"type": "join", "v": 1, "token": token}))?;
    let (joined, _) = sig.expect_type("joined", WAIT).await?;
    ensure!(joined["title"] == "Họp sắp bắt đầu", "{joined}");
    Ok(())
}

//! Issue 18 item 4, "no dead ends", in real Chromium against the real binary: a hall
//! that comes early is told when its meeting opens (on the dashboard and on the room
//! page, never "invalid link" nor the room id), and every end of the room page (too
//! early, removed by the chair, left) says why and leads back to the meetings, on the
//! hall PC (1366×768) and on a phone (390×844).

use anyhow::{Context, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, login, shot};
use bridge_e2e::server::{BridgeServer, token_from_url};
use bridge_e2e::signal::{Signal, join_msg};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, UtcOffset};

const HANOI: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("UTC+7"),
};

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

/// Whether the element is shown, wholly inside the viewport, and not covered.
fn on_screen(selector: &str) -> String {
    format!(
        "const e = document.querySelector({s}); if (!e || e.hidden || e.closest('[hidden]')) return false; \
         const r = e.getBoundingClientRect(); if (r.width === 0 || r.height === 0) return false; \
         const inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight; \
         const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
         return inside && !!hit && (hit === e || e.contains(hit));",
        s = serde_json::to_string(selector).unwrap_or_default()
    )
}

async fn viewport(b: &Browser, w: u32, h: u32, scale: u32) -> anyhow::Result<()> {
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": w, "height": h, "deviceScaleFactor": scale, "mobile": scale > 1 }),
    )
    .await?;
    b.wait_true(
        &format!("const d = document.documentElement; return d.clientWidth === {w} && d.clientHeight === {h};"),
        std::time::Duration::from_secs(5),
        &format!("a {w}x{h} viewport"),
    )
    .await
}

/// The end panel as a person reads it: its text, and the back link's text and target.
async fn end_panel(b: &Browser) -> anyhow::Result<Value> {
    b.eval(
        "const l = document.getElementById('back-link'); \
         return { title: document.getElementById('error-title').textContent, \
                  text: document.getElementById('error-text').textContent, \
                  page: document.body.innerText, header: document.getElementById('room-name').textContent, \
                  back: l.hidden ? null : l.textContent, href: l.getAttribute('href'), \
                  rejoin: !document.getElementById('rejoin').hidden };",
    )
    .await
}

/// The back link (and "Vào lại" when `rejoin`) on screen on the hall PC and on a phone.
async fn reachable_at_both_sizes(b: &Browser, what: &str, rejoin: bool) -> anyhow::Result<()> {
    for (w, h, scale) in [(1366, 768, 1), (390, 844, 3)] {
        viewport(b, w, h, scale).await?;
        shot(b, &format!("{}-{w}", what.replace(' ', "-"))).await?;
        ensure!(
            b.eval(&on_screen("#back-link")).await? == json!(true),
            "{what}: the back link is not on screen at {w} px"
        );
        if rejoin {
            ensure!(
                b.eval(&on_screen("#rejoin")).await? == json!(true),
                "{what}: 'Vào lại' is not on screen at {w} px"
            );
        }
    }
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await?;
    Ok(())
}

async fn early_link_says_when_and_leads_back() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let origin = server.http_url();
    add_user(&server, "vp.som", "secretary", "25")?;
    add_user(&server, "xa.07888", "site", "07888")?;
    let staff = ApiSession::login(&origin, "vp.som").await?;
    // Tomorrow 09:00 in Hà Nội: the room opens at 08:30.
    let tomorrow = OffsetDateTime::now_utc().to_offset(HANOI).date() + Duration::days(1);
    let start = tomorrow.with_hms(9, 0, 0)?.assume_offset(HANOI);
    let title = "Họp giao ban đầu tuần";
    let id = schedule(&staff, title, start).await?;
    let dm = format!("{:02}/{:02}", tomorrow.day(), u8::from(tomorrow.month()));

    let b = Browser::launch().await?;
    login(&b, &origin, "xa.07888", "/static/dashboard.html").await?;
    let button = format!("document.querySelector('tr[data-meeting=\"{id}\"] button')");
    b.wait_true(
        &format!("return !!{button};"),
        WAIT,
        "the meeting on the dashboard",
    )
    .await?;
    let label = b.eval(&format!("return {button}.textContent;")).await?;
    ensure!(
        label == json!(format!("Mở lúc 08:30 {dm}")),
        "dashboard button: {label}"
    );
    // Pressing it early says when, and stays on the dashboard.
    b.eval(&format!("{button}.click(); return true;")).await?;
    b.wait_true(
        "return !!document.querySelector('.join-note');",
        WAIT,
        "the early note",
    )
    .await?;
    let note = b
        .eval("return document.querySelector('.join-note').textContent;")
        .await?;
    let note = note.as_str().unwrap_or_default();
    ensure!(
        note.contains(title) && note.contains(&format!("08:30 {dm}")),
        "note: {note}"
    );
    ensure!(b.eval("return location.pathname;").await? == json!("/static/dashboard.html"));

    // An old link (as e-mailed) opened early.
    let link = staff.json(&format!("/meetings/{id}/join/07888")).await?;
    let url = link["url"].as_str().context("join url")?;
    ensure!(token_from_url(url).is_some(), "{url}");
    b.client.goto(url).await?;
    b.wait_true(
        "return !document.getElementById('error').hidden && !document.getElementById('back-link').hidden;",
        WAIT,
        "the early-link panel with its way back",
    )
    .await?;
    let p = end_panel(&b).await?;
    let text = p["text"].as_str().unwrap_or_default();
    ensure!(
        text.contains(&format!("Cuộc họp «{title}» mở lúc 08:30 ngày {dm}")),
        "early text: {p}"
    );
    let page = p["page"].as_str().unwrap_or_default();
    ensure!(
        !page.contains("không hợp lệ") && !page.contains("m-"),
        "page shows: {page}"
    );
    ensure!(p["title"] == json!("Cuộc họp chưa mở"), "{p}");
    ensure!(p["back"] == json!("Về trang lịch họp"), "{p}");
    ensure!(p["href"] == json!("/static/dashboard.html"), "{p}");
    ensure!(p["rejoin"] == json!(true), "{p}");
    reachable_at_both_sizes(&b, "early link", true).await?;

    // English through the switch.
    b.eval("document.getElementById('lang').click(); return true;")
        .await?;
    let p = end_panel(&b).await?;
    let text = p["text"].as_str().unwrap_or_default();
    ensure!(
        text.contains(&format!("The meeting “{title}” opens at 08:30 on {dm}"))
            && p["back"] == json!("Back to my meetings"),
        "English: {p}"
    );
    b.eval("document.getElementById('lang').click(); return true;")
        .await?;

    // The link works: back on the dashboard.
    b.eval("document.getElementById('back-link').click(); return true;")
        .await?;
    b.wait_true(
        &format!("return location.pathname === '/static/dashboard.html' && !!{button};"),
        WAIT,
        "back on the dashboard",
    )
    .await?;
    b.close().await
}

async fn removed_hall_sees_why_and_the_way_back() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let origin = server.http_url();
    add_user(&server, "vp.som", "secretary", "25")?;
    let staff = ApiSession::login(&origin, "vp.som").await?;
    let title = "Họp trực tuyến phòng chống lụt bão";
    let id = schedule(
        &staff,
        title,
        OffsetDateTime::now_utc() - Duration::minutes(1),
    )
    .await?;
    let chair_url = staff.json(&format!("/meetings/{id}/join/25")).await?;
    let hall_url = staff.json(&format!("/meetings/{id}/join/07888")).await?;
    let chair_token =
        token_from_url(chair_url["url"].as_str().context("chair url")?).context("chair token")?;
    let hall_url = hall_url["url"].as_str().context("hall url")?.to_owned();

    let mut chair = Signal::connect(&server.ws_url()).await?;
    chair.start_pings();
    chair.send_json(&join_msg(&chair_token))?;
    chair.expect_type("joined", WAIT).await?;

    // The hall opens its bare link: no session on this browser.
    let b = Browser::launch().await?;
    b.client.goto(&hall_url).await?;
    b.wait_true(
        "return window.bridge?.state === 'connected';",
        WAIT,
        "the hall in the room",
    )
    .await?;
    let (joined, _) = chair.expect_type("participant_joined", WAIT).await?;
    let hall_id = joined["participant"]["id"]
        .as_str()
        .context("hall id")?
        .to_owned();
    chair.send_json(&json!({"type": "remove", "participant": hall_id}))?;

    b.wait_true(
        "return !document.getElementById('error').hidden && !document.getElementById('back-link').hidden;",
        WAIT,
        "the removed panel with its way back",
    )
    .await?;
    let p = end_panel(&b).await?;
    ensure!(p["title"] == json!("Đã bị mời ra khỏi phòng họp"), "{p}");
    ensure!(
        p["text"]
            == json!(format!(
                "Chủ tọa đã mời điểm cầu này ra khỏi cuộc họp «{title}»."
            )),
        "{p}"
    );
    ensure!(p["header"] == json!(title), "{p}");
    ensure!(
        !p["page"].as_str().unwrap_or_default().contains("m-"),
        "{p}"
    );
    // No session: the way back is the sign-in page; rejoining a removed link cannot work.
    ensure!(p["back"] == json!("Đăng nhập để xem lịch họp"), "{p}");
    ensure!(p["href"] == json!("/static/login.html"), "{p}");
    ensure!(p["rejoin"] == json!(false), "{p}");
    reachable_at_both_sizes(&b, "removed", false).await?;
    b.eval("document.getElementById('back-link').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.getElementById('login');",
        WAIT,
        "the sign-in page",
    )
    .await?;
    b.close().await
}

async fn left_page_leads_back() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let origin = server.http_url();
    add_user(&server, "xa.07888", "site", "07888")?;
    let b = Browser::launch().await?;
    login(&b, &origin, "xa.07888", "/static/dashboard.html").await?;
    b.client
        .goto(&server.join_url("phong-thu", "Phường Tiên Cát", "member"))
        .await?;
    b.wait_true(
        "return window.bridge?.state === 'connected';",
        WAIT,
        "in the room",
    )
    .await?;
    b.eval("document.getElementById('btn-leave').click(); return true;")
        .await?;
    b.wait_true(
        "return !document.getElementById('error').hidden && !document.getElementById('back-link').hidden;",
        WAIT,
        "the left panel with its way back",
    )
    .await?;
    let p = end_panel(&b).await?;
    ensure!(p["text"] == json!("Bạn đã rời phòng họp."), "{p}");
    ensure!(p["back"] == json!("Về trang lịch họp"), "{p}");
    ensure!(p["href"] == json!("/static/dashboard.html"), "{p}");
    ensure!(p["rejoin"] == json!(true), "{p}");
    reachable_at_both_sizes(&b, "left", true).await?;
    b.eval("document.getElementById('back-link').click(); return true;")
        .await?;
    b.wait_true(
        "return location.pathname === '/static/dashboard.html';",
        WAIT,
        "back on the dashboard",
    )
    .await?;
    b.close().await
}

#[test]
fn early_link_says_when_the_meeting_opens() -> anyhow::Result<()> {
    run_serial(early_link_says_when_and_leads_back())
}

#[test]
fn removed_hall_is_told_why_and_led_back() -> anyhow::Result<()> {
    run_serial(removed_hall_sees_why_and_the_way_back())
}

#[test]
fn left_room_page_leads_back() -> anyhow::Result<()> {
    run_serial(left_page_leads_back())
}

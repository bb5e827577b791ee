//! The browser client in real (headless) Chromium against the real `bridge` binary:
//! two pages in one room see and name each other (and one leaves); a page without a
//! camera joins with its microphone; a viewer only receives; a screen share and a mute
//! reach the other page. One browser per test, pages as its windows. The pages without
//! media (errors, landing page) are tested in browser_pages.rs.
//!
//! Needs Debian's chromium and chromium-driver; without them these tests fail with a
//! message saying so (scripts/test installs them).

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, as_list, run_serial};
use bridge_e2e::room_page::{JOIN_TIMEOUT, assert_sees_playing};
use bridge_e2e::server::BridgeServer;
use std::path::Path;
use std::time::Duration;

#[test]
fn two_pages_in_one_room_see_and_name_each_other() -> anyhow::Result<()> {
    run_serial(two_pages())
}

async fn two_pages() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "tinh-phu-tho";
    let a_name = "UBND xã Thanh Sơn";
    let b_name = "Huyện Tân Sơn";
    let url_a = server.join_url(room, a_name, "member");
    let url_b = server.join_url(room, b_name, "chair");

    let browser = Browser::launch().await?;
    let win_a = browser.first_window().await?;
    browser.client.goto(&url_a).await?;
    let win_b = browser.open_window(&url_b).await?;

    browser.switch(&win_a).await?;
    assert_sees_playing(&browser, a_name, b_name).await?;
    browser.switch(&win_b).await?;
    assert_sees_playing(&browser, b_name, a_name).await?;

    // A's camera goes out as three simulcast encodings. B shows A as its only remote
    // video, at its best: the server forwards one of h and f, tells A's page to pause
    // the other, and A's browser stops sending it. The lowest always stays on.
    browser.switch(&win_a).await?;
    browser
        .wait_true(
            "return window.bridge.outbound().then(list => { \
               const v = list.filter(s => s.kind === 'video'); \
               const rids = v.map(s => s.rid).sort().join(','); \
               const on = v.filter(s => s.active).map(s => s.rid).sort().join(','); \
               return rids === 'f,h,q' && (on === 'f,q' || on === 'h,q'); });",
            Duration::from_secs(20),
            "A's page sending q and one of h/f",
        )
        .await?;
    let health = bridge_e2e::admin::admin_health(&server).await?;
    let rids: Vec<&str> = as_list(&health["sfu"]["subscribers"])
        .iter()
        .flat_map(|s| as_list(&s["videos"]))
        .filter_map(|v| v["rid"].as_str().map(|r| if r == "q" { "q" } else { "hf" }))
        .collect();
    ensure!(
        rids.contains(&"hf"),
        "a page receives A's h or f layer: {health}"
    );

    // Each page shows its own preview with its own name.
    for (w, name) in [(&win_a, a_name), (&win_b, b_name)] {
        browser.switch(w).await?;
        let own = browser
            .eval("const t = document.querySelector('#grid .tile.self .name'); return t && t.textContent;")
            .await?;
        ensure!(
            own.as_str().unwrap_or_default().starts_with(name),
            "own tile shows {own} instead of {name}"
        );
    }

    // The quality indicator has figures (it needs two getStats samples).
    browser.switch(&win_a).await?;
    browser
        .wait_true(
            "return Object.values(window.bridge.quality).some(q => q.kbps > 0);",
            Duration::from_secs(10),
            "quality figures",
        )
        .await?;
    let shot = Path::new("/tmp/bridge-room-two-participants.png");
    browser.screenshot(shot).await?;
    eprintln!("screenshot: {}", shot.display());

    // B leaves with its button: B says so, and A's page lets B go (list and tile).
    browser.switch(&win_b).await?;
    browser
        .client
        .find(fantoccini::Locator::Id("btn-leave"))
        .await?
        .click()
        .await?;
    browser
        .wait_true(
            "return window.bridge.state === 'closed' && \
             document.getElementById('error-text').innerText === 'Bạn đã rời phòng họp.';",
            Duration::from_secs(10),
            "B's page to say it left",
        )
        .await?;
    browser.switch(&win_a).await?;
    browser
        .wait_true(
            &format!(
                "return !document.getElementById('people-list').innerText.includes({name}) && \
                 document.querySelectorAll('#grid .tile:not(.self)').length === 0;",
                name = serde_json::to_string(b_name)?
            ),
            Duration::from_secs(10),
            "A's page to drop B after B left",
        )
        .await?;
    browser.close().await?;
    Ok(())
}

#[test]
fn denied_camera_joins_with_microphone_only() -> anyhow::Result<()> {
    run_serial(denied_camera())
}

/// Permissions belong to an origin, so the page without a camera is opened as
/// `localhost` and the other as `127.0.0.1` (the same server).
async fn denied_camera() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "xa-kiet-son";
    let a_name = "Xã Kiệt Sơn";
    let b_name = "Huyện Tân Sơn";
    let port = server.http.port();
    let url_a = server
        .join_url(room, a_name, "member")
        .replacen("127.0.0.1", "localhost", 1);
    // Two halls, no chair: nobody moderates, so each hears the other at once.
    let url_b = server.join_url(room, b_name, "member");

    let browser = Browser::launch_with(false).await?;
    let win_a = browser.first_window().await?;
    browser
        .client
        .goto(&format!("http://localhost:{port}/"))
        .await?;
    browser.set_permission("camera", "denied").await?;
    browser.set_permission("microphone", "granted").await?;
    browser.client.goto(&url_a).await?;
    let win_b = browser
        .open_window(&format!("http://127.0.0.1:{port}/"))
        .await?;
    browser.set_permission("camera", "granted").await?;
    browser.set_permission("microphone", "granted").await?;
    browser.client.goto(&url_b).await?;

    // The page without a camera says so in Vietnamese and still joins.
    browser.switch(&win_a).await?;
    browser
        .wait_true(
            "return !!window.bridge && window.bridge.state === 'connected' && \
             window.bridge.mediaMode === 'audioOnly';",
            JOIN_TIMEOUT,
            "the camera-less page to join with its microphone",
        )
        .await?;
    let notice = browser
        .eval("return document.getElementById('notice').innerText;")
        .await?;
    ensure!(
        notice.as_str() == Some("Không dùng được camera. Bạn tham gia chỉ với micrô."),
        "notice: {notice}"
    );
    // It receives the other site's video...
    assert_sees_playing(&browser, a_name, b_name).await?;

    // ...and the other site hears it: its microphone arrives with sound in it, and its
    // tile shows the initials instead of a video.
    browser.switch(&win_b).await?;
    let heard = format!(
        "const a = window.bridge.participants.find(p => p.name === {name}); \
         if (!a) return false; \
         const tile = document.querySelector(`#grid .tile[data-participant-id=\"${{a.id}}\"][data-source=\"camera\"]`); \
         if (!tile || !tile.classList.contains('no-video')) return false; \
         return window.bridge.inbound().then(list => list.some(s => \
           s.participant_id === a.id && s.kind === 'audio' && s.totalAudioEnergy > 0));",
        name = serde_json::to_string(a_name)?
    );
    browser
        .wait_true(&heard, JOIN_TIMEOUT, &format!("{b_name} to hear {a_name}"))
        .await?;
    browser.close().await?;
    Ok(())
}

#[test]
fn screen_share_and_mute_reach_the_other_page() -> anyhow::Result<()> {
    run_serial(screen_share_and_mute())
}

/// Screen share renegotiates both peer connections (A's publish, B's subscribe): the
/// share must appear on B as its own playing tile, and go away when A stops it.
async fn screen_share_and_mute() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "so-noi-vu";
    let a_name = "Sở Nội vụ";
    let b_name = "Xã Tam Thanh";
    let url_a = server.join_url(room, a_name, "chair");
    let url_b = server.join_url(room, b_name, "member");
    let browser = Browser::launch().await?;
    let win_a = browser.first_window().await?;
    browser.client.goto(&url_a).await?;
    let win_b = browser.open_window(&url_b).await?;
    assert_sees_playing(&browser, b_name, a_name).await?;

    // A shares its screen and mutes its microphone, with real clicks (a share needs a
    // user gesture).
    browser.switch(&win_a).await?;
    for id in ["btn-screen", "btn-mic"] {
        browser
            .client
            .find(fantoccini::Locator::Id(id))
            .await?
            .click()
            .await?;
    }
    browser.switch(&win_b).await?;
    let screen_playing = "const v = document.querySelector('#grid .tile[data-source=\"screen\"] video'); \
         return !!v && v.videoWidth > 0 && v.currentTime > 0.5;";
    browser
        .wait_true(screen_playing, JOIN_TIMEOUT, "A's screen share on B")
        .await?;
    let caption = browser
        .eval("return document.querySelector('#grid .tile[data-source=\"screen\"] .name').textContent;")
        .await?;
    ensure!(
        caption.as_str() == Some("Màn hình của Sở Nội vụ"),
        "screen tile caption: {caption}"
    );
    // The camera goes on beside the share (the renegotiation must not disturb it).
    assert_sees_playing(&browser, b_name, a_name)
        .await
        .context("A's camera while A shares its screen")?;
    browser
        .wait_true(
            "const m = document.querySelector('#grid .tile:not(.self)[data-source=\"camera\"] .mic'); \
             return !!m && m.classList.contains('muted') && m.getAttribute('aria-label') === 'Micrô đang tắt';",
            Duration::from_secs(10),
            "A's muted microphone on B",
        )
        .await?;

    // A stops sharing: the tile goes away on B, the camera keeps playing.
    browser.switch(&win_a).await?;
    browser
        .client
        .find(fantoccini::Locator::Id("btn-screen"))
        .await?
        .click()
        .await?;
    browser.switch(&win_b).await?;
    browser
        .wait_true(
            "return !document.querySelector('#grid .tile[data-source=\"screen\"]');",
            JOIN_TIMEOUT,
            "the screen tile to go away on B",
        )
        .await?;
    assert_sees_playing(&browser, b_name, a_name).await?;
    browser.close().await?;
    Ok(())
}

#[test]
fn viewer_link_receives_without_devices() -> anyhow::Result<()> {
    run_serial(viewer_link())
}

/// A viewer watches and listens: no devices asked for, nothing published, the buttons
/// that would publish are off, and it still sees the others.
async fn viewer_link() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "hoi-nghi-tinh";
    let a_name = "UBND tỉnh";
    let v_name = "Phóng viên";
    let url_a = server.join_url(room, a_name, "chair");
    let url_v = server.join_url(room, v_name, "viewer");
    let browser = Browser::launch().await?;
    let win_a = browser.first_window().await?;
    browser.client.goto(&url_a).await?;
    browser.open_window(&url_v).await?;

    assert_sees_playing(&browser, v_name, a_name).await?;
    let seen = browser
        .eval(
            "return { mode: window.bridge.mediaMode, \
               notice: document.getElementById('notice').innerText, \
               mic: document.getElementById('btn-mic').disabled, \
               cam: document.getElementById('btn-cam').disabled, \
               screen: document.getElementById('btn-screen').disabled };",
        )
        .await?;
    let want = serde_json::json!({
        "mode": "none",
        "notice": "Bạn tham dự với vai trò người xem: chỉ xem và nghe.",
        "mic": true, "cam": true, "screen": true,
    });
    ensure!(seen == want, "viewer page: {seen}, want {want}");

    // The chair's page lists the viewer (it has no tile video, it is still present).
    browser.switch(&win_a).await?;
    browser
        .wait_true(
            &format!(
                "return document.getElementById('people-list').innerText.includes({});",
                serde_json::to_string(v_name)?
            ),
            Duration::from_secs(10),
            "the viewer in the chair's participant list",
        )
        .await?;
    browser.close().await?;
    Ok(())
}

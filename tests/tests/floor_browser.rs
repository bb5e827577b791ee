//! Chairing in real Chromium against the real binary: a chair page and two site pages in
//! one room. A site raises its hand, the chair sees it and gives it the floor, and the
//! other site's main stage shows the floor holder's video, large and playing. That site
//! is on a thin link (one picture): its one video slot passes from A to the chair and
//! back to A (`slots`), and the picture follows without a new m-line.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::shot;
use bridge_e2e::server::BridgeServer;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

const CONNECTED: &str = "return !!window.bridge && window.bridge.state === 'connected';";

/// The lead (main stage) tile: participant id, name, video width and play position.
const LEAD: &str = "const t = document.querySelector('#grid .tile.lead'); \
    if (!t) return null; const v = t.querySelector('video'); \
    return { pid: t.dataset.participantId, name: t.querySelector('.name').textContent, \
             width: v.videoWidth, time: v.currentTime };";

async fn floor_in_the_browser() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "u-25";
    let (a_name, b_name) = ("Xã Thanh Sơn", "Xã Kiệt Sơn");
    let browser = Browser::launch().await?;
    let site_a = browser.first_window().await?;
    browser
        .client
        .goto(&server.join_url(room, a_name, "member"))
        .await?;
    browser
        .wait_true(CONNECTED, WAIT, "site A connected")
        .await?;
    let site_b = browser
        .open_window(&server.join_url(room, b_name, "member"))
        .await?;
    browser
        .wait_true(CONNECTED, WAIT, "site B connected")
        .await?;
    // B chooses a thin link: only the main stage, at its lowest layer. Before the chair
    // comes, that is A; the page (joined with `default_view: "off"`) asks for A only.
    browser
        .eval("document.getElementById('btn-link').click(); return true;")
        .await?;
    let a_on_b = format!(
        "const a = window.bridge.participants.find(p => p.name === {}); \
         return !!a && window.bridge.inbound().then(l => l.some(s => \
           s.kind === 'video' && s.participant_id === a.id && s.source === 'camera' && s.framesDecoded > 0));",
        serde_json::to_string(a_name)?
    );
    browser
        .wait_true(&a_on_b, WAIT, "A's camera decoded on B's thin link")
        .await?;
    let chair = browser
        .open_window(&server.join_url(room, "Chủ tịch UBND tỉnh", "chair"))
        .await?;
    browser
        .wait_true(CONNECTED, WAIT, "the chair connected")
        .await?;
    // The chair's camera is now B's main stage: it takes A's slot (`slots`), no new m-line.
    browser.switch(&site_b).await?;
    browser
        .wait_true(
            "const chair = window.bridge.participants.find(p => p.role === 'chair'); \
             const cams = Object.entries(window.bridge.receiving).filter(([, s]) => s.includes('camera')).map(([p]) => p); \
             return !!chair && cams.length === 1 && cams[0] === chair.id && window.bridge.inbound().then(l => \
               new Set(l.filter(s => s.kind === 'video').map(s => s.mid)).size === 1);",
            WAIT,
            "the chair's camera in B's one video slot",
        )
        .await?;

    // Site A, now in a moderated room, raises its hand.
    browser.switch(&site_a).await?;
    browser
        .wait_true(
            "const b = document.getElementById('btn-hand'); return !!b && !b.hidden && \
             document.getElementById('notice').innerText.includes('giơ tay');",
            WAIT,
            "the hand button and the moderation notice on site A",
        )
        .await?;
    browser
        .eval("document.getElementById('btn-hand').click(); return true;")
        .await?;

    // The chair sees the hand and gives A the floor.
    browser.switch(&chair).await?;
    browser
        .wait_true(
            "return !!document.querySelector('#hands li[data-participant-id] .grant');",
            WAIT,
            "the raised hand in the chair's panel",
        )
        .await?;
    let hand = browser
        .eval("return document.querySelector('#hands li').innerText;")
        .await?;
    ensure!(
        hand.as_str().unwrap_or_default().contains(a_name),
        "the hand is A's: {hand}"
    );
    // Its roll call lists both sites as present.
    browser
        .wait_true(
            &format!(
                "const rows = [...document.querySelectorAll('#roll li.site.connected .site-name')].map(e => e.textContent); \
                 return rows.includes({}) && rows.includes({});",
                serde_json::to_string(a_name)?,
                serde_json::to_string(b_name)?
            ),
            WAIT,
            "both sites present in the chair's roll call",
        )
        .await?;
    // Every site's network figures (reported by its page every 2 s, joined with the
    // server's view) show on the chair's roll call.
    browser
        .wait_true(
            "const nets = [...document.querySelectorAll('#roll li.site.connected .site-net')]; \
             return nets.length >= 3 && nets.every(n => /% · \\d+ ms/.test(n.textContent) && n.title.includes('kbit/s'));",
            WAIT,
            "network figures of every site on the chair's roll call",
        )
        .await?;
    // The chair pulls a district's room in by its unit code, and releases it.
    browser
        .eval(
            "document.getElementById('link-room').value = '227'; \
             document.getElementById('link-form').requestSubmit(); return true;",
        )
        .await?;
    browser
        .wait_true(
            "const li = document.querySelector('#links li[data-room=\"u-227\"]'); \
             return !!li && li.innerText.includes('Thành phố Việt Trì');",
            WAIT,
            "the linked district's room listed with its name",
        )
        .await?;
    browser
        .eval(
            "document.querySelector('#links li[data-room=\"u-227\"] button').click(); return true;",
        )
        .await?;
    browser
        .wait_true(
            "return !document.querySelector('#links li[data-room]');",
            WAIT,
            "the district's room released",
        )
        .await?;
    shot(&browser, "chair-hands").await?;
    browser
        .eval("document.querySelector('#hands li .grant').click(); return true;")
        .await?;
    browser
        .wait_true(
            &format!(
                "return document.getElementById('floor-holder').innerText.includes({});",
                serde_json::to_string(a_name)?
            ),
            WAIT,
            "the chair's panel naming the speaker",
        )
        .await?;

    // Site B's main stage shows A, playing.
    browser.switch(&site_b).await?;
    let a_id = browser
        .eval(&format!(
            "return window.bridge.participants.find(p => p.name === {}).id;",
            serde_json::to_string(a_name)?
        ))
        .await?;
    let a_id = a_id.as_str().context("A's id on B's page")?.to_owned();
    browser
        .wait_true(
            &format!(
                "const t = document.querySelector('#grid .tile.lead'); \
                 return !!t && t.dataset.participantId === '{a_id}' && t.querySelector('video').videoWidth > 0;"
            ),
            WAIT,
            "A's video on B's main stage",
        )
        .await?;
    let before = browser.eval(LEAD).await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after = browser.eval(LEAD).await?;
    ensure!(after["name"] == a_name, "the main stage names A: {after}");
    let played = after["time"].as_f64().unwrap_or(0.0) - before["time"].as_f64().unwrap_or(0.0);
    ensure!(
        played > 0.5,
        "A's video on the main stage plays: +{played:.2} s"
    );
    let sizes = browser
        .eval(
            "const lead = document.querySelector('#grid .tile.lead').getBoundingClientRect().width; \
             const other = [...document.querySelectorAll('#grid .tile:not(.lead)')].map(t => t.getBoundingClientRect().width); \
             return { lead, other: Math.max(...other) };",
        )
        .await?;
    ensure!(
        sizes["lead"].as_f64() > sizes["other"].as_f64(),
        "the main stage is larger than the other tiles: {sizes}"
    );
    shot(&browser, "site-main-stage").await?;

    // B's one picture went from A to the chair and back to A on one m-line: its
    // subscribe connection received video on a single mid, A's camera now, and the
    // chair's tile shows its initials.
    let slots = browser
        .eval(
            "const chair = window.bridge.participants.find(p => p.role === 'chair'); \
             const tile = document.querySelector(`#grid .tile[data-participant-id=\"${chair.id}\"][data-source=\"camera\"]`); \
             return window.bridge.inbound().then(l => { \
               const v = l.filter(s => s.kind === 'video'); \
               return { mids: [...new Set(v.map(s => s.mid))].length, \
                 now: [...new Set(v.map(s => s.participant_id))], \
                 chairShown: !!tile && !tile.classList.contains('no-video'), \
                 cameras: Object.entries(window.bridge.receiving).filter(([, s]) => s.includes('camera')).map(([p]) => p) }; });"
        )
        .await?;
    let want = serde_json::json!({
        "mids": 1, "now": [a_id], "chairShown": false, "cameras": [a_id]
    });
    ensure!(slots == want, "B's video slot: {slots}, want {want}");

    // A itself is told it has the floor.
    browser.switch(&site_a).await?;
    browser
        .wait_true(
            "return document.getElementById('notice').innerText.includes('Bạn đang được phát biểu');",
            WAIT,
            "A told it has the floor",
        )
        .await?;
    browser.close().await?;
    Ok(())
}

#[test]
fn a_site_raises_its_hand_and_the_chair_gives_it_the_main_stage() -> anyhow::Result<()> {
    run_serial(floor_in_the_browser())
}

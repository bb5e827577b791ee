//! The pages without media, in real (headless) Chromium against the real `bridge`
//! binary: refused join links show clear Vietnamese errors (English on the switch, which
//! is remembered); the landing page loads nothing from elsewhere and is translated.
//!
//! Needs Debian's chromium and chromium-driver; without them these tests fail with a
//! message saying so (scripts/test installs them).

use anyhow::ensure;
use bridge_e2e::browser::{Browser, UNTRANSLATED, as_list, run_serial};
use bridge_e2e::server::BridgeServer;
use std::time::Duration;

const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens `url` and waits for the error panel; returns (error code, panel text).
async fn refused(b: &Browser, url: &str) -> anyhow::Result<(String, String)> {
    b.client.goto(url).await?;
    b.wait_true(
        "return !!window.bridge && window.bridge.state === 'error' && \
         !document.getElementById('error').hidden;",
        JOIN_TIMEOUT,
        &format!("an error panel for {url}"),
    )
    .await?;
    let code = b.eval("return window.bridge.error;").await?;
    let text = b
        .eval("return document.getElementById('error-text').innerText;")
        .await?;
    Ok((
        code.as_str().unwrap_or_default().to_owned(),
        text.as_str().unwrap_or_default().to_owned(),
    ))
}

#[test]
fn refused_links_show_vietnamese_errors() -> anyhow::Result<()> {
    run_serial(refused_links())
}

async fn refused_links() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "xa-thanh-son";
    let base = format!("http://{}", server.http);
    let valid = server.token(room, "Xã Thanh Sơn", "member");
    let expired = server.token_with_ttl(room, "Xã Thanh Sơn", "member", Some("1s"))?;
    tokio::time::sleep(Duration::from_millis(2100)).await;

    // A tampered token: the payload changed, the signature left as it was.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    ensure!(parts.len() == 3, "join token is not a JWT: {valid}");
    parts[1] = parts[1].chars().rev().collect();
    let forged = parts.join(".");

    let browser = Browser::launch().await?;
    let cases = [
        (
            format!("{base}/r/{room}?t={expired}"),
            "token_expired",
            "Đường dẫn tham gia đã hết hạn. Hãy xin đường dẫn mới từ văn phòng tổ chức cuộc họp.",
        ),
        (
            format!("{base}/r/{room}?t={forged}"),
            "token_invalid",
            "Mã tham gia không hợp lệ. Hãy kiểm tra lại đường dẫn hoặc xin đường dẫn mới từ văn phòng.",
        ),
        (
            format!("{base}/r/phong-khac?t={valid}"),
            "wrong_room",
            "Đường dẫn này không dành cho phòng họp này. Hãy mở đúng đường dẫn được gửi cho đơn vị của bạn.",
        ),
        (
            format!("{base}/r/{room}"),
            "token_missing",
            "Đường dẫn thiếu mã tham gia. Hãy mở đúng đường dẫn được gửi cho đơn vị của bạn.",
        ),
    ];
    for (url, want_code, want_text) in &cases {
        let (code, text) = refused(&browser, url).await?;
        let missing = browser.eval(UNTRANSLATED).await?;
        ensure!(as_list(&missing).is_empty(), "untranslated (vi): {missing}");
        ensure!(
            code == *want_code,
            "{url}: error code {code:?}, want {want_code}"
        );
        ensure!(
            text == *want_text,
            "{url}: shows {text:?}, want {want_text:?}"
        );
    }

    // English is a switch, remembered across page loads; Vietnamese stays the default.
    browser
        .client
        .find(fantoccini::Locator::Id("lang"))
        .await?
        .click()
        .await?;
    let english = "The link has no join code. Open the exact link that was sent to your unit.";
    browser
        .wait_true(
            &format!(
                "return document.getElementById('error-text').innerText === {};",
                serde_json::to_string(english)?
            ),
            Duration::from_secs(5),
            "the error in English",
        )
        .await?;
    let (_, text) = refused(&browser, &format!("{base}/r/{room}?t={expired}")).await?;
    ensure!(
        text == "This join link has expired. Ask the office that organises the meeting for a new one.",
        "language not remembered after reload: {text:?}"
    );
    let missing = browser.eval(UNTRANSLATED).await?;
    ensure!(as_list(&missing).is_empty(), "untranslated (en): {missing}");
    browser.close().await?;
    Ok(())
}

#[test]
fn landing_page_is_local_and_translated() -> anyhow::Result<()> {
    run_serial(landing_page())
}

async fn landing_page() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let browser = Browser::launch().await?;
    browser.client.goto(&server.http_url()).await?;
    browser
        .wait_true(
            "return document.body.dataset.ready === 'true' && \
             document.querySelector('h1').textContent === 'Cầu truyền hình trực tuyến';",
            Duration::from_secs(10),
            "the Vietnamese landing page",
        )
        .await?;
    let missing = browser.eval(UNTRANSLATED).await?;
    ensure!(as_list(&missing).is_empty(), "untranslated (vi): {missing}");

    // Nothing comes from another origin: no CDN, no web fonts.
    let foreign = browser
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)\
             .filter(n => !n.startsWith(location.origin + '/'));",
        )
        .await?;
    ensure!(
        as_list(&foreign).is_empty(),
        "fetched from elsewhere: {foreign}"
    );

    browser
        .client
        .find(fantoccini::Locator::Id("lang"))
        .await?
        .click()
        .await?;
    let english = browser
        .eval("return document.querySelector('h1').textContent;")
        .await?;
    ensure!(
        english.as_str() == Some("Online meeting bridge"),
        "after the switch: {english}"
    );
    let missing = browser.eval(UNTRANSLATED).await?;
    ensure!(as_list(&missing).is_empty(), "untranslated (en): {missing}");
    let lang = browser
        .eval("return document.documentElement.lang;")
        .await?;
    ensure!(lang.as_str() == Some("en"), "html lang is {lang}");
    browser.close().await?;
    Ok(())
}

/// The hall's uplink governor (uplink.js), on a clock of its own: the camera pauses
/// after 4 s under 120 kbit/s (not for one low sample), comes back after 4 s at 250,
/// is tried again after 30 s and, when the trial shows the link still thin, after 60;
/// audio only keeps it paused.
#[test]
fn a_hall_whose_uplink_is_too_thin_pauses_its_camera_and_tries_again() -> anyhow::Result<()> {
    run_serial(async {
        let server = BridgeServer::start().await?;
        let browser = Browser::launch().await?;
        browser.client.goto(&server.http_url()).await?;
        let got = browser
            .eval(
                "return import('/static/js/uplink.js').then(m => { \
                   const g = new m.UplinkGovernor(); \
                   const at = (kbps, s) => g.update(kbps, s * 1000); \
                   const out = {}; \
                   out.blip = [at(300, 0), at(80, 2), at(300, 4)]; \
                   out.thin = [at(80, 6), at(80, 8), at(80, 10)]; \
                   out.unknown = at(null, 12); \
                   out.beforeRetry = at(80, 39); \
                   out.trial = [at(80, 40), at(80, 46)]; \
                   out.trialOver = at(80, 48); \
                   out.secondRetry = [at(80, 100), at(80, 109)]; \
                   out.recovered = [at(300, 112), at(300, 114), at(300, 116)]; \
                   out.audioOnly = g.update(300, 118000, true); \
                   const kbps = m.availableOutgoingKbps(new Map([['a', {type: 'candidate-pair', \
                     nominated: true, state: 'succeeded', availableOutgoingBitrate: 64000}]])); \
                   out.kbps = kbps; \
                   out.none = m.availableOutgoingKbps(new Map()); \
                   return out; });",
            )
            .await?;
        let expect = serde_json::json!({
            "blip": [false, false, false],
            "thin": [false, false, true],
            "unknown": true,
            "beforeRetry": true,
            "trial": [false, false],
            "trialOver": true,
            "secondRetry": [true, false],
            "recovered": [false, false, false],
            "audioOnly": true,
            "kbps": 64,
            "none": null
        });
        ensure!(got == expect, "governor: {got}, expected {expect}");
        browser.close().await?;
        Ok(())
    })
}

#[test]
fn a_conference_of_hundreds_is_paged_25_sites_at_a_time() -> anyhow::Result<()> {
    run_serial(paged_stage())
}

/// The stage's plan (web/static/js/layout.js), run in the browser on the page's own
/// module: 221 sites with a floor holder; the chair's page 2 shows the holder plus 25
/// sites as thumbnails and asks for nothing of the other 195; a hall shows the holder
/// and the active speaker only, one picture on a thin link, none for audio only. The
/// page joins with `default_view: "off"`, so `view` goes out only for what is shown (the
/// holder's camera and screen share, 25 thumbnails), once; turning the page asks for
/// the next 25 and turns the old ones off first (their slots serve the new page),
/// except a site that left meanwhile.
async fn paged_stage() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let browser = Browser::launch().await?;
    browser.client.goto(&server.http_url()).await?;
    let plan = browser
        .eval(
            "return import('/static/js/layout.js').then(m => { \
               const ids = Array.from({length: 221}, (_, i) => 'p' + i); \
               const p = m.planStage(ids, 'p7', 1); \
               const views = [...p.views.values()]; \
               const few = m.planStage(['a', 'b', 'c'], null, 5, {grid: false}); \
               const on = (q) => Object.fromEntries([...q.views].filter(([, v]) => v !== 'off')); \
               const hall = (mode) => on(m.planStage(ids, 'p7', 0, {grid: false, speaker: 'p30', mode})); \
               const parts = ids.map(id => ({id, tracks: [{track_id: id + '-c', source: 'camera'}, \
                 {track_id: id + '-m', source: 'microphone'}]})); \
               parts[7].tracks.push({track_id: 'p7-s', source: 'screen'}); \
               parts[100].tracks.push({track_id: 'p100-s', source: 'screen'}); \
               const sent = []; \
               const sync = new m.ViewSync(x => sent.push(x)); \
               const count = (list) => ({high: list.filter(x => x.quality === 'high').map(x => x.track), \
                 low: list.filter(x => x.quality === 'low').length, off: list.filter(x => x.quality === 'off').length, \
                 offFirst: list.every((x, i) => i === 0 || x.quality !== 'off' || list[i - 1].quality === 'off')}); \
               sync.sync(m.trackViews(p, parts)); \
               const first = count(sent.splice(0)); \
               sync.sync(m.trackViews(p, parts)); \
               const again = sent.splice(0).length; \
               sync.sync(m.trackViews(m.planStage(ids, 'p7', 2), parts.filter(q => q.id !== 'p30'))); \
               const next = count(sent.splice(0)); \
               const audioPlan = m.trackViews(m.planStage(ids, 'p7', 0, {grid: false, mode: 'audio'}), parts); \
               const aud = new m.ViewSync(x => sent.push(x)); \
               aud.sync(audioPlan, true); \
               const audioFirst = count(sent.splice(0)); \
               aud.sync(audioPlan, true); \
               const audioAgain = sent.splice(0).length; \
               return {pages: p.pages, page: p.page, shown: p.shown.size, \
                 off: views.filter(v => v === 'off').length, \
                 low: views.filter(v => v === 'low').length, \
                 holder: p.views.get('p7'), first: p.shown.has('p26'), before: p.shown.has('p25'), \
                 few: [...few.views.values()], fewPage: few.page, \
                 hall: hall('auto'), thin: hall('thin'), audio: hall('audio'), \
                 sent: {first, again, next, audioFirst, audioAgain}}; });",
        )
        .await?;
    let expect = serde_json::json!({
        "pages": 9, "page": 1, "shown": 26, "off": 195, "low": 25, "holder": "high",
        "first": true, "before": false, "few": ["high", "high", "high"], "fewPage": 0,
        "hall": {"p7": "high", "p30": "low"}, "thin": {"p7": "low"}, "audio": {},
        "sent": {
            "first": {"high": ["p7-c", "p7-s"], "low": 25, "off": 0, "offFirst": true},
            "again": 0,
            "next": {"high": [], "low": 25, "off": 24, "offFirst": true},
            // Audio only: every video said off once (221 cameras, 2 screens), then nothing.
            "audioFirst": {"high": [], "low": 0, "off": 223, "offFirst": true},
            "audioAgain": 0
        }
    });
    ensure!(plan == expect, "plan: {plan}, expected {expect}");
    browser.close().await?;
    Ok(())
}

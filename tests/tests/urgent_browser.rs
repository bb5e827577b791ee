//! Urgent calls that land, in real Chromium against the real `bridge` binary.
//!
//! 1. The office summons three wards through the confirmation (its count must equal the
//!    units picked), with a start in 15 minutes, a place and a document. One screen of
//!    ward 07888 was already open; a second one signs in only after the call and must
//!    still get the banner (asked of the server, not pushed). It acknowledges; the other
//!    screen turns to "Đã xác nhận lúc HH:MM" by itself; after a reload there is no banner
//!    and the list says when; the office's table shows the ward acknowledged. The banner is
//!    checked on a 1366 px and a 390 px viewport.
//! 2. A dashboard in a background tab (really hidden: headless Chromium hides a tab behind
//!    another, `document.visibilityState` says so) gets a call: its title alternates every
//!    second (read from outside through DevTools' target list, as the taskbar would show
//!    it), a desktop notification is raised (permission given by the hall's click), and
//!    the title is back to normal once the tab is shown.
//!
//! Figures printed: from the office's confirmation to the banner on a dashboard already
//! open, and on one loaded afterwards. Screenshots go to `SCHED_SCREENSHOTS` or else to
//! `$TMPDIR/bridge-urgent-shots/`.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, as_list, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, demo_unit_name, login, pick_unit, strip_accents};
use bridge_e2e::server::BridgeServer;
use fantoccini::Locator;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const TITLE: &str = "Họp khẩn ứng phó bão số 3";
const PLACE: &str = "Hội trường tầng 3, UBND tỉnh";
const WARDS: [&str; 3] = ["07888", "07894", "07900"];
const READY: &str =
    "return document.body.dataset.live === 'true' && document.body.dataset.alertsReady === 'true';";
const PENDING: &str = "return !!document.querySelector('.urgent-alert[data-state=pending]');";

/// Where screenshots go (kept after the test, named in the output).
fn shots_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("SCHED_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("bridge-urgent-shots"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn save_shot(b: &Browser, name: &str) -> anyhow::Result<()> {
    let path = shots_dir()?.join(format!("{name}.png"));
    b.screenshot(&path).await?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

async fn click(b: &Browser, selector: &str) -> anyhow::Result<()> {
    b.client
        .find(Locator::Css(selector))
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {selector}"))
}

async fn text(b: &Browser, selector: &str) -> anyhow::Result<String> {
    let v = b
        .eval(&format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : null;",
            serde_json::to_string(selector)?
        ))
        .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// "HH:MM" in Hà Nội now (UTC+7, no daylight saving).
fn hanoi_hm() -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::hours(7);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// The banner and its buttons whole inside the viewport, nothing scrolling sideways.
const BANNER_LAYOUT: &str = r#"
const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
const bad = [];
for (const s of ['.urgent-alert', '.urgent-alert .alert-ack', '.urgent-alert .alert-join']) {
  const e = document.querySelector(s);
  if (!e) { bad.push(`${s} missing`); continue; }
  const b = e.getBoundingClientRect();
  if (b.width === 0 || b.left < -0.5 || b.right > W + 0.5 || b.top < -0.5 || b.bottom > H + 0.5)
    bad.push(`${s} at ${Math.round(b.left)},${Math.round(b.top)}..${Math.round(b.right)},${Math.round(b.bottom)}`);
}
const sw = document.documentElement.scrollWidth;
if (sw > W) bad.push(`the page scrolls sideways: ${sw} > ${W}`);
return { W, H, bad };
"#;

async fn check_banner_layout(b: &Browser, width: u64, name: &str) -> anyhow::Result<()> {
    b.eval("window.scrollTo(0, 0); return true;").await?;
    let v = b.eval(BANNER_LAYOUT).await?;
    ensure!(
        v["W"].as_u64() == Some(width),
        "viewport {v}, wanted {width} px"
    );
    let bad = as_list(&v["bad"]);
    ensure!(bad.is_empty(), "banner at {width} px: {bad:?}");
    save_shot(b, name).await
}

/// A `w`×`h` CSS pixel viewport through DevTools (headless keeps windows at least 500 px
/// wide, and a window's own size leaves less for the page): a phone when `scale` > 1.
async fn viewport(b: &Browser, w: u32, h: u32, scale: u32) -> anyhow::Result<()> {
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": w, "height": h, "deviceScaleFactor": scale, "mobile": scale > 1 }),
    )
    .await?;
    b.wait_true(
        &format!("return document.documentElement.clientWidth <= {w} && innerWidth === {w};"),
        Duration::from_secs(5),
        &format!("a {w} px viewport"),
    )
    .await
}

async fn summoned_and_acknowledged() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thu", "secretary", "25")?;
    for code in WARDS {
        add_user(&server, &format!("xa.{code}"), "site", code)?;
    }
    let doc_dir = tempfile::tempdir()?;
    let doc = doc_dir.path().join("Kế hoạch ứng phó.pdf");
    std::fs::write(&doc, vec![b'%'; 3 * 1024 * 1024])?;

    let b = Browser::launch().await?;
    let office = b.first_window().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thu",
        "/static/schedule.html",
    )
    .await?;
    // One screen of the ward is open before the call.
    let open_screen = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://a.localhost:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(READY, WAIT, "the open dashboard live").await?;
    ensure!(
        !b.eval(PENDING).await?.as_bool().unwrap_or(true),
        "a banner before any call"
    );

    // The office fills the card and presses "Họp khẩn".
    b.switch(&office).await?;
    for code in WARDS {
        pick_unit(
            &b,
            "#urgent-picker",
            &strip_accents(&demo_unit_name(code)?),
            code,
        )
        .await?;
    }
    let picked = b
        .eval("return document.querySelectorAll('#urgent-picker .chip').length;")
        .await?;
    b.set_value("#title", TITLE).await?;
    b.set_value("#urgent-location", PLACE).await?;
    b.eval("document.getElementById('urgent-start').value = '15'; return true;")
        .await?;
    b.client
        .find(Locator::Css("#urgent-file"))
        .await?
        .send_keys(doc.to_str().context("path")?)
        .await?;
    click(&b, "#urgent").await?;
    b.wait_true(
        "return !!document.querySelector('#urgent-confirm[open]');",
        WAIT,
        "the confirmation",
    )
    .await?;
    let heading = text(&b, "#urgent-confirm-title").await?;
    ensure!(
        heading == format!("Triệu tập {picked} đơn vị?"),
        "confirmation says {heading:?}, {picked} units picked"
    );
    ensure!(picked == json!(3), "picked {picked}");
    let names = b.eval("return [...document.querySelectorAll('#urgent-confirm-names li')].map(l => l.textContent);").await?;
    for code in WARDS {
        let name = demo_unit_name(code)?;
        ensure!(
            as_list(&names).iter().any(|n| n == &json!(name)),
            "{name} not in {names}"
        );
    }
    let start = text(&b, "#urgent-confirm-start").await?;
    ensure!(start.contains("sau 15 phút"), "start line {start:?}");
    save_shot(&b, "urgent-confirm-1366").await?;
    // Nothing was sent before the confirmation.
    b.switch(&open_screen).await?;
    ensure!(
        !b.eval(PENDING).await?.as_bool().unwrap_or(true),
        "a banner before the confirmation"
    );
    b.switch(&office).await?;
    let t0 = b.eval("const t = Date.now(); document.getElementById('urgent-confirm-yes').click(); return t;").await?;
    let t0 = t0.as_f64().context("t0")?;

    // The office sees that the call went out, and the table of that call in view.
    b.wait_true(
        "return document.getElementById('urgent-done').textContent.startsWith('Đã triệu tập 3 đơn vị');",
        WAIT,
        "the success message",
    )
    .await?;
    b.wait_true(
        "const r = document.getElementById('acks-card').getBoundingClientRect(); \
         return r.top >= -1 && r.top < innerHeight - 100 && \
           document.querySelectorAll('#acks tr td.wait').length === 3;",
        WAIT,
        "the acknowledgement table scrolled to, three wards waiting",
    )
    .await?;
    b.wait_true(
        "return document.getElementById('urgent-pct').textContent.includes('Đã gửi kèm tài liệu');",
        Duration::from_secs(30),
        "the document uploaded",
    )
    .await?;
    save_shot(&b, "urgent-called-1366").await?;

    // The screen that was open: pushed.
    b.switch(&open_screen).await?;
    b.wait_true(
        PENDING,
        Duration::from_secs(5),
        "the banner on the open dashboard",
    )
    .await?;
    let open_ms = b
        .eval("return window.bridgeAlerts.state.shownAt;")
        .await?
        .as_f64()
        .context("shownAt")?
        - t0;

    // A screen signed in after the call: asked of the server.
    let late_screen = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://127.0.0.1:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(
        PENDING,
        Duration::from_secs(5),
        "the banner on a dashboard opened after the call",
    )
    .await?;
    let v = b
        .eval(
            "const s = window.bridgeAlerts.state.shownAt; return [s, s - performance.timeOrigin];",
        )
        .await?;
    let (late_abs, late_load_ms) = (
        v[0].as_f64().context("shownAt")?,
        v[1].as_f64().context("load")?,
    );
    let banner = text(&b, ".urgent-alert").await?;
    for want in [TITLE, PLACE, "Bắt đầu", "Tỉnh Phú Thọ"] {
        ensure!(banner.contains(want), "banner {banner:?} lacks {want:?}");
    }
    ensure!(text(&b, ".urgent-alert .alert-ack").await? == "Xác nhận đã nhận");
    let st = b.eval("return window.bridgeAlerts.state;").await?;
    ensure!(
        st["chimes"].as_u64() >= Some(1) && st["ringing"] == json!(true),
        "no chime: {st}"
    );

    viewport(&b, 1366, 768, 1).await?;
    check_banner_layout(&b, 1366, "urgent-banner-1366").await?;
    viewport(&b, 390, 844, 2).await?;
    check_banner_layout(&b, 390, "urgent-banner-390").await?;
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await?;

    // Acknowledged (a click, as a person would).
    let before = hanoi_hm();
    click(&b, ".urgent-alert .alert-ack").await?;
    b.wait_true(
        "return document.querySelector('.urgent-alert[data-state=acked]') !== null;",
        WAIT,
        "the banner acknowledged",
    )
    .await?;
    let after = hanoi_hm();
    let acked = text(&b, ".urgent-alert .alert-ack").await?;
    ensure!(
        acked == format!("Đã xác nhận lúc {before}") || acked == format!("Đã xác nhận lúc {after}"),
        "button says {acked:?} (Hà Nội time {before}..{after})"
    );
    let st = b.eval("return window.bridgeAlerts.state;").await?;
    ensure!(st["ringing"] == json!(false), "still ringing: {st}");

    // The other screen of the ward follows by itself.
    b.switch(&open_screen).await?;
    b.wait_true(
        &format!(
            "const b = document.querySelector('.urgent-alert[data-state=acked] .alert-ack'); \
             return !!b && b.textContent === {} && !window.bridgeAlerts.state.ringing;",
            serde_json::to_string(&acked)?
        ),
        Duration::from_secs(5),
        "the other screen showing the acknowledgement",
    )
    .await?;

    // Reloaded: no banner, the list says when.
    b.switch(&late_screen).await?;
    b.client.refresh().await?;
    b.wait_true(READY, WAIT, "the reloaded dashboard").await?;
    ensure!(
        b.eval("return document.querySelectorAll('.urgent-alert').length;")
            .await?
            == json!(0),
        "a banner after reload"
    );
    let row = text(&b, "#list .ack-state").await?;
    ensure!(row == acked, "list row says {row:?}, wanted {acked:?}");
    let docs = b
        .js("const id = document.querySelector('#list tr').dataset.meeting; \
             return (await (await fetch(`/api/meetings/${id}/documents`)).json()).map(d => d.filename);")
        .await?;
    ensure!(
        docs == json!(["Kế hoạch ứng phó.pdf"]),
        "documents of the call: {docs}"
    );

    // The office's table.
    b.switch(&office).await?;
    b.wait_true(
        "return !!document.querySelector('#acks tr[data-unit=\"07888\"] td.ok') && \
           document.querySelectorAll('#acks tr td.wait').length === 2 && \
           document.getElementById('acks-summary').textContent === '1/3 đơn vị đã xác nhận';",
        Duration::from_secs(5),
        "the office sees 07888 acknowledged",
    )
    .await?;
    save_shot(&b, "urgent-acks-1366").await?;
    eprintln!(
        "urgent call latency: confirmation -> banner on an open dashboard {open_ms:.0} ms; \
         on a dashboard signed in after the call: {late_load_ms:.0} ms from its page load \
         ({:.0} ms after the confirmation, sign-in by the test included)",
        late_abs - t0
    );
    b.close().await?;
    Ok(())
}

#[test]
fn office_summons_with_confirmation_and_a_late_dashboard_acknowledges() -> anyhow::Result<()> {
    run_serial(summoned_and_acknowledged())
}

/// The dashboard's title as DevTools' target list shows it (readable while hidden).
async fn dashboard_title(b: &Browser) -> anyhow::Result<String> {
    let targets = b.cdp("Target.getTargets", json!({})).await?;
    as_list(&targets["targetInfos"])
        .iter()
        .find(|t| {
            t["type"] == "page"
                && t["url"]
                    .as_str()
                    .is_some_and(|u| u.contains("dashboard.html"))
        })
        .and_then(|t| t["title"].as_str().map(str::to_owned))
        .context("no dashboard among the targets")
}

async fn hidden_dashboard_flashes() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thu", "secretary", "25")?;
    add_user(&server, "xa.07888", "site", "07888")?;
    let b = Browser::launch().await?;
    let hall = b.first_window().await?;
    login(
        &b,
        &format!("http://a.localhost:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(READY, WAIT, "the dashboard live").await?;
    // Notifications are offered once, by a click; the hall allows them.
    ensure!(
        b.eval("return !document.getElementById('notify-bar').hidden;")
            .await?
            == json!(true),
        "no offer to notify"
    );
    b.set_permission("notifications", "granted").await?;
    click(&b, "#notify-enable").await?;
    b.wait_true(
        "return document.getElementById('notify-bar').hidden;",
        WAIT,
        "the offer gone",
    )
    .await?;
    let base = b
        .eval("return document.title;")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    b.eval("window.seen = []; document.addEventListener('visibilitychange', () => seen.push(document.visibilityState)); return true;").await?;

    // Another tab in front: the dashboard is hidden. The office calls from there.
    let front = b.client.new_window(true).await?;
    b.client.switch_to_window(front.handle.clone()).await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thu",
        "/static/schedule.html",
    )
    .await?;
    let id = b
        .js("const r = await fetch('/api/meetings/urgent', { method: 'POST', headers: { 'content-type': 'application/json' }, \
               body: JSON.stringify({ title: 'Khẩn: kiểm tra đê', organizer: '25', participants: [{ type: 'unit', code: '07888' }] }) }); \
             return (await r.json()).meeting.id;")
        .await?;
    let mut titles = Vec::new();
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        titles.push(dashboard_title(&b).await?);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let alt = "⚠ HỌP KHẨN — Khẩn: kiểm tra đê";
    let changes = titles.windows(2).filter(|w| w[0] != w[1]).count();
    ensure!(
        titles.iter().any(|t| t == alt) && titles.contains(&base) && changes >= 3,
        "the hidden tab's title did not alternate every second: {titles:?}"
    );

    // Shown again: the title settles, the banner waits with its notification raised.
    b.switch(&hall).await?;
    b.wait_true(
        &format!(
            "return document.visibilityState === 'visible' && document.title === {} && !window.bridgeAlerts.state.flashing;",
            serde_json::to_string(&base)?
        ),
        Duration::from_secs(3),
        "the title back to normal once shown",
    )
    .await?;
    let st = b
        .eval("return { state: window.bridgeAlerts.state, seen: window.seen };")
        .await?;
    ensure!(
        st["seen"][0] == json!("hidden"),
        "the tab was never hidden: {st}"
    );
    ensure!(
        as_list(&st["state"]["notified"]).contains(&id),
        "no notification for {id}: {st}"
    );
    ensure!(
        b.eval(PENDING).await? == json!(true),
        "the banner waits for acknowledgement"
    );
    eprintln!(
        "hidden tab: {} title samples, {changes} changes: {:?}",
        titles.len(),
        &titles[..titles.len().min(6)]
    );
    b.close().await?;
    Ok(())
}

#[test]
fn hidden_dashboard_flashes_its_title_and_notifies() -> anyhow::Result<()> {
    run_serial(hidden_dashboard_flashes())
}

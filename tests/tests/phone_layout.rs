//! The room page on a phone (390×844), a tablet (820×1180) and the hall PC (1366×768),
//! in real Chromium against the real binary: a chair's page and a member's page, as
//! windows of one browser. What a person on a phone would check: the header's parts
//! do not overlap, every toolbar button is whole on screen and big enough for a finger,
//! the page does not scroll sideways, the video tiles fit; a chair opens the console
//! ("Điều hành") and its controls work, a member has no such button; Escape closes.
//!
//! The sizes come from the DevTools protocol's device metrics (`Emulation.
//! setDeviceMetricsOverride`, through ChromeDriver's `goog/cdp/execute`), checked on
//! `window.innerWidth`: headless Chromium keeps a window at least 500 px wide, so
//! `--window-size=390,844` gives a 500×701 viewport, and so does Set Window Rect.
//! `SCHED_SCREENSHOTS=DIR` saves a screenshot of each.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, UNTRANSLATED, as_list, run_serial};
use bridge_e2e::sched_pages::shot;
use bridge_e2e::server::BridgeServer;
use fantoccini::Locator;
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Connected, with the own tile drawn and, on a chair's page, the chair's panel filled.
const READY: &str = "return !!window.bridge && window.bridge.state === 'connected' && \
    !!document.querySelector('#grid .tile.self') && \
    (document.getElementById('chair-panel').hidden || \
     document.getElementById('roll-summary').textContent.trim() !== '');";

/// The layout's faults as a person would see them, for the current window.
const LAYOUT_PROBLEMS: &str = r#"
// The layout viewport: what the page was laid out for (a phone zooms out of a page
// wider than that, and innerWidth then grows past it).
const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
const shown = (e) => !!e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
const box = (e) => e.getBoundingClientRect();
const px = (b) => `${Math.round(b.left)}..${Math.round(b.right)} x ${Math.round(b.top)}..${Math.round(b.bottom)}`;
const problems = [];
// The header: title, connection status, console button, language button.
const header = ['.room-title', '#conn', '#btn-console', '#lang']
  .map((s) => [s, document.querySelector(s)]).filter(([, e]) => shown(e));
for (const [s, e] of header) {
  const b = box(e);
  if (b.left < 0 || b.right > W + 0.5 || b.top < 0) problems.push(`${s} off screen: ${px(b)}`);
}
for (let i = 0; i < header.length; i++) {
  for (let j = i + 1; j < header.length; j++) {
    const a = box(header[i][1]), b = box(header[j][1]);
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
      problems.push(`${header[i][0]} (${px(a)}) overlaps ${header[j][0]} (${px(b)})`);
    }
  }
}
const status = document.getElementById('conn-text');
if (!shown(status) || box(status).width < 20) problems.push('the connection status is not shown');
// The toolbar: every button whole on screen, a finger's size, and named.
const buttons = [...document.querySelectorAll('#controls button')].filter(shown);
for (const e of buttons) {
  const b = box(e);
  if (b.left < -0.5 || b.right > W + 0.5 || b.top < 0 || b.bottom > H + 0.5) problems.push(`#${e.id} off screen: ${px(b)}`);
  if (b.width < 44 || b.height < 44) problems.push(`#${e.id} is ${b.width}x${b.height}, under 44 px`);
  if (!(e.textContent.trim() || e.getAttribute('aria-label'))) problems.push(`#${e.id} has no name`);
}
for (const e of document.querySelectorAll('#grid .tile')) {
  if (!shown(e)) continue;
  const b = box(e);
  if (b.left < -0.5 || b.right > W + 0.5) problems.push(`tile ${e.dataset.key} off screen: ${px(b)}`);
}
const sw = document.documentElement.scrollWidth;
if (sw > W) problems.push(`the page scrolls sideways: scrollWidth ${sw} > ${W}`);
if (window.innerWidth !== W) problems.push(`the page is zoomed out: innerWidth ${window.innerWidth}, laid out for ${W}`);
return { width: window.innerWidth, height: window.innerHeight, buttons: buttons.map((e) => e.id),
         tiles: document.querySelectorAll('#grid .tile').length, problems };
"#;

/// Of the given elements, those not whole on screen or covered by something else
/// (what a tap at their middle would hit).
const NOT_TAPPABLE: &str = r#"
const W = document.documentElement.clientWidth, H = document.documentElement.clientHeight;
return arguments[0].filter((s) => {
  const e = document.querySelector(s);
  if (!e || e.getClientRects().length === 0) return true;
  const b = e.getBoundingClientRect();
  const inside = b.width > 0 && b.height > 0 && b.left >= -0.5 && b.right <= W + 0.5 && b.top >= -0.5 && b.bottom <= H + 0.5;
  const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
  return !(inside && hit && (hit === e || e.contains(hit)));
});
"#;

/// The chair's console: the hands, the floor holder, mute-all, lock and the roll call.
const CONSOLE: &[&str] = &[
    "#floor-holder",
    "#chair-mute-all",
    "#chair-lock",
    "#hands",
    "#roll-summary",
];

/// Checks the layout in the current window, whose `window.innerWidth` must be `width`.
async fn layout(b: &Browser, what: &str, width: u64) -> anyhow::Result<Value> {
    let v = b.eval(LAYOUT_PROBLEMS).await?;
    let problems = as_list(&v["problems"]);
    ensure!(problems.is_empty(), "{what}: {problems:?} ({v})");
    ensure!(
        v["width"].as_u64() == Some(width),
        "{what}: window.innerWidth is {}, not {width}",
        v["width"]
    );
    eprintln!("{what}: {v}");
    Ok(v)
}

async fn not_tappable(b: &Browser, selectors: &[&str]) -> anyhow::Result<Vec<Value>> {
    let v = b
        .client
        .execute(NOT_TAPPABLE, vec![serde_json::to_value(selectors)?])
        .await?;
    Ok(as_list(&v))
}

async fn shown(b: &Browser, selector: &str) -> anyhow::Result<bool> {
    Ok(b.client
        .find(Locator::Css(selector))
        .await?
        .is_displayed()
        .await?)
}

async fn click(b: &Browser, selector: &str) -> anyhow::Result<()> {
    b.client
        .find(Locator::Css(selector))
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {selector}"))
}

async fn expanded(b: &Browser, selector: &str) -> anyhow::Result<String> {
    let e = b.client.find(Locator::Css(selector)).await?;
    Ok(e.attr("aria-expanded").await?.unwrap_or_default())
}

/// A DevTools protocol command for the current window, through ChromeDriver.
#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.0.to_string()))
    }
}

/// Makes the current window's viewport `w`×`h` CSS pixels: a phone or tablet (`scale`
/// device pixels per CSS pixel, mobile viewport rules) or a PC (`scale` 1).
async fn viewport(b: &Browser, w: u32, h: u32, scale: u32) -> anyhow::Result<()> {
    b.client
        .issue_cmd(Cdp(json!({
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": { "width": w, "height": h, "deviceScaleFactor": scale, "mobile": scale > 1 },
        })))
        .await
        .context("Emulation.setDeviceMetricsOverride")?;
    // The layout viewport; `innerWidth` too unless the page is wider and zoomed out,
    // which `layout` reports.
    let wanted = format!(
        "const d = document.documentElement; return d.clientWidth === {w} && d.clientHeight === {h};"
    );
    b.wait_true(
        &wanted,
        Duration::from_secs(5),
        &format!("a {w}x{h} viewport"),
    )
    .await
}

/// The console opens with the button, its controls are on screen and work (lock, then
/// unlock), Escape closes it and gives the focus back to the button.
async fn chair_console(b: &Browser, what: &str) -> anyhow::Result<()> {
    ensure!(shown(b, "#btn-console").await?, "{what}: no console button");
    let text = b
        .client
        .find(Locator::Css("#btn-console"))
        .await?
        .text()
        .await?;
    ensure!(
        text.contains("Điều hành"),
        "{what}: console button says {text:?}"
    );
    ensure!(
        expanded(b, "#btn-console").await? == "false",
        "{what}: the console starts closed"
    );
    ensure!(
        !shown(b, "#chair-mute-all").await?,
        "{what}: mute-all shown before the console is opened"
    );
    click(b, "#btn-console").await?;
    ensure!(
        expanded(b, "#btn-console").await? == "true",
        "{what}: aria-expanded after opening"
    );
    let mut wanted = CONSOLE.to_vec();
    wanted.push("#drawer-close");
    let hidden = not_tappable(b, &wanted).await?;
    ensure!(
        hidden.is_empty(),
        "{what}: console controls not on screen or covered: {hidden:?}"
    );
    // The lock works from here: the chair locks the room, then opens it again.
    click(b, "#chair-lock").await?;
    b.wait_true(
        "return document.getElementById('chair-lock').textContent === 'Mở khóa phòng';",
        WAIT,
        "the room locked from the console",
    )
    .await?;
    click(b, "#chair-lock").await?;
    b.wait_true(
        "return document.getElementById('chair-lock').textContent === 'Khóa phòng';",
        WAIT,
        "the room unlocked from the console",
    )
    .await?;
    // Escape (the key, as typed) closes the drawer; focus returns to the button.
    b.client
        .active_element()
        .await?
        .send_keys(&Key::Escape)
        .await?;
    b.wait_true(
        "return document.getElementById('btn-console').getAttribute('aria-expanded') === 'false' && \
         document.getElementById('people').getClientRects().length === 0 && \
         document.activeElement === document.getElementById('btn-console');",
        Duration::from_secs(5),
        &format!("{what}: Escape closing the console"),
    )
    .await?;
    Ok(())
}

/// The people button opens the participant list as a drawer, and closes it again.
async fn people_drawer(b: &Browser, what: &str, names: &[&str]) -> anyhow::Result<()> {
    ensure!(
        !shown(b, "#people-list").await?,
        "{what}: the list is shown before it is opened"
    );
    click(b, "#btn-people").await?;
    ensure!(
        expanded(b, "#btn-people").await? == "true",
        "{what}: aria-expanded after opening the list"
    );
    let list = b
        .client
        .find(Locator::Css("#people-list"))
        .await?
        .text()
        .await?;
    for name in names {
        ensure!(list.contains(name), "{what}: the list lacks {name}: {list}");
    }
    let hidden = not_tappable(b, &["#people-title", "#drawer-close"]).await?;
    ensure!(hidden.is_empty(), "{what}: not on screen: {hidden:?}");
    click(b, "#drawer-close").await?;
    ensure!(
        expanded(b, "#btn-people").await? == "false" && !shown(b, "#people-list").await?,
        "{what}: the close button closes the list"
    );
    Ok(())
}

async fn phone_layout() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let room = "u-25";
    let (chair_name, member_name) = ("Chủ tịch UBND tỉnh", "Xã Thanh Sơn");
    let browser = Browser::launch().await?;

    // The chair, on a phone.
    let chair = browser.first_window().await?;
    browser
        .client
        .goto(&server.join_url(room, chair_name, "chair"))
        .await?;
    viewport(&browser, 390, 844, 3).await?;
    browser.wait_true(READY, WAIT, "the chair's page").await?;
    // A scheduled meeting's long title must not push the status away.
    browser
        .eval(
            "document.getElementById('room-name').textContent = \
             'Hội nghị trực tuyến triển khai nhiệm vụ phát triển kinh tế - xã hội 6 tháng cuối năm'; \
             return true;",
        )
        .await?;
    let untranslated = browser.eval(UNTRANSLATED).await?;
    ensure!(
        as_list(&untranslated).is_empty(),
        "untranslated: {untranslated}"
    );
    let v = layout(&browser, "chair, 390 px", 390).await?;
    ensure!(
        as_list(&v["buttons"]).len() >= 6,
        "the chair's toolbar: {v}"
    );
    shot(&browser, "phone-chair").await?;
    chair_console(&browser, "chair, 390 px").await?;
    // Open again, for the picture, then the drawer's close button.
    click(&browser, "#btn-console").await?;
    shot(&browser, "phone-chair-console").await?;
    click(&browser, "#drawer-close").await?;
    ensure!(
        expanded(&browser, "#btn-console").await? == "false",
        "the close button closes the console"
    );
    people_drawer(&browser, "chair, 390 px", &[chair_name]).await?;

    // A member, on a phone: no console button, the list from the toolbar.
    let member = browser
        .open_window(&server.join_url(room, member_name, "member"))
        .await?;
    viewport(&browser, 390, 844, 3).await?;
    browser.wait_true(READY, WAIT, "the member's page").await?;
    browser
        .wait_true(
            "return document.querySelectorAll('#grid .tile').length >= 2 && \
             !document.getElementById('btn-hand').hidden;",
            WAIT,
            "the chair's tile and the hand button on the member's page",
        )
        .await?;
    let v = layout(&browser, "member, 390 px", 390).await?;
    ensure!(
        as_list(&v["buttons"]).len() >= 7,
        "the member's toolbar (with the hand): {v}"
    );
    ensure!(
        !shown(&browser, "#btn-console").await?,
        "a member's page shows the chair's console button"
    );
    shot(&browser, "phone-member").await?;
    people_drawer(&browser, "member, 390 px", &[chair_name, member_name]).await?;
    ensure!(
        !shown(&browser, "#chair-mute-all").await?,
        "a member sees the chair's controls"
    );

    // The chair on a tablet: the console is reachable the same way.
    browser.switch(&chair).await?;
    viewport(&browser, 820, 1180, 2).await?;
    layout(&browser, "chair, 820 px", 820).await?;
    shot(&browser, "tablet-chair").await?;
    chair_console(&browser, "chair, 820 px").await?;
    click(&browser, "#btn-console").await?;
    shot(&browser, "tablet-chair-console").await?;
    browser
        .client
        .active_element()
        .await?
        .send_keys(&Key::Escape)
        .await?;

    // And on the hall PC, as before: the panel is a column, no console button.
    viewport(&browser, 1366, 768, 1).await?;
    layout(&browser, "chair, 1366 px", 1366).await?;
    ensure!(
        !shown(&browser, "#btn-console").await?,
        "the console button on a wide screen"
    );
    let hidden = not_tappable(&browser, CONSOLE).await?;
    ensure!(
        hidden.is_empty(),
        "the chair's column at 1366 px: {hidden:?}"
    );
    ensure!(
        expanded(&browser, "#btn-people").await? == "true",
        "the people column open at 1366 px"
    );
    // The people button hides and shows the column there, as it always did.
    click(&browser, "#btn-people").await?;
    ensure!(
        expanded(&browser, "#btn-people").await? == "false" && !shown(&browser, "#people").await?,
        "the people button hides the column at 1366 px"
    );
    click(&browser, "#btn-people").await?;
    ensure!(
        expanded(&browser, "#btn-people").await? == "true"
            && shown(&browser, "#chair-lock").await?,
        "the people button shows the column again at 1366 px"
    );
    shot(&browser, "desktop-chair").await?;
    browser.switch(&member).await?;
    viewport(&browser, 1366, 768, 1).await?;
    layout(&browser, "member, 1366 px", 1366).await?;
    shot(&browser, "desktop-member").await?;
    browser.close().await?;
    Ok(())
}

#[test]
fn the_room_page_fits_a_phone_and_the_chair_reaches_the_console() -> anyhow::Result<()> {
    run_serial(phone_layout())
}

//! The secretary's schedule page in real Chromium against the real `bridge` binary: a
//! meeting created through the form (tree picker, agenda, Hà Nội time) lands in the right
//! day column and hour of the week view and in the API; a concurrent edit gives a conflict
//! that keeps what was typed; a weekly series shows in the following weeks; a document
//! uploaded with its progress bar is downloadable from an invited commune's dashboard.
//!
//! Two accounts need two cookie jars: the secretary uses `localhost`, the commune
//! `127.0.0.1` (the same server).

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, login, shot};
use bridge_e2e::server::BridgeServer;
use fantoccini::Locator;
use serde_json::Value;

/// Huyện Thanh Sơn in the demo province, and one ward of Việt Trì.
const THANH_SON: &str = "238";
const VIET_TRI: &str = "227";
const WARD: &str = "07888";

/// Direct children of `code` in the demo CSV.
fn children_in_csv(code: &str) -> anyhow::Result<usize> {
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scheduler/units/units-phu-tho.csv"
    ))?;
    Ok(csv
        .lines()
        .filter(|l| l.split(',').nth(1) == Some(code))
        .count())
}

/// Expands a unit in the open form's tree and waits for its children.
async fn expand(b: &Browser, code: &str) -> anyhow::Result<()> {
    b.js(&format!(
            "document.querySelector('dialog .tree li[data-code=\"{code}\"] > .toggle').click(); return true;"
        ),
    )
    .await?;
    b.wait_true(
        &format!("return document.querySelectorAll('dialog .tree li[data-code=\"{code}\"] > ul > li').length > 0;"),
        WAIT,
        &format!("the children of {code}"),
    )
    .await
}

async fn click_opt(b: &Browser, code: &str, opt: &str) -> anyhow::Result<()> {
    b.js(&format!(
            "document.querySelector('dialog .tree li[data-code=\"{code}\"] > span > .opts [data-opt={opt}]').click(); return true;"
        ),
    )
    .await
    .map(|_| ())
}

/// Saves the open form and waits until it reports success.
async fn save(b: &Browser) -> anyhow::Result<()> {
    b.js("document.getElementById('mf-save').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.querySelector('#mf-info .ok');",
        WAIT,
        "the form saved",
    )
    .await?;
    // Without booking warnings the form closes by itself.
    b.wait_true(
        "return !document.querySelector('dialog[open]');",
        WAIT,
        "the form closed",
    )
    .await
}

/// The meeting id of the week view's card titled `title`, once shown.
async fn card(b: &Browser, title: &str) -> anyhow::Result<Value> {
    let find = format!(
        "const e = [...document.querySelectorAll('.week .event')].find(e => e.textContent.includes({t})); \
         return e ? {{ id: e.dataset.meeting, start: e.dataset.start, day: e.closest('.day').dataset.day }} : null;",
        t = serde_json::to_string(title)?
    );
    b.wait_true(
        &format!("return (() => {{ {find} }})() !== null;"),
        WAIT,
        &format!("the card of {title}"),
    )
    .await?;
    b.js(&find).await
}

async fn secretary_schedules_edits_and_shares_documents() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thu", "secretary", "25")?;
    add_user(&server, "xa.07888", "site", WARD)?;
    add_user(&server, "ct.thu", "chair", "25")?;
    let b = Browser::launch().await?;
    let secretary = b.first_window().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thu",
        "/static/schedule.html",
    )
    .await?;

    // Next week's Tuesday, 14:00 in Hà Nội (the browser itself runs in UTC).
    let day = b
        .js("const d = new Date(Date.now() + 7 * 3600e3); \
         d.setUTCDate(d.getUTCDate() - (d.getUTCDay() + 6) % 7 + 8); \
         return d.toISOString().slice(0, 10);")
        .await?;
    let day = day.as_str().context("date")?.to_owned();

    // --- create through the form -----------------------------------------------------
    b.js("document.getElementById('new').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.querySelector('dialog .tree li[data-code=\"25\"]');",
        WAIT,
        "the form with the unit tree",
    )
    .await?;
    b.set_value("#mf-title", "Giao ban các xã Thanh Sơn")
        .await?;
    b.set_value("#mf-start", &format!("{day}T14:00")).await?;
    b.set_value("#mf-end", &format!("{day}T16:00")).await?;
    b.set_value("#mf-location", "Hội trường UBND tỉnh").await?;
    b.js("const s = document.getElementById('mf-chair'); \
         s.value = [...s.options].find(o => o.textContent === 'ct.thu').value; return true;")
        .await?;
    b.set_value("#mf-agenda li:nth-child(1) input", "Khai mạc")
        .await?;
    b.js("document.getElementById('mf-add-item').click(); return true;")
        .await?;
    b.set_value("#mf-agenda li:nth-child(2) input", "Thảo luận")
        .await?;
    // All communes of Thanh Sơn, and one ward of Việt Trì found by browsing, not search.
    expand(&b, "25").await?;
    click_opt(&b, THANH_SON, "children").await?;
    expand(&b, VIET_TRI).await?;
    click_opt(&b, WARD, "unit").await?;
    let chips = b
        .js("return document.querySelectorAll('dialog .chip').length;")
        .await?;
    ensure!(chips == 2, "two selections picked, got {chips}");
    shot(&b, "secretary-form").await?;
    save(&b).await?;

    // The week view of that week shows it on Tuesday at 14:00.
    b.js("document.getElementById('next').click(); return true;")
        .await?;
    let c = card(&b, "Giao ban các xã Thanh Sơn").await?;
    ensure!(c["day"] == day.as_str(), "card in the column of {day}: {c}");
    ensure!(c["start"] == "14:00", "card at 14:00: {c}");
    shot(&b, "secretary-week").await?;
    let id = c["id"].as_str().context("meeting id")?.to_owned();

    let view = b
        .js(&format!(
            "return await (await fetch('/api/meetings/{id}')).json();"
        ))
        .await?;
    // The communes of Thanh Sơn, the ward, and the organizing province itself.
    let want = children_in_csv(THANH_SON)? + 2;
    let got = view["invitations"].as_array().map_or(0, Vec::len);
    ensure!(got == want, "{want} invitations expected, got {got}");
    ensure!(
        view["meeting"]["starts_at"] == format!("{day}T07:00:00Z").as_str(),
        "14:00 in Hà Nội is 07:00 UTC: {}",
        view["meeting"]["starts_at"]
    );
    ensure!(
        view["meeting"]["chair"].is_string(),
        "the chair was saved: {}",
        view["meeting"]["chair"]
    );
    ensure!(
        view["meeting"]["agenda"] == serde_json::json!(["Khai mạc", "Thảo luận"]),
        "agenda: {}",
        view["meeting"]["agenda"]
    );

    // --- a document, with its progress bar ---------------------------------------------
    b.js(&format!(
        "document.querySelector('.week .event[data-meeting=\"{id}\"]').click(); return true;"
    ))
    .await?;
    b.wait_true(
        "return !!document.querySelector('dialog.meeting-detail .documents input[type=file]');",
        WAIT,
        "the meeting's detail with its documents",
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("Báo cáo tình hình.pdf");
    let bytes: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes)?;
    b.client
        .find(Locator::Css(
            "dialog.meeting-detail .documents input[type=file]",
        ))
        .await?
        .send_keys(file.to_str().context("path")?)
        .await?;
    b.wait_true(
        "const p = document.querySelector('dialog.meeting-detail .documents progress'); \
         return p && p.value === 100 && [...document.querySelectorAll('dialog.meeting-detail .docs a')] \
           .some(a => a.textContent === 'Báo cáo tình hình.pdf');",
        WAIT,
        "the upload finished and listed",
    )
    .await?;
    shot(&b, "secretary-documents").await?;

    // --- a concurrent edit -------------------------------------------------------------
    b.js("document.getElementById('md-edit').click(); return true;")
        .await?;
    b.wait_true(
        "return document.getElementById('mf-title')?.value === 'Giao ban các xã Thanh Sơn';",
        WAIT,
        "the edit form prefilled",
    )
    .await?;
    // Someone else saves first (same account, another tab: through the API).
    let other = b.js(&format!(
            "const v = await (await fetch('/api/meetings/{id}')).json(); \
             const m = v.meeting; \
             const r = await fetch('/api/meetings/{id}', {{ method: 'PUT', headers: {{ 'content-type': 'application/json' }}, \
               body: JSON.stringify({{ version: m.version, meeting: {{ title: 'Đổi bởi người khác', agenda: m.agenda, \
               organizer: m.organizer, location: m.location, starts_at: m.starts_at, ends_at: m.ends_at, \
               participants: m.participants }} }}) }}); return r.status;"
        ),
    )
    .await?;
    ensure!(other == 200, "the other edit saved: {other}");
    b.set_value("#mf-title", "Tiêu đề của tôi").await?;
    b.js("document.getElementById('mf-save').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.getElementById('mf-reload');",
        WAIT,
        "the conflict shown",
    )
    .await?;
    let kept = b
        .js("return document.getElementById('mf-title').value;")
        .await?;
    ensure!(kept == "Tiêu đề của tôi", "what was typed is kept: {kept}");
    let msg = b
        .js("return document.getElementById('mf-error').textContent;")
        .await?;
    ensure!(
        msg.as_str().is_some_and(|m| m.contains("người khác sửa")),
        "a Vietnamese conflict message: {msg}"
    );
    shot(&b, "secretary-conflict").await?;
    b.js("document.querySelector('dialog.meeting-form').close(); document.querySelector('dialog.meeting-form').remove(); return true;").await?;

    // --- a weekly series -------------------------------------------------------------
    b.js("document.getElementById('new').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.getElementById('mf-freq');",
        WAIT,
        "a new form",
    )
    .await?;
    b.set_value("#mf-title", "Họp trực tuyến hằng tuần").await?;
    b.set_value("#mf-start", &format!("{day}T08:00")).await?;
    b.set_value("#mf-end", &format!("{day}T09:00")).await?;
    b.set_value("#mf-freq", "WEEKLY").await?;
    b.js("document.querySelector('dialog [data-day=TU]').checked = true; return true;")
        .await?;
    b.set_value("#mf-count", "3").await?;
    expand(&b, "25").await?;
    click_opt(&b, VIET_TRI, "unit").await?;
    save(&b).await?;
    for week in 0..3 {
        let c = card(&b, "Họp trực tuyến hằng tuần").await?;
        ensure!(c["start"] == "08:00", "week +{week}: {c}");
        b.js("document.getElementById('next').click(); return true;")
            .await?;
    }
    let fourth = b.js("await new Promise(r => setTimeout(r, 1000)); \
         return [...document.querySelectorAll('.week .event')].some(e => e.textContent.includes('hằng tuần'));",
    )
    .await?;
    ensure!(fourth == false, "a series of 3 is not in the 4th week");

    // --- the commune downloads the document from its dashboard -------------------------
    let _site = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://127.0.0.1:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(
        &format!("return !!document.querySelector('details[data-meeting=\"{id}\"]');"),
        WAIT,
        "the meeting on the dashboard",
    )
    .await?;
    b.js(&format!(
        "document.querySelector('details[data-meeting=\"{id}\"]').open = true; return true;"
    ))
    .await?;
    b.wait_true(
        &format!("return !!document.querySelector('details[data-meeting=\"{id}\"] .docs a');"),
        WAIT,
        "the document link on the dashboard",
    )
    .await?;
    let size = b
        .js(&format!(
            "const a = document.querySelector('details[data-meeting=\"{id}\"] .docs a'); \
             return (await (await fetch(a.href)).arrayBuffer()).byteLength;"
        ))
        .await?;
    ensure!(
        size == bytes.len(),
        "downloaded {size} bytes of {}",
        bytes.len()
    );
    shot(&b, "dashboard-documents").await?;
    b.switch(&secretary).await?;
    b.close().await?;
    Ok(())
}

#[test]
fn secretary_schedules_a_meeting_edits_it_and_shares_a_document() -> anyhow::Result<()> {
    run_serial(secretary_schedules_edits_and_shares_documents())
}

//! The meeting-file page in real Chromium against the real `bridge` binary: a ward's hall
//! joins the meeting room for a moment (WebSocket, its join link); the secretary finds the
//! meeting by typing its subject without accents, opens its file, sees the attendance
//! table with the invited units' names (the ward with its period, the province absent),
//! and downloads the whole file as a ZIP with a progress bar that moves and completes.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, demo_unit_name, login, shot};
use bridge_e2e::server::BridgeServer;
use bridge_e2e::signal::Signal;
use serde_json::Value;

const WARD: &str = "07888";

async fn find_open_and_download() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thu", "secretary", "25")?;
    let b = Browser::launch().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thu",
        "/static/schedule.html",
    )
    .await?;

    // A meeting that began an hour ago, with a document large enough that the ZIP
    // download takes many chunks.
    let id = b.js(&format!(
            "const start = new Date(Date.now() - 3600e3), end = new Date(Date.now() + 600e3); \
             const r = await fetch('/api/meetings', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, \
               body: JSON.stringify({{ title: 'Hội nghị tổng kết công tác phòng chống thiên tai', organizer: '25', \
                 location: 'Hội trường UBND tỉnh', agenda: ['Báo cáo tình hình'], \
                 starts_at: start.toISOString(), ends_at: end.toISOString(), \
                 participants: [{{ type: 'unit', code: '{WARD}' }}] }}) }}); \
             const m = await r.json(); \
             const bytes = new Uint8Array(6 * 1024 * 1024).map((_, i) => (i * 7919) % 251); \
             const f = new FormData(); f.append('file', new Blob([bytes]), 'Báo cáo thiệt hại.pdf'); \
             const u = await fetch(`/api/meetings/${{m.meeting.id}}/documents`, {{ method: 'POST', body: f }}); \
             if (u.status !== 201) throw new Error('upload ' + u.status); \
             return m.meeting.id;"
        ),
    )
    .await?;
    let id = id.as_str().context("meeting id")?.to_owned();

    // The ward's hall joins the meeting room with its join link for a moment.
    let link = b
        .js(&format!(
            "return await (await fetch('/api/meetings/{id}/join/{WARD}')).json();"
        ))
        .await?;
    let token = link["ticket"]["token"].as_str().context("join token")?;
    let mut hall = Signal::connect(&server.ws_url()).await?;
    hall.send_json(&serde_json::json!({"type": "join", "token": token}))?;
    hall.expect_type("joined", WAIT).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    hall.send_json(&serde_json::json!({"type": "leave"}))?;
    hall.expect_type("bye", WAIT).await?;
    drop(hall);

    // The nav link of the schedule page leads to the meeting files.
    b.js("document.getElementById('archive-link').click(); return true;")
        .await?;
    b.wait_true(
        "return location.pathname === '/static/archive.html' && !!document.querySelector('#unit-picker .tree li');",
        WAIT,
        "the search page",
    )
    .await?;
    b.js(
        "document.getElementById('q').value = 'tong ket cong tac PHONG CHONG'; \
         document.getElementById('search').click(); return true;",
    )
    .await?;
    b.wait_true(
        &format!("return !!document.querySelector('#results tr[data-meeting=\"{id}\"] a');"),
        WAIT,
        "the meeting found without accents",
    )
    .await?;
    shot(&b, "archive-search").await?;
    b.js(&format!(
        "document.querySelector('#results tr[data-meeting=\"{id}\"] a').click(); return true;"
    ))
    .await?;

    // The attendance table names every invited unit: the ward with its period, the
    // province (nobody joined for it) absent.
    let ward = demo_unit_name(WARD)?;
    let province = demo_unit_name("25")?;
    b.wait_true(
        "return document.querySelectorAll('#att-rows tr').length === 2;",
        WAIT,
        "the attendance table",
    )
    .await?;
    let names = b.js("return [...document.querySelectorAll('#att-rows tr .uname')].map(td => td.textContent);",
    )
    .await?;
    ensure!(
        names == serde_json::json!([province, ward]),
        "unit names in tree order: {names}"
    );
    let states = b.js("return [...document.querySelectorAll('#att-rows tr')].map(tr => [tr.className, tr.querySelector('.state').textContent]);",
    )
    .await?;
    ensure!(
        states[0] == serde_json::json!(["absent", "Vắng mặt"]),
        "the province absent, in Vietnamese: {states}"
    );
    let period = states[1][1].as_str().unwrap_or_default();
    let shape = period.len() == "00:00–00:00".len()
        && period.chars().filter(|c| c.is_ascii_digit()).count() == 8
        && period.contains('–');
    ensure!(
        states[1][0] == "present" && shape,
        "the ward present with one period: {states}"
    );

    // Download the ZIP; record what the progress text says on the way.
    b.wait_true(
        "return !!document.querySelector('#downloads li[data-kind=zip] button');",
        WAIT,
        "the ZIP download",
    )
    .await?;
    b.js("const li = document.querySelector('#downloads li[data-kind=zip]'); \
         window.__seen = []; \
         new MutationObserver(() => window.__seen.push(li.querySelector('.pct').textContent)) \
           .observe(li.querySelector('.pct'), { childList: true, characterData: true, subtree: true }); \
         li.querySelector('button').click(); return true;",
    )
    .await?;
    b.wait_true(
        "return document.querySelector('#downloads li[data-kind=zip] .pct').dataset.state === 'done';",
        WAIT,
        "the ZIP downloaded",
    )
    .await?;
    shot(&b, "archive-meeting").await?;
    let seen = b.js("return window.__seen;").await?;
    let texts: Vec<&str> = seen
        .as_array()
        .context("progress texts")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let between = texts.iter().any(|t| {
        t.strip_prefix("Đang tải ")
            .and_then(|p| p.strip_suffix('%'))
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| p > 0 && p < 100)
    });
    ensure!(between, "progress shown between 0 and 100%: {texts:?}");
    let last = b
        .js(
            "const li = document.querySelector('#downloads li[data-kind=zip]'); \
         return [li.querySelector('progress').value, li.querySelector('.pct').textContent];",
        )
        .await?;
    ensure!(last[0] == 100, "the bar is full: {last}");
    ensure!(
        last[1]
            .as_str()
            .is_some_and(|t| t.starts_with("Đã tải xong")),
        "done, in Vietnamese: {last}"
    );
    b.close().await?;
    Ok(())
}

#[test]
fn a_past_meeting_is_found_opened_and_its_file_downloaded_with_progress() -> anyhow::Result<()> {
    run_serial(find_open_and_download())
}

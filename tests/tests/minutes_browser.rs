//! The minutes editor in real Chromium against the real `bridge` binary: a secretary
//! opens the minutes of a meeting that has taken place, types the conclusions, sees them
//! autosaved, finalizes, sees the number and the read-only view, and downloads the PDF,
//! which poppler's pdftotext reads back with the Vietnamese text intact.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::readers::pdftotext;
use bridge_e2e::sched_pages::{WAIT, add_user, login, shot};
use bridge_e2e::server::BridgeServer;

const CONCLUSION: &str =
    "Giao Ủy ban nhân dân phường Dữu Lâu khắc phục hậu quả mưa đá trước ngày 15.";

async fn secretary_writes_and_finalizes_minutes() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.bienban", "secretary", "25")?;
    let b = Browser::launch().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.bienban",
        "/static/schedule.html",
    )
    .await?;

    // A meeting that started two hours ago (it ends in a few minutes: the scheduler
    // refuses to create meetings that are already over).
    let created = b.js("const now = Date.now(); \
         const r = await fetch('/api/meetings', { method: 'POST', headers: { 'content-type': 'application/json' }, \
           body: JSON.stringify({ title: 'Họp khắc phục hậu quả mưa đá', agenda: ['Báo cáo thiệt hại', 'Thảo luận'], \
             organizer: '25', location: 'Hội trường UBND tỉnh', \
             starts_at: new Date(now - 2 * 3600e3).toISOString(), ends_at: new Date(now + 10 * 60e3).toISOString(), \
             participants: [{ type: 'unit', code: '07888' }, { type: 'unit', code: '227' }] }) }); \
         return { status: r.status, body: await r.json() };",
    )
    .await?;
    ensure!(created["status"] == 201, "meeting created: {created}");
    let id = created["body"]["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned();

    b.client
        .goto(&format!(
            "http://localhost:{port}/static/minutes.html?id={id}"
        ))
        .await?;
    b.wait_true(
        "return document.body.dataset.ready === 'true' && !!document.getElementById('mn-conclusions');",
        WAIT,
        "the minutes editor",
    )
    .await?;
    // Pre-filled from the meeting: the invited ward is listed, the agenda items are sections.
    let pre = b
        .js(
            "return { ward: !!document.querySelector('tr[data-unit=\"Phường Dữu Lâu\"]'), \
                  items: document.querySelectorAll('#mn-items fieldset').length, \
                  number: document.getElementById('minutes-number').textContent };",
        )
        .await?;
    ensure!(
        pre["ward"] == true && pre["items"] == 2,
        "pre-filled: {pre}"
    );
    ensure!(pre["number"] == "Dự thảo", "a draft first: {pre}");

    b.js(&format!(
        "const e = document.getElementById('mn-conclusions'); e.value = {}; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
        serde_json::to_string(CONCLUSION)?
    ))
    .await?;
    b.wait_true(
        "const s = document.getElementById('mn-status'); \
         return s.dataset.state === 'saved' && s.textContent.startsWith('Đã lưu lúc');",
        WAIT,
        "the autosave",
    )
    .await?;
    shot(&b, "minutes-editor").await?;
    let stored = b
        .js(&format!(
            "return await (await fetch('/api/meetings/{id}/minutes')).json();"
        ))
        .await?;
    ensure!(
        stored["meta"]["version"] == 1 && stored["minutes"]["conclusions"][0] == CONCLUSION,
        "saved on the server: {}",
        stored["meta"]
    );
    b.wait_true(
        "return document.querySelectorAll('#mn-versions li').length === 1;",
        WAIT,
        "the versions list",
    )
    .await?;

    // Finalize (the confirmation is accepted), then the number and the read-only view.
    b.js(
        "window.confirm = () => true; document.getElementById('mn-finalize').click(); return true;",
    )
    .await?;
    b.wait_true(
        "const n = document.getElementById('minutes-number'); \
         return !!n && n.textContent.includes('Số: 01/BB-UBND');",
        WAIT,
        "the number of the final minutes",
    )
    .await?;
    let read = b
        .js(
            "return { editor: !!document.getElementById('mn-conclusions'), \
                  finalize: !!document.getElementById('mn-finalize'), \
                  text: document.getElementById('mn-read')?.textContent ?? '' };",
        )
        .await?;
    ensure!(
        read["editor"] == false && read["finalize"] == false,
        "read-only once final: {read}"
    );
    ensure!(
        read["text"]
            .as_str()
            .unwrap_or_default()
            .contains(CONCLUSION),
        "the conclusions shown: {read}"
    );
    shot(&b, "minutes-final").await?;

    // The PDF behind the download button, as the browser gets it.
    let bytes = b.js("const a = document.querySelector('a[data-download=pdf]'); \
         const r = await fetch(a.href); \
         return { type: r.headers.get('content-type'), bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };",
    )
    .await?;
    ensure!(
        bytes["type"] == "application/pdf",
        "content type: {}",
        bytes["type"]
    );
    let pdf: Vec<u8> = bytes["bytes"]
        .as_array()
        .context("bytes")?
        .iter()
        .map(|v| v.as_u64().unwrap_or(0) as u8)
        .collect();
    let text = pdftotext(&pdf)?;
    for expected in [
        "Số: 01/BB-UBND",
        "BIÊN BẢN",
        "Họp khắc phục hậu quả mưa đá",
        CONCLUSION,
    ] {
        ensure!(
            text.contains(expected),
            "missing {expected:?} in the PDF: {text}"
        );
    }
    b.close().await?;
    Ok(())
}

/// Creates a meeting from the signed-in page that started two hours ago (it ends in a
/// few minutes: the scheduler refuses meetings that are already over); returns its id.
async fn past_meeting(b: &Browser, title: &str) -> anyhow::Result<String> {
    let created = b.js(&format!(
            "const now = Date.now(); \
             const r = await fetch('/api/meetings', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, \
               body: JSON.stringify({{ title: {t}, agenda: ['Báo cáo thiệt hại', 'Thảo luận'], \
                 organizer: '25', location: 'Hội trường UBND tỉnh', \
                 starts_at: new Date(now - 2 * 3600e3).toISOString(), ends_at: new Date(now + 10 * 60e3).toISOString(), \
                 participants: [{{ type: 'unit', code: '07888' }}, {{ type: 'unit', code: '227' }}] }}) }}); \
             return {{ status: r.status, body: await r.json() }};",
            t = serde_json::to_string(title)?
        ),
    )
    .await?;
    ensure!(created["status"] == 201, "meeting created: {created}");
    Ok(created["body"]["meeting"]["id"]
        .as_str()
        .context("meeting id")?
        .to_owned())
}

/// The secretary adds a task in the notice tab (lead unit picked by search), issues the
/// notice, and the ward's dashboard lists the task with its status control.
async fn notice_task_reaches_the_ward() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thongbao", "secretary", "25")?;
    add_user(&server, "xa.07888", "site", "07888")?;
    let b = Browser::launch().await?;
    let secretary = b.first_window().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thongbao",
        "/static/schedule.html",
    )
    .await?;
    let id = past_meeting(&b, "Họp giao nhiệm vụ").await?;
    b.client
        .goto(&format!(
            "http://localhost:{port}/static/minutes.html?id={id}"
        ))
        .await?;
    b.wait_true(
        "return document.body.dataset.ready === 'true';",
        WAIT,
        "the minutes page",
    )
    .await?;
    b.js("document.getElementById('tab-notice').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.getElementById('tb-add-task');",
        WAIT,
        "the notice tab",
    )
    .await?;
    b.js("document.getElementById('tb-add-task').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.querySelector('#task-lead .picker-search');",
        WAIT,
        "the task dialog",
    )
    .await?;
    b.js(
        "document.getElementById('task-title').value = 'Sửa chữa trường học bị tốc mái'; \
         const d = new Date(Date.now() + 7 * 3600e3 + 10 * 86400e3); \
         document.getElementById('task-deadline').value = d.toISOString().slice(0, 10); \
         const s = document.querySelector('#task-lead .picker-search'); \
         s.value = 'duu lau'; s.dispatchEvent(new Event('input')); return true;",
    )
    .await?;
    b.wait_true(
        "return !!document.querySelector('#task-lead .results li[data-code=\"07888\"] [data-opt=unit]');",
        WAIT,
        "the ward found by a search without accents",
    )
    .await?;
    b.js("document.querySelector('#task-lead .results li[data-code=\"07888\"] [data-opt=unit]').click(); \
         document.getElementById('task-add').click(); return true;",
    )
    .await?;
    b.wait_true(
        "const s = document.getElementById('tb-status'); \
         return s.dataset.state === 'saved' && document.querySelectorAll('#mn-tasks tbody tr').length === 1;",
        WAIT,
        "the task saved",
    )
    .await?;
    shot(&b, "notice-tasks").await?;
    b.js(
        "window.confirm = () => true; document.getElementById('tb-finalize').click(); return true;",
    )
    .await?;
    b.wait_true(
        "const n = document.getElementById('notice-number'); return !!n && n.textContent.includes('Số: 01/TB-UBND');",
        WAIT,
        "the notice's number",
    )
    .await?;

    b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://127.0.0.1:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(
        "const r = document.querySelector('#task-list tr'); \
         return !!r && r.textContent.includes('Sửa chữa trường học bị tốc mái') \
           && r.textContent.includes('Họp giao nhiệm vụ') && !!r.querySelector('select');",
        WAIT,
        "the task on the ward's dashboard",
    )
    .await?;
    shot(&b, "dashboard-tasks").await?;
    b.switch(&secretary).await?;
    b.close().await?;
    Ok(())
}

/// Issue 18 item 6 in the editor: the chair's and the secretary's boxes are labelled
/// (Vietnamese, then English through the language switch), one tick marks every unit
/// present, the ward cannot download the draft until the secretary shares it (then the
/// PDF says DỰ THẢO), and the notice starts from the minutes' conclusions.
async fn editor_labels_ticks_all_and_shares_the_draft() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.duthao", "secretary", "25")?;
    add_user(&server, "xa.duthao", "site", "07888")?;
    let b = Browser::launch().await?;
    let secretary = b.first_window().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.duthao",
        "/static/schedule.html",
    )
    .await?;
    let id = past_meeting(&b, "Họp chuẩn bị mùa mưa bão").await?;
    let page = format!("http://localhost:{port}/static/minutes.html?id={id}");
    b.client.goto(&page).await?;
    let ready = "return document.body.dataset.ready === 'true' && !!document.getElementById('mn-conclusions');";
    b.wait_true(ready, WAIT, "the minutes editor").await?;
    let labels = "const l = (id) => document.querySelector(`label[for=\"${id}\"]`)?.textContent.trim(); \
         return { chair: document.querySelector('#mn-chair-person legend')?.textContent, \
           chairName: l('mn-chair-name'), chairPos: l('mn-chair-position'), \
           sec: document.querySelector('#mn-secretary-person legend')?.textContent, \
           secName: l('mn-secretary-name'), secPos: l('mn-secretary-position'), all: l('mn-present-all'), \
           ticked: [...document.querySelectorAll('tr[data-unit] input[type=checkbox]')].map((c) => c.checked) };";
    let vi = b.js(labels).await?;
    ensure!(
        vi["chair"] == "Chủ trì (chủ tọa)"
            && vi["chairName"] == "Họ và tên"
            && vi["chairPos"] == "Chức vụ"
            && vi["sec"] == "Thư ký (người ghi biên bản)"
            && vi["secName"] == "Họ và tên"
            && vi["secPos"] == "Chức vụ"
            && vi["all"] == "Chọn tất cả",
        "labels: {vi}"
    );
    // No hall connected: the roll call ticked nobody. One tick marks every unit.
    let units = vi["ticked"].as_array().context("ticked")?.len();
    ensure!(
        units >= 2
            && vi["ticked"]
                .as_array()
                .is_some_and(|t| t.iter().all(|c| c == false)),
        "{vi}"
    );
    b.js("document.getElementById('mn-present-all').click(); return true;")
        .await?;
    let all = b
        .js("return { ticked: [...document.querySelectorAll('tr[data-unit] input[type=checkbox]')].map((c) => c.checked), \
                  count: document.getElementById('mn-present-count').textContent };")
        .await?;
    ensure!(
        all["ticked"]
            .as_array()
            .is_some_and(|t| t.iter().all(|c| c == true))
            && all["count"] == format!("{units}/{units} đơn vị có mặt").as_str(),
        "select all: {all}"
    );
    b.js(&format!(
        "const e = document.getElementById('mn-conclusions'); e.value = {}; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
        serde_json::to_string(CONCLUSION)?
    ))
    .await?;
    b.wait_true(
        "const s = document.getElementById('mn-status'); return s.dataset.state === 'saved';",
        WAIT,
        "the autosave",
    )
    .await?;
    let stored = b
        .js(&format!(
            "return await (await fetch('/api/meetings/{id}/minutes')).json();"
        ))
        .await?;
    let present: Vec<bool> = stored["minutes"]["attendees"]
        .as_array()
        .context("attendees")?
        .iter()
        .map(|a| a["present"] == true)
        .collect();
    ensure!(
        present.len() == units && present.iter().all(|p| *p),
        "saved attendance: {stored}"
    );
    ensure!(stored["meta"]["shared"] == false, "{}", stored["meta"]);

    // The ward, in its own window and cookie jar (127.0.0.1, not localhost).
    let ward = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://127.0.0.1:{port}"),
        "xa.duthao",
        "/static/dashboard.html",
    )
    .await?;
    let fetch_pdf = format!(
        "const r = await fetch('/api/meetings/{id}/minutes.pdf'); \
         return {{ status: r.status, bytes: r.ok ? Array.from(new Uint8Array(await r.arrayBuffer())) : [], \
                   code: r.ok ? null : (await r.json()).code }};"
    );
    let before = b.js(&fetch_pdf).await?;
    ensure!(
        before["status"] == 403 && before["code"] == "draft_not_shared",
        "unshared draft: {}",
        before["status"]
    );

    b.switch(&secretary).await?;
    b.js("document.getElementById('minutes-share').click(); return true;")
        .await?;
    b.wait_true(
        &format!(
            "return (await (await fetch('/api/meetings/{id}/minutes')).json()).meta.shared === true;"
        ),
        WAIT,
        "the draft shared",
    )
    .await?;
    shot(&b, "minutes-shared-draft").await?;

    b.switch(&ward).await?;
    let after = b.js(&fetch_pdf).await?;
    ensure!(after["status"] == 200, "shared draft: {}", after["status"]);
    let pdf: Vec<u8> = after["bytes"]
        .as_array()
        .context("bytes")?
        .iter()
        .map(|v| v.as_u64().unwrap_or(0) as u8)
        .collect();
    let text = pdftotext(&pdf)?;
    ensure!(
        text.contains("DỰ THẢO") && text.contains("Họp chuẩn bị mùa mưa bão"),
        "the shared draft as the ward gets it: {text}"
    );

    // The notice starts from the minutes' conclusions.
    b.switch(&secretary).await?;
    b.js("document.getElementById('tab-notice').click(); return true;")
        .await?;
    b.wait_true(
        &format!(
            "const a = document.getElementById('tb-body'); return !!a && a.value === {};",
            serde_json::to_string(CONCLUSION)?
        ),
        WAIT,
        "the notice pre-filled from the conclusions",
    )
    .await?;

    // English through the pages' language switch.
    b.js("localStorage.setItem('bridge.lang', 'en'); location.reload(); return true;")
        .await?;
    b.wait_true(ready, WAIT, "the editor in English").await?;
    let en = b.js(labels).await?;
    ensure!(
        en["chair"] == "Chair"
            && en["chairName"] == "Full name"
            && en["chairPos"] == "Position"
            && en["all"] == "Select all",
        "English labels: {en}"
    );
    b.close().await?;
    Ok(())
}

#[test]
fn the_editor_labels_people_ticks_all_and_shares_the_draft() -> anyhow::Result<()> {
    run_serial(editor_labels_ticks_all_and_shares_the_draft())
}

#[test]
fn secretary_writes_autosaves_finalizes_and_downloads_minutes() -> anyhow::Result<()> {
    run_serial(secretary_writes_and_finalizes_minutes())
}

#[test]
fn a_notice_task_reaches_the_ward_dashboard() -> anyhow::Result<()> {
    run_serial(notice_task_reaches_the_ward())
}

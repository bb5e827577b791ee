//! The "record the meeting" checkbox of the schedule form, in real Chromium against the
//! real binary: ticked on creation it reaches the meeting, an edit shows it ticked, and
//! unticking it is saved.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, login};
use bridge_e2e::server::BridgeServer;
use serde_json::Value;

/// The meeting as the API returns it.
async fn meeting(b: &Browser, id: &str) -> anyhow::Result<Value> {
    b.js(&format!(
        "return await (await fetch('/api/meetings/{id}')).json();"
    ))
    .await
}

async fn save(b: &Browser) -> anyhow::Result<()> {
    b.js("document.getElementById('mf-save').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.querySelector('#mf-info .ok');",
        WAIT,
        "the form saved",
    )
    .await
}

async fn record_checkbox() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    add_user(&server, "vp.thu", "secretary", "25")?;
    let b = Browser::launch().await?;
    login(&b, &server.http_url(), "vp.thu", "/static/schedule.html").await?;
    b.js("document.getElementById('new').click(); return true;")
        .await?;
    b.wait_true(
        "return !!document.querySelector('dialog .tree li[data-code=\"227\"]') || \
         !!document.querySelector('dialog .tree li[data-code=\"25\"]');",
        WAIT,
        "the form",
    )
    .await?;
    let label = b
        .js("return document.querySelector('label[for=mf-record]').textContent.trim();")
        .await?;
    ensure!(label == "Ghi hình cuộc họp", "label {label}");
    let checked = b
        .js("return document.getElementById('mf-record').checked;")
        .await?;
    ensure!(
        checked == false,
        "a new meeting is not recorded unless asked"
    );

    // Tomorrow 09:00-10:00 in Hà Nội, one invited district.
    let day = b
        .js("return new Date(Date.now() + 7 * 3600e3 + 86400e3).toISOString().slice(0, 10);")
        .await?;
    let day = day.as_str().context("date")?.to_owned();
    b.set_value("#mf-title", "Họp có ghi hình").await?;
    b.set_value("#mf-start", &format!("{day}T09:00")).await?;
    b.set_value("#mf-end", &format!("{day}T10:00")).await?;
    b.js("document.querySelector('dialog .tree li[data-code=\"25\"] > .toggle').click(); return true;",
    )
    .await?;
    b.wait_true(
        "return !!document.querySelector('dialog .tree li[data-code=\"227\"] > span > .opts [data-opt=unit]');",
        WAIT,
        "the districts",
    )
    .await?;
    b.js("document.querySelector('dialog .tree li[data-code=\"227\"] > span > .opts [data-opt=unit]').click(); \
         document.getElementById('mf-record').click(); return true;",
    )
    .await?;
    save(&b).await?;

    let found = b.js("const from = new Date(Date.now() - 3600e3).toISOString(); \
         const to = new Date(Date.now() + 3 * 86400e3).toISOString(); \
         const list = await (await fetch(`/api/meetings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`)).json(); \
         return list.find(m => m.title === 'Họp có ghi hình')?.meeting ?? null;",
    )
    .await?;
    let id = found
        .as_str()
        .context("the meeting in the list")?
        .to_owned();
    let view = meeting(&b, &id).await?;
    ensure!(view["meeting"]["record"] == true, "{view}");

    // Editing shows the box ticked; unticking it is saved.
    b.js(&format!(
        "const {{ openMeetingForm }} = await import('/static/js/sched/form.js'); \
             document.querySelectorAll('dialog').forEach(d => d.remove()); \
             const view = await (await fetch('/api/meetings/{id}')).json(); \
             openMeetingForm({{ user: {{ unit: '25' }}, existing: view }}); return true;"
    ))
    .await?;
    b.wait_true(
        "return document.getElementById('mf-title')?.value === 'Họp có ghi hình' && \
         document.getElementById('mf-record').checked;",
        WAIT,
        "the edit form with the box ticked",
    )
    .await?;
    b.js("document.getElementById('mf-record').click(); return true;")
        .await?;
    save(&b).await?;
    let view = meeting(&b, &id).await?;
    ensure!(view["meeting"]["record"] == false, "{view}");
    b.close().await?;
    Ok(())
}

#[test]
fn the_schedule_form_sets_and_clears_recording() -> anyhow::Result<()> {
    run_serial(record_checkbox())
}

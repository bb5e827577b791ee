//! The scheduler's pages in real Chromium against the real `bridge` binary: a secretary
//! calls an urgent session for three communes from the schedule page; two commune
//! dashboards show the alert live; one acknowledges (the secretary sees it) and joins,
//! reaching the conference room in the connected state.
//!
//! Each account needs its own cookie jar, so each page uses its own origin for the same
//! server: `localhost`, `a.localhost` (Chromium resolves `*.localhost` to loopback) and
//! `127.0.0.1`, the origin of the join links.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{WAIT, add_user, demo_unit_name, login, shot, strip_accents};
use bridge_e2e::server::BridgeServer;
use std::time::Duration;

/// Picks a commune in the urgent card's unit picker by searching its name.
async fn pick(b: &Browser, query: &str, code: &str) -> anyhow::Result<()> {
    b.eval(&format!(
        "const s = document.querySelector('#urgent-picker .picker-search'); s.value = {q}; \
         s.dispatchEvent(new Event('input')); return true;",
        q = serde_json::to_string(query)?
    ))
    .await?;
    let button = format!(
        "document.querySelector('#urgent-picker .results li[data-code=\"{code}\"] button[data-opt=unit]')"
    );
    b.wait_true(
        &format!("return !!{button};"),
        WAIT,
        &format!("{code} in the results"),
    )
    .await?;
    b.eval(&format!("{button}.click(); return true;")).await?;
    Ok(())
}

const ALERT_SHOWN: &str = "const a = document.querySelector('.urgent-alert[data-state=pending] .alert-text'); \
    return !!a && a.textContent.includes('Giao ban khẩn');";

async fn urgent_session_reaches_dashboards() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "vp.thu", "secretary", "25")?;
    // Three wards of Việt Trì, each with its hall's site account.
    for code in ["07888", "07894", "07900"] {
        add_user(&server, &format!("xa.{code}"), "site", code)?;
    }
    let b = Browser::launch().await?;
    let secretary = b.first_window().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "vp.thu",
        "/static/schedule.html",
    )
    .await?;

    let site_a = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://127.0.0.1:{port}"),
        "xa.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(
        "return document.body.dataset.live === 'true';",
        WAIT,
        "dashboard A live",
    )
    .await?;
    let site_b = b.open_window("about:blank").await?;
    login(
        &b,
        &format!("http://a.localhost:{port}"),
        "xa.07894",
        "/static/dashboard.html",
    )
    .await?;
    b.wait_true(
        "return document.body.dataset.live === 'true';",
        WAIT,
        "dashboard B live",
    )
    .await?;

    // The secretary finds each ward by its name typed without accents.
    b.switch(&secretary).await?;
    for code in ["07888", "07894", "07900"] {
        let name = demo_unit_name(code)?;
        pick(&b, &strip_accents(&name), code).await?;
    }
    b.eval(
        "document.getElementById('title').value = 'Giao ban khẩn phòng chống bão'; \
         document.getElementById('urgent').click(); return true;",
    )
    .await?;
    // The call goes out only once its confirmation is accepted.
    b.wait_true(
        "return !!document.getElementById('urgent-confirm-yes');",
        WAIT,
        "the confirmation",
    )
    .await?;
    b.eval("document.getElementById('urgent-confirm-yes').click(); return true;")
        .await?;
    b.wait_true(
        "return ['07888', '07894', '07900'].every(c => \
           document.querySelector(`#acks tr[data-unit=\"${c}\"] td.wait`));",
        WAIT,
        "the three wards listed as not yet acknowledged",
    )
    .await?;

    b.switch(&site_b).await?;
    b.wait_true(
        ALERT_SHOWN,
        Duration::from_secs(5),
        "the alert on dashboard B",
    )
    .await?;
    b.switch(&site_a).await?;
    b.wait_true(
        ALERT_SHOWN,
        Duration::from_secs(5),
        "the alert on dashboard A",
    )
    .await?;
    shot(&b, "dashboard-alert").await?;
    b.eval("document.querySelector('.urgent-alert .alert-ack').click(); return true;")
        .await?;

    b.switch(&secretary).await?;
    b.wait_true(
        "const r = document.querySelector('#acks tr[data-unit=\"07888\"] td.ok'); return !!r;",
        WAIT,
        "the secretary sees 07888's acknowledgement",
    )
    .await?;
    shot(&b, "schedule-acks").await?;
    let waiting = b
        .eval(
            "return ['07894', '07900'].filter(c => \
               document.querySelector(`#acks tr[data-unit=\"${c}\"] td.wait`)).length;",
        )
        .await?;
    ensure!(
        waiting == 2,
        "the other two wards still unacknowledged, got {waiting}"
    );

    b.switch(&site_a).await?;
    b.eval("document.querySelector('.urgent-alert .alert-join').click(); return true;")
        .await?;
    b.wait_true(
        "return location.pathname.startsWith('/r/') && !!window.bridge && window.bridge.state === 'connected';",
        Duration::from_secs(30),
        "the commune in the conference room",
    )
    .await
    .context("joining from the alert")?;
    // The room page is titled with the meeting, not its room id.
    let title = b
        .eval("return document.getElementById('room-name').textContent;")
        .await?;
    ensure!(
        title == "Giao ban khẩn phòng chống bão",
        "room title: {title}"
    );
    shot(&b, "room-joined").await?;
    b.close().await?;
    Ok(())
}

#[test]
fn secretary_calls_urgent_session_and_communes_are_alerted_and_join() -> anyhow::Result<()> {
    run_serial(urgent_session_reaches_dashboards())
}

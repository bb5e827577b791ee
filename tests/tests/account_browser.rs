//! "Đổi mật khẩu" in Chromium: a site's hall follows the header link from its dashboard,
//! is told in Vietnamese when the current password is wrong, changes it, and its other
//! session (another PC signed in as the same account) is signed out.

use anyhow::{Context, ensure};
use bridge_e2e::api::ApiSession;
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::sched_pages::{PASSWORD, WAIT, add_user, login};
use bridge_e2e::server::BridgeServer;

const NEW: &str = "mật khẩu mới rất dài";

async fn change_password() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let port = server.http.port();
    add_user(&server, "hoitruong.07888", "site", "07888")?;
    let elsewhere = ApiSession::login(&server.http_url(), "hoitruong.07888").await?;
    let b = Browser::launch().await?;
    login(
        &b,
        &format!("http://localhost:{port}"),
        "hoitruong.07888",
        "/static/dashboard.html",
    )
    .await?;
    b.js("document.getElementById('account-link').click(); return true;")
        .await?;
    b.wait_true(
        "return location.pathname === '/static/account.html' && \
           document.querySelector('#change h2').textContent === 'Đổi mật khẩu' && \
           document.getElementById('who').textContent === 'hoitruong.07888';",
        WAIT,
        "the password page, in Vietnamese, signed in",
    )
    .await?;

    let submit = |current: &str, new: &str| {
        format!(
            "document.getElementById('current').value = {c}; \
             document.getElementById('new').value = {n}; \
             document.getElementById('again').value = {n}; \
             document.querySelector('#change button[type=submit]').click(); return true;",
            c = serde_json::to_string(current).unwrap_or_default(),
            n = serde_json::to_string(new).unwrap_or_default(),
        )
    };
    b.eval(&submit("sai mật khẩu", NEW)).await?;
    b.wait_true(
        "return document.getElementById('error').textContent.includes('Mật khẩu hiện tại không đúng');",
        WAIT,
        "the wrong current password told in Vietnamese",
    )
    .await?;
    ensure!(
        elsewhere.status("/me").await? == 200,
        "nothing changed after a wrong password"
    );

    b.eval(&submit(PASSWORD, NEW)).await?;
    b.wait_true(
        "return !document.getElementById('done').hidden && \
           document.getElementById('error').textContent === '';",
        WAIT,
        "the change confirmed",
    )
    .await?;
    // This page stays signed in; the other PC's session ended.
    let me = b
        .js("return (await fetch('/api/me')).status;")
        .await?
        .as_u64()
        .context("status")?;
    ensure!(me == 200, "the page's own session: {me}");
    ensure!(
        elsewhere.status("/me").await? == 401,
        "the other session ended"
    );
    let status = reqwest::Client::new()
        .post(format!("{}/api/auth/login", server.http_url()))
        .json(&serde_json::json!({"username": "hoitruong.07888", "password": NEW}))
        .send()
        .await?
        .status();
    ensure!(status == 200, "the new password signs in: {status}");

    // The switch to English.
    b.js("document.getElementById('lang').click(); return true;")
        .await?;
    b.wait_true(
        "return document.querySelector('#change h2').textContent === 'Change password';",
        WAIT,
        "the page in English",
    )
    .await?;
    b.close().await
}

#[test]
fn a_hall_changes_its_password_and_its_other_session_ends() -> anyhow::Result<()> {
    run_serial(change_password())
}

//! Helpers for browser tests of the scheduler pages: accounts, sign-in, screenshots and
//! the demo province's unit names.

use crate::browser::Browser;
use crate::server::{BridgeServer, bridge_bin};
use anyhow::{Context, ensure};
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(15);

/// The password of every account these tests add.
pub const PASSWORD: &str = "mật khẩu thử";

/// `bridge users add ARGS` against the running server's database, password included.
pub fn users_add(server: &BridgeServer, args: &[&str]) -> anyhow::Result<std::process::Output> {
    Ok(std::process::Command::new(bridge_bin()?)
        .args(["users", "add", "--data"])
        .arg(server.data_dir())
        .args(args)
        .args(["--password", PASSWORD])
        .output()?)
}

/// Adds an account (password [`PASSWORD`]); fails the test if refused.
pub fn add_user(
    server: &BridgeServer,
    username: &str,
    role: &str,
    unit: &str,
) -> anyhow::Result<()> {
    let out = users_add(
        server,
        &["--username", username, "--role", role, "--unit", unit],
    )?;
    ensure!(out.status.success(), "users add {username}: {out:?}");
    Ok(())
}

pub async fn login(b: &Browser, origin: &str, username: &str, landing: &str) -> anyhow::Result<()> {
    b.client
        .goto(&format!("{origin}/static/login.html"))
        .await?;
    b.wait_true(
        "return !!document.getElementById('login');",
        WAIT,
        "the login page",
    )
    .await?;
    b.eval(&format!(
        "document.getElementById('username').value = {u}; \
         document.getElementById('password').value = {p}; \
         document.querySelector('#login button[type=submit]').click(); return true;",
        u = serde_json::to_string(username)?,
        p = serde_json::to_string(PASSWORD)?
    ))
    .await?;
    b.wait_true(
        &format!(
            "return location.pathname === {};",
            serde_json::to_string(landing)?
        ),
        WAIT,
        &format!("{username} signed in"),
    )
    .await
}

/// With `SCHED_SCREENSHOTS=DIR`, saves the current window as DIR/NAME.png (for review).
pub async fn shot(b: &Browser, name: &str) -> anyhow::Result<()> {
    match std::env::var_os("SCHED_SCREENSHOTS") {
        Some(dir) => {
            b.screenshot(&std::path::Path::new(&dir).join(format!("{name}.png")))
                .await
        }
        None => Ok(()),
    }
}

/// A unit's name in the demo CSV the server seeded.
pub fn demo_unit_name(code: &str) -> anyhow::Result<String> {
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scheduler/units/units-phu-tho.csv"
    ))?;
    csv.lines()
        .find_map(|l| {
            let mut f = l.split(',');
            (f.next() == Some(code)).then(|| l.rsplit(',').next().unwrap_or_default().to_owned())
        })
        .with_context(|| format!("unit {code} not in the demo CSV"))
}

/// The search is accent-insensitive: type the name as a hurried secretary would.
pub fn strip_accents(s: &str) -> String {
    const FROM: &str = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ";
    const TO: &str = "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd";
    s.to_lowercase()
        .chars()
        .map(|c| {
            FROM.chars()
                .position(|f| f == c)
                .and_then(|i| TO.chars().nth(i))
                .unwrap_or(c)
        })
        .collect()
}

/// Picks unit `code` in the picker under `root` (a CSS selector) by searching `query`.
pub async fn pick_unit(b: &Browser, root: &str, query: &str, code: &str) -> anyhow::Result<()> {
    b.eval(&format!(
        "const s = document.querySelector({r} + ' .picker-search'); s.value = {q}; \
         s.dispatchEvent(new Event('input')); return true;",
        r = serde_json::to_string(root)?,
        q = serde_json::to_string(query)?
    ))
    .await?;
    let button = format!(
        "document.querySelector({r} + ' .results li[data-code=\"{code}\"] button[data-opt=unit]')",
        r = serde_json::to_string(root)?
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

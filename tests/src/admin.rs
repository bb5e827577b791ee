//! What only an administrator sees: the node's full health (`GET /api/admin/health`:
//! every subscriber's layers, the linked rooms). The unauthenticated `/healthz` has
//! coarse counters only.

use crate::api::ApiSession;
use crate::sched_pages::users_add;
use crate::server::BridgeServer;
use anyhow::ensure;
use serde_json::Value;

/// The administrator these tests add (password [`crate::sched_pages::PASSWORD`]).
pub const ADMIN: &str = "quantri.e2e";

/// Signs in as [`ADMIN`], adding the account on first use.
pub async fn admin_session(server: &BridgeServer) -> anyhow::Result<ApiSession> {
    let out = users_add(server, &["--username", ADMIN, "--role", "admin"])?;
    let taken = String::from_utf8_lossy(&out.stderr).contains("taken");
    ensure!(out.status.success() || taken, "users add {ADMIN}: {out:?}");
    ApiSession::login(&server.http_url(), ADMIN).await
}

/// `GET /api/admin/health` as the administrator.
pub async fn admin_health(server: &BridgeServer) -> anyhow::Result<Value> {
    admin_session(server).await?.json("/admin/health").await
}

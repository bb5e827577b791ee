//! The signed-in account's own settings (its password) and what an administrator does to
//! other accounts (disable, enable) and sees of the node (its full health).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::SchedError;
use bridge_scheduler::account_state::AccountState;
use bridge_scheduler::authz::can_administer;
use serde::Deserialize;

use super::ApiState;
use super::auth::{Caller, session_cookie};
use super::problem::{ApiJson, Problem};
use super::session::{PeerAddr, refused};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password (the current one is required; at least 8 characters).
/// Every other session of the account ends; this one stays signed in.
#[utoipa::path(post, path = "/me/password", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "the current password is wrong (`wrong_password`)"),
        (status = 422, body = Problem, description = "the new password is too short or unchanged"),
        (status = 429, body = Problem, description = "too many wrong passwords: see Retry-After")))]
pub async fn change_password(
    State(st): State<ApiState>,
    Caller(p): Caller,
    PeerAddr(addr): PeerAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<Response, Response> {
    // Two Argon2 runs: bounded like a login, and a wrong current password counts as a
    // failed login, so a session left open is no way to guess the password.
    let guard = &st.login_guard;
    let _slot = guard.admit(&p.username, addr).map_err(refused)?;
    let keep = session_cookie(&headers);
    match st
        .db
        .change_password(&p, &req.current_password, &req.new_password, keep)
        .await
    {
        Ok(()) => {
            tracing::info!(user = %p.username, "password changed; other sessions ended");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(e) => {
            if matches!(e, SchedError::WrongPassword) {
                guard.failed(&p.username, addr);
            }
            Err(Problem::from(e).into_response())
        }
    }
}

/// Disables an account (administrators only): it cannot sign in, its sessions end and
/// its API tokens are revoked at once.
#[utoipa::path(post, path = "/admin/users/{username}/disable", params(("username" = String, Path)),
    responses((status = 200, body = AccountState), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(username): Path<String>,
) -> Result<axum::Json<AccountState>, Problem> {
    set_disabled(&st, &p, &username, true).await
}

/// Enables a disabled account again (administrators only); its holder signs in anew.
#[utoipa::path(post, path = "/admin/users/{username}/enable", params(("username" = String, Path)),
    responses((status = 200, body = AccountState), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn enable(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(username): Path<String>,
) -> Result<axum::Json<AccountState>, Problem> {
    set_disabled(&st, &p, &username, false).await
}

async fn set_disabled(
    st: &ApiState,
    p: &bridge_scheduler::Principal,
    username: &str,
    disabled: bool,
) -> Result<axum::Json<AccountState>, Problem> {
    let state = st
        .db
        .set_disabled_by(p, username, disabled, st.now())
        .await?;
    tracing::info!(by = %p.username, user = %state.username, disabled, "account state changed");
    Ok(axum::Json(state))
}

/// The node's full health (administrators only): every counter of signaling and the
/// media plane, with each subscriber's layers and the linked rooms. The unauthenticated
/// `/healthz` gives coarse counters only.
#[utoipa::path(get, path = "/admin/health",
    responses((status = 200, description = "status, version, signaling and media-plane detail"),
        (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn health(State(st): State<ApiState>, Caller(p): Caller) -> Result<Response, Problem> {
    if !can_administer(&p) {
        return Err(SchedError::Forbidden(
            "only an administrator may see the node's detail".into(),
        )
        .into());
    }
    let Some(signaling) = &st.signaling else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            ("Not available here", "Không có ở đây"),
            "This server runs without signaling.".into(),
            "Máy chủ này không chạy phần báo hiệu.".into(),
        ));
    };
    let sfu = signaling.media().stats().await;
    Ok(axum::Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "signaling": signaling.stats(),
        "sfu": sfu,
    }))
    .into_response())
}

//! Login, logout, who am I.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::Principal;
use bridge_scheduler::accounts::{SESSION_SECONDS, User};
use serde::Deserialize;

use super::ApiState;
use super::auth::{Caller, session_cookie, set_cookie};
use super::problem::{ApiJson, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Password login; sets the HttpOnly, SameSite=Strict session cookie.
#[utoipa::path(post, path = "/auth/login", request_body = LoginRequest,
    responses((status = 200, body = User), (status = 401, body = Problem)))]
pub async fn login(
    State(st): State<ApiState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, Problem> {
    let (secret, user) = st.db.login(&req.username, &req.password, st.now()).await?;
    let cookie = set_cookie(&secret.0, SESSION_SECONDS, st.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(user)).into_response())
}

/// Ends the session and clears the cookie.
#[utoipa::path(post, path = "/auth/logout", responses((status = 204)))]
pub async fn logout(State(st): State<ApiState>, headers: HeaderMap) -> Result<Response, Problem> {
    if let Some(secret) = session_cookie(&headers) {
        st.db.logout(secret).await?;
    }
    let cookie = set_cookie("", 0, st.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in account with role and unit.
#[utoipa::path(get, path = "/me", responses((status = 200, body = Principal), (status = 401, body = Problem)))]
pub async fn me(Caller(p): Caller) -> axum::Json<Principal> {
    axum::Json(p)
}

//! Login, logout, who am I.

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::Principal;
use bridge_scheduler::SchedError;
use bridge_scheduler::accounts::User;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ApiState;
use super::auth::{Caller, session_cookie, set_cookie};
use super::login_guard::Refused;
use super::problem::{ApiJson, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Password login; sets the HttpOnly, SameSite=Strict session cookie.
#[utoipa::path(post, path = "/auth/login", request_body = LoginRequest,
    responses((status = 200, body = User), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "the account is disabled (`account_disabled`)"),
        (status = 429, body = Problem, description = "too many failed sign-ins: see Retry-After"),
        (status = 503, body = Problem, description = "too many sign-ins at once: see Retry-After")))]
pub async fn login(
    State(st): State<ApiState>,
    PeerAddr(addr): PeerAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, Response> {
    let guard = &st.login_guard;
    let _slot = guard.admit(&req.username, addr).map_err(refused)?;
    match st.db.login(&req.username, &req.password, st.now()).await {
        Ok((secret, user)) => {
            guard.succeeded(&req.username);
            let max_age = st.db.session_policy().max;
            let cookie = set_cookie(&secret.0, max_age, st.secure_cookies);
            Ok(([(header::SET_COOKIE, cookie)], axum::Json(user)).into_response())
        }
        Err(e) => {
            if matches!(e, SchedError::Unauthenticated) {
                guard.failed(&req.username, addr);
            }
            Err(Problem::from(e).into_response())
        }
    }
}

/// 429 with `Retry-After` after repeated failures; 503 while too many logins queue.
pub(super) fn refused(why: Refused) -> Response {
    let (status, code, title, wait) = match why {
        Refused::Throttled(wait) => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            ("Too many failed sign-ins", "Đăng nhập sai quá nhiều lần"),
            wait,
        ),
        Refused::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            (
                "Too many sign-ins at once",
                "Quá nhiều lượt đăng nhập cùng lúc",
            ),
            Duration::from_secs(2),
        ),
    };
    let secs = wait.as_secs().max(1);
    let problem = Problem::new(
        status,
        code,
        title,
        format!("Try again in {secs} s."),
        format!("Vui lòng thử lại sau {secs} giây."),
    );
    ([(header::RETRY_AFTER, secs.to_string())], problem).into_response()
}

/// The peer's IP address, from the accept loop (`ConnectInfo`); `None` when the router
/// runs without one (in-process tests).
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
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

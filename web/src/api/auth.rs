//! Who is calling: a session cookie (browsers) or `Authorization: Bearer` (integrations).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use bridge_scheduler::Principal;

use super::ApiState;
use super::problem::Problem;

pub const SESSION_COOKIE: &str = "bridge_session";

/// The authenticated principal of a request.
pub struct Caller(pub Principal);

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Problem> {
        if let Some(secret) = session_cookie(&parts.headers) {
            return match state.db.session_principal(secret, state.now()).await {
                Ok(p) => Ok(Caller(p)),
                Err(bridge_scheduler::SchedError::Unauthenticated) => {
                    Err(Problem::unauthenticated())
                }
                Err(e) => Err(e.into()),
            };
        }
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            Some(token) => match state.db.api_token_principal(token.trim()).await {
                Ok(p) => Ok(Caller(p)),
                Err(bridge_scheduler::SchedError::Unauthenticated) => {
                    Err(Problem::unauthenticated())
                }
                Err(e) => Err(e.into()),
            },
            None => Err(Problem::unauthenticated()),
        }
    }
}

/// `Set-Cookie` for a new session: HttpOnly (no script access), SameSite=Strict (no
/// cross-site requests carry it, which is the CSRF defence), Secure behind HTTPS.
pub fn set_cookie(secret: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

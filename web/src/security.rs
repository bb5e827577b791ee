//! What every response and every state-changing request go through: headers that keep
//! the pages from being framed, from leaking join tokens in `Referer`, and from running
//! anything but our own scripts; and a same-origin check, because `SameSite=Strict`
//! cookies alone still travel with requests from a sibling origin of the same site
//! (another host under the province's domain).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Our pages load only their own scripts, styles and sockets. Inline `style`
/// attributes are allowed (the pages use a few); inline scripts and `eval` are not.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Join links carry their token in the URL: never send it on to anyone.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    resp
}

/// Refuses a state-changing request whose `Origin` is not this server. Requests without
/// an `Origin` (curl, scripts, other servers) are not from a browser page and carry no
/// ambient cookie risk the check could stop, so they pass.
pub async fn same_origin(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || origin_matches(req.headers()) {
        return next.run(req).await;
    }
    let body = serde_json::json!({
        "type": "/api/problems/cross_origin",
        "status": 403,
        "code": "cross_origin",
        "title": "Request from another site",
        "title_vi": "Yêu cầu từ trang khác",
        "detail": "This request came from a page of another origin and was refused.",
        "detail_vi": "Yêu cầu này đến từ một trang web khác nên đã bị từ chối.",
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

fn origin_matches(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    // `Origin: scheme://host[:port]` must name the host the request was sent to.
    origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            m.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        m
    }

    #[test]
    fn only_this_servers_pages_may_change_things() {
        assert!(origin_matches(&h(
            Some("https://cau.phutho.gov.vn"),
            "cau.phutho.gov.vn"
        )));
        assert!(origin_matches(&h(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(
            origin_matches(&h(None, "cau.phutho.gov.vn")),
            "not a browser page"
        );
        assert!(!origin_matches(&h(
            Some("https://tin.phutho.gov.vn"),
            "cau.phutho.gov.vn"
        )));
        assert!(!origin_matches(&h(
            Some("http://127.0.0.1:9999"),
            "127.0.0.1:8080"
        )));
        assert!(
            !origin_matches(&h(Some("null"), "127.0.0.1:8080")),
            "a sandboxed page"
        );
    }
}

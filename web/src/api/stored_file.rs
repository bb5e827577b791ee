//! Sending a stored file (a document, a recording, a meeting's ZIP). ServeFile does
//! Range, If-Range, 416 and conditional requests; we add what it cannot know: the type,
//! the name to save under, and the headers every download carries.

use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// The file at `path` as a download; `None` when it is not there (the caller knows
/// what was expected, and says so).
pub async fn send(
    req: Request,
    path: &Path,
    content_type: &str,
    filename: &str,
) -> Option<Response> {
    let mut res = match ServeFile::new(path).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    if res.status() == StatusCode::NOT_FOUND {
        return None;
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Some(res.into_response())
}

/// RFC 6266: an ASCII fallback plus the exact UTF-8 name (Vietnamese names survive).
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn vietnamese_filenames_are_encoded_for_rfc_6266() {
        assert_eq!(
            content_disposition("Báo cáo \"quý\".pdf"),
            "attachment; filename=\"B_o c_o _qu__.pdf\"; \
             filename*=UTF-8''B%C3%A1o%20c%C3%A1o%20%22qu%C3%BD%22.pdf"
        );
    }
}

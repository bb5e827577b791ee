//! The browser UI (everything under web/static/), embedded in the binary.

use crate::error::AppError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Static;

/// Serves one embedded file, with an ETag so browsers revalidate cheaply, gzipped for
/// a browser that accepts it: the room page's scripts and styles are 128 KB as they
/// are and about a quarter of that gzipped, 12 s less on a commune's 64 kbit/s link.
pub fn serve(path: &str, request: &HeaderMap) -> Result<Response, AppError> {
    let file = Static::get(path).ok_or_else(|| AppError::NotFound(path.to_owned()))?;
    let gz = (compressible(path) && accepts_gzip(request))
        .then(|| gzipped(path, &file.data))
        .flatten();
    // Each encoding is its own representation, with its own tag.
    let suffix = if gz.is_some() { "-gz" } else { "" };
    let etag = format!("\"{}{suffix}\"", hex(&file.metadata.sha256_hash()[..16]));
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        ),
        // Revalidate every time: the UI must change with the binary, not linger.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag_value),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    match gz {
        Some(body) => Ok((
            headers,
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            body.to_vec(),
        )
            .into_response()),
        None => Ok((headers, file.data.into_owned()).into_response()),
    }
}

/// Text worth compressing; images and fonts are compressed already.
fn compressible(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "html" | "htm" | "js" | "mjs" | "css" | "json" | "map" | "svg" | "txt"
    )
}

/// `Accept-Encoding` names gzip without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Each file is compressed once, on first request, and kept (the files never change
/// while the binary runs; all of them together are a few hundred KB).
fn gzipped(path: &str, data: &[u8]) -> Option<Arc<[u8]>> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<[u8]>>>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(hit) = cache.get(path) {
        return Some(hit.clone());
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let body: Arc<[u8]> = enc.write_all(data).and_then(|()| enc.finish()).ok()?.into();
    cache.insert(path.to_owned(), body.clone());
    Some(body)
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        // ES modules must be served with a JavaScript type or browsers refuse them.
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("js/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("room.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("css/app.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }

    #[test]
    fn gzip_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br, zstd"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[tokio::test]
    async fn the_room_script_is_served_gzipped_and_inflates_to_itself() {
        use std::io::Read;
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let resp = serve("js/app.js", &h).expect("served");
        assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_tag = resp.headers()[header::ETAG].clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .expect("body");
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .expect("gzip");
        let original = Static::get("js/app.js").expect("embedded").data;
        assert_eq!(plain, original.as_ref());
        assert!(
            body.len() * 2 < original.len(),
            "{} of {}",
            body.len(),
            original.len()
        );
        // Uncompressed for a client that does not ask, under another tag.
        let plain_resp = serve("js/app.js", &HeaderMap::new()).expect("served");
        assert!(plain_resp.headers().get(header::CONTENT_ENCODING).is_none());
        assert_ne!(plain_resp.headers()[header::ETAG], gz_tag);
    }

    #[test]
    fn missing_file_is_not_found() {
        assert!(matches!(
            serve("nope/../x.js", &HeaderMap::new()),
            Err(AppError::NotFound(_))
        ));
    }
}

//! Documents of a meeting: multipart upload streamed to disk under the size limit, list,
//! download with HTTP Range (large files resume and show progress), delete.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::documents::Document;
use bridge_scheduler::{DocumentId, MeetingId, SchedError};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;

fn disabled() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "documents_disabled",
        ("Documents are not enabled", "Chưa bật lưu tài liệu"),
        "This server has no document storage configured.".into(),
        "Máy chủ này chưa cấu hình nơi lưu tài liệu.".into(),
    )
}

fn ids(meeting: &str, doc: &str) -> Result<(MeetingId, DocumentId), SchedError> {
    Ok((MeetingId::parse(meeting)?, DocumentId::parse(doc)?))
}

fn multipart_problem(e: axum::extract::multipart::MultipartError) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            ("Upload too large", "Dữ liệu tải lên quá lớn"),
            e.body_text(),
            "Dữ liệu tải lên vượt quá giới hạn của máy chủ.".into(),
        );
    }
    Problem::new(
        StatusCode::BAD_REQUEST,
        "bad_upload",
        ("Malformed upload", "Tệp tải lên bị lỗi"),
        format!("The upload could not be read: {}", e.body_text()),
        "Không đọc được tệp tải lên; hãy thử lại.".into(),
    )
}

/// Uploads one file (form field `file`). Over the size limit: 413 and nothing is kept.
#[utoipa::path(post, path = "/meetings/{id}/documents",
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = Document), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Document>), Problem> {
    let store = st.documents.as_ref().ok_or_else(disabled)?;
    let meeting = MeetingId::parse(&id)?;
    // Refuse before reading a byte of the body.
    st.db.check_documents_write(&p, meeting).await?;
    let mut form = form.map_err(|r| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_upload",
            ("Not a file upload", "Không phải tệp tải lên"),
            r.body_text(),
            "Yêu cầu không chứa tệp (cần multipart/form-data với trường file).".into(),
        )
    })?;
    while let Some(mut field) = form.next_field().await.map_err(multipart_problem)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let ctype = field.content_type().unwrap_or_default().to_owned();
        let mut upload = store.begin(&name, &ctype)?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_problem)? {
            upload.write(&chunk).await?;
        }
        let doc = st
            .db
            .save_document(store, &p, meeting, upload, st.now())
            .await?;
        tracing::info!(meeting = %meeting, document = %doc.id, size = doc.size, "document uploaded");
        return Ok((StatusCode::CREATED, Json(doc)));
    }
    Err(SchedError::Invalid {
        field: "file",
        reason: "the form has no `file` field".into(),
    }
    .into())
}

/// The meeting's documents, for the organizer and the invited units.
#[utoipa::path(get, path = "/meetings/{id}/documents",
    responses((status = 200, body = Vec<Document>), (status = 403, body = Problem)))]
pub async fn list(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Document>>, Problem> {
    let meeting = MeetingId::parse(&id)?;
    Ok(Json(st.db.documents(&p, meeting).await?))
}

/// Downloads a document; `Range` requests get 206 (or 416 when unsatisfiable).
#[utoipa::path(get, path = "/meetings/{id}/documents/{doc}",
    responses((status = 200, description = "the file"), (status = 206, description = "a range of it"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 416)))]
pub async fn download(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, doc)): Path<(String, String)>,
    req: Request,
) -> Result<Response, Problem> {
    let store = st.documents.as_ref().ok_or_else(disabled)?;
    let (meeting, doc) = ids(&id, &doc)?;
    let (doc, path) = st.db.document(store, &p, meeting, doc).await?;
    // ServeFile does Range, If-Range, 416 and conditional requests; we set the headers
    // it cannot know: the type the uploader gave and the original filename.
    let mut res = match ServeFile::new(&path).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    };
    if res.status() == StatusCode::NOT_FOUND {
        tracing::error!(document = %doc.id, path = %path.display(), "document file missing");
        return Err(SchedError::NotFound {
            kind: "document",
            id: doc.id.to_string(),
        }
        .into());
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&doc.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&doc.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(res.into_response())
}

/// Removes a document (organizer side only).
#[utoipa::path(delete, path = "/meetings/{id}/documents/{doc}",
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, doc)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let store = st.documents.as_ref().ok_or_else(disabled)?;
    let (meeting, doc) = ids(&id, &doc)?;
    st.db.delete_document(store, &p, meeting, doc).await?;
    Ok(StatusCode::NO_CONTENT)
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

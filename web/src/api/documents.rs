//! Documents of a meeting: multipart upload streamed to disk under the size limit, list,
//! download with HTTP Range (large files resume and show progress), delete.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bridge_scheduler::documents::Document;
use bridge_scheduler::{DocumentId, MeetingId, SchedError};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;
use super::stored_file;

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
    // The type the uploader gave and the original filename.
    match stored_file::send(req, &path, &doc.content_type, &doc.filename).await {
        Some(res) => Ok(res),
        None => {
            tracing::error!(document = %doc.id, path = %path.display(), "document file missing");
            Err(SchedError::NotFound {
                kind: "document",
                id: doc.id.to_string(),
            }
            .into())
        }
    }
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

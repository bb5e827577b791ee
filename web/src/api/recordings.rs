//! A meeting's server-side recordings: list, and download with HTTP Range (the same
//! ServeFile approach as documents). Whoever may see the meeting (its organizer and
//! invited units) may download; others get 403.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::recordings::{Recording, RecordingId, meeting_dir};
use bridge_scheduler::{MeetingId, SchedError};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::ApiState;
use super::auth::Caller;
use super::documents::content_disposition;
use super::problem::Problem;

fn disabled() -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "recordings_disabled",
        ("Recordings are not enabled", "Chưa bật ghi hình"),
        "This server has no data folder for recordings.".into(),
        "Máy chủ này chưa có thư mục lưu bản ghi hình.".into(),
    )
}

/// The meeting's recordings (each audio/video pair from one opening of its room).
#[utoipa::path(get, path = "/meetings/{id}/recordings",
    responses((status = 200, body = Vec<Recording>), (status = 403, body = Problem)))]
pub async fn list(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Recording>>, Problem> {
    let meeting = MeetingId::parse(&id)?;
    Ok(Json(st.db.recordings(&p, meeting).await?))
}

/// Downloads a recording (also while it is still being recorded); `Range` requests
/// get 206 (or 416 when unsatisfiable).
#[utoipa::path(get, path = "/meetings/{id}/recordings/{rec}",
    responses((status = 200, description = "the file"), (status = 206, description = "a range of it"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 416)))]
pub async fn download(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, rec)): Path<(String, String)>,
    req: Request,
) -> Result<Response, Problem> {
    let dir = st.data_dir.as_ref().ok_or_else(disabled)?;
    let (meeting, rec) = (MeetingId::parse(&id)?, RecordingId::parse(&rec)?);
    let r = st.db.recording(&p, meeting, rec).await?;
    let missing = || SchedError::NotFound {
        kind: "recording",
        id: r.id.to_string(),
    };
    // The name is ours (`<n>-audio.ogg`), but it is still never allowed to leave the folder.
    if r.filename.contains(['/', '\\']) || r.filename.starts_with('.') {
        return Err(missing().into());
    }
    let path = meeting_dir(dir, meeting).join(&r.filename);
    let mut res = match ServeFile::new(&path).oneshot(req).await {
        Ok(res) => res.map(Body::new),
        Err(never) => match never {},
    };
    if res.status() == StatusCode::NOT_FOUND {
        tracing::error!(recording = %r.id, path = %path.display(), "recording file missing");
        return Err(missing().into());
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&r.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&r.filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(res.into_response())
}

//! A meeting's server-side recordings: list, and download with HTTP Range (the same
//! ServeFile approach as documents). Whoever may see the meeting (its organizer and
//! invited units) may download; others get 403.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use bridge_scheduler::recordings::{Recording, RecordingId, meeting_dir};
use bridge_scheduler::{MeetingId, SchedError};

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;
use super::stored_file;

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
    match stored_file::send(req, &path, &r.content_type, &r.filename).await {
        Some(res) => Ok(res),
        None => {
            tracing::error!(recording = %r.id, path = %path.display(), "recording file missing");
            Err(missing().into())
        }
    }
}

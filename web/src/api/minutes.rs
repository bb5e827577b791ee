//! Minutes and conclusion notice of a meeting: read, save a draft version, history,
//! finalize; the notice's tasks on the units' dashboards and the office's status table.
//! Files (PDF, DOCX, edXML, signing) are in `minutes_files`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bridge_minutes::{Minutes, TaskStatus};
use bridge_scheduler::minutes_store::{
    DocKind, MinutesError, MinutesRecord, NoticeDoc, NoticeRecord, StatusRow, TaskId, UnitTask,
    VersionInfo,
};
use bridge_scheduler::{MeetingId, SchedError, UnitCode};
use serde::{Deserialize, Serialize};
use time::Date;

use super::ApiState;
use super::auth::Caller;
use super::problem::{ApiJson, Problem};

/// A draft save names the version it edits (0 before the first save).
#[derive(Debug, Deserialize)]
pub struct SaveMinutes {
    pub version: i64,
    pub minutes: Minutes,
}

#[derive(Debug, Deserialize)]
pub struct SaveNotice {
    pub version: i64,
    pub doc: NoticeDoc,
}

/// "Chia sẻ dự thảo cho các đơn vị": whether the invited units may read the draft.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Share {
    pub shared: bool,
}

/// Finalizing names the version the caller looked at.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Finalize {
    pub version: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetStatus {
    /// open, in_progress or done.
    #[schema(value_type = String)]
    pub status: TaskStatus,
}

/// Today in Vietnam by the server's clock: what "overdue" is measured against.
pub(super) fn today(st: &ApiState) -> Date {
    bridge_minutes::vn::local(st.now()).date()
}

pub(super) fn kind_vi(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Minutes => "Biên bản",
        DocKind::Notice => "Thông báo kết luận",
    }
}

impl From<MinutesError> for Problem {
    fn from(e: MinutesError) -> Self {
        use StatusCode as S;
        let en = e.to_string();
        match e {
            MinutesError::Sched(SchedError::Conflict { expected, current }) => Problem::new(
                S::CONFLICT,
                "conflict",
                ("Edited by someone else", "Văn bản đã được người khác sửa"),
                en,
                format!(
                    "Bạn sửa phiên bản {expected} nhưng phiên bản hiện tại là {current}. \
                     Hãy tải lại để xem bản mới; nội dung bạn đang gõ vẫn còn trên màn hình."
                ),
            ),
            MinutesError::Sched(e) => e.into(),
            MinutesError::AlreadyFinal { kind, seq, year } => Problem::new(
                S::CONFLICT,
                "already_final",
                ("Already final", "Văn bản đã được ban hành"),
                en,
                format!(
                    "{} đã được ban hành (số {seq:02}/{year}); không ban hành lại.",
                    kind_vi(kind)
                ),
            ),
            MinutesError::ReadOnly { kind } => Problem::new(
                S::CONFLICT,
                "read_only",
                (
                    "Final documents are read-only",
                    "Văn bản đã ban hành không sửa được",
                ),
                en,
                format!("{} đã được ban hành nên không thể sửa nữa.", kind_vi(kind)),
            ),
            MinutesError::DeadlineBeforeMeeting {
                position,
                deadline,
                meeting_date,
            } => Problem::new(
                S::UNPROCESSABLE_ENTITY,
                "deadline_before_meeting",
                ("Deadline before the meeting", "Thời hạn trước ngày họp"),
                en,
                format!(
                    "Nhiệm vụ {position}: thời hạn {} trước ngày họp {}.",
                    vn_date(deadline),
                    vn_date(meeting_date)
                ),
            ),
            MinutesError::DraftNotShared { kind } => Problem::new(
                S::FORBIDDEN,
                "draft_not_shared",
                ("Draft not shared", "Dự thảo chưa được chia sẻ"),
                en,
                format!(
                    "{} đang là dự thảo, chưa được chia sẻ cho các đơn vị dự họp.",
                    kind_vi(kind)
                ),
            ),
            MinutesError::NotFinal => Problem::new(
                S::CONFLICT,
                "not_final",
                ("Not final", "Biên bản chưa ban hành"),
                en,
                "Biên bản còn là dự thảo: hãy ban hành (cấp số) trước khi ký số.".into(),
            ),
            MinutesError::AlreadySigned => Problem::new(
                S::CONFLICT,
                "already_signed",
                ("Already signed", "Biên bản đã được ký số"),
                en,
                "Biên bản đã được ký số; tải bản đã ký về.".into(),
            ),
            MinutesError::Corrupt { .. } => {
                tracing::error!(error = %en, "stored minutes unreadable");
                Problem::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    ("Internal error", "Lỗi hệ thống"),
                    "A stored version cannot be read; tell the administrator.".into(),
                    "Không đọc được phiên bản đã lưu; hãy báo quản trị viên.".into(),
                )
            }
        }
    }
}

fn vn_date(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month() as u8, d.year())
}

/// The meeting id of a path; a malformed one is a 422 like everywhere in the API.
pub(super) fn meeting_id(id: &str) -> Result<MeetingId, SchedError> {
    MeetingId::parse(id)
}

/// The minutes, pre-filled from the meeting before the first save (version 0).
#[utoipa::path(get, path = "/meetings/{id}/minutes",
    responses((status = 200, description = "meta and minutes"), (status = 403, body = Problem)))]
pub async fn get_minutes(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<MinutesRecord>, Problem> {
    Ok(Json(st.db.minutes(&p, meeting_id(&id)?).await?))
}

/// Saves a new draft version; 409 `conflict` when `version` is not the latest,
/// 409 `read_only` once final; 422 when a time (start, end, connection periods) is
/// outside 2000-01-01 00:00 – 2100-12-31 23:59:59, Hà Nội time.
#[utoipa::path(put, path = "/meetings/{id}/minutes",
    responses((status = 200, description = "the saved record"), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_minutes(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<SaveMinutes>, Problem>,
) -> Result<Json<MinutesRecord>, Problem> {
    let id = meeting_id(&id)?;
    // Who may only read gets 403 before the body is looked at.
    st.db.check_doc_write(&p, id).await?;
    let ApiJson(req) = body?;
    Ok(Json(
        st.db
            .save_minutes(&p, id, req.version, req.minutes, st.now())
            .await?,
    ))
}

#[utoipa::path(post, path = "/meetings/{id}/minutes/finalize", request_body = Finalize,
    responses((status = 200, description = "final, with its number"), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn finalize_minutes(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<Finalize>, Problem>,
) -> Result<Json<MinutesRecord>, Problem> {
    let id = meeting_id(&id)?;
    st.db.check_doc_write(&p, id).await?;
    let ApiJson(req) = body?;
    let rec = st
        .db
        .finalize_minutes(&p, id, req.version, st.now())
        .await?;
    tracing::info!(meeting = %id, number = ?rec.meta.number, "minutes finalized");
    Ok(Json(rec))
}

#[utoipa::path(get, path = "/meetings/{id}/notice",
    responses((status = 200, description = "meta, notice and tasks"), (status = 403, body = Problem)))]
pub async fn get_notice(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<NoticeRecord>, Problem> {
    Ok(Json(st.db.notice(&p, meeting_id(&id)?).await?))
}

/// Saves a new draft version of the notice with its tasks (422
/// `deadline_before_meeting`, `unknown_units`; 422 `invalid_input` when the meeting's day
/// or a deadline is outside 2000-01-01 – 2100-12-31).
#[utoipa::path(put, path = "/meetings/{id}/notice",
    responses((status = 200, description = "the saved record"), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_notice(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<SaveNotice>, Problem>,
) -> Result<Json<NoticeRecord>, Problem> {
    let id = meeting_id(&id)?;
    st.db.check_doc_write(&p, id).await?;
    let ApiJson(req) = body?;
    Ok(Json(
        st.db
            .save_notice(&p, id, req.version, req.doc, st.now())
            .await?,
    ))
}

#[utoipa::path(post, path = "/meetings/{id}/notice/finalize", request_body = Finalize,
    responses((status = 200, description = "final, with its number"), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn finalize_notice(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<Finalize>, Problem>,
) -> Result<Json<NoticeRecord>, Problem> {
    let id = meeting_id(&id)?;
    st.db.check_doc_write(&p, id).await?;
    let ApiJson(req) = body?;
    let rec = st.db.finalize_notice(&p, id, req.version, st.now()).await?;
    tracing::info!(meeting = %id, number = ?rec.meta.number, "notice finalized");
    Ok(Json(rec))
}

async fn share(
    st: ApiState,
    p: bridge_scheduler::Principal,
    id: &str,
    kind: DocKind,
    body: Result<ApiJson<Share>, Problem>,
) -> Result<Json<Share>, Problem> {
    let id = meeting_id(id)?;
    st.db.check_doc_write(&p, id).await?;
    let ApiJson(req) = body?;
    let shared = st
        .db
        .share_draft(&p, id, kind, req.shared, st.now())
        .await?;
    tracing::info!(meeting = %id, kind = kind.code(), shared, "draft sharing set");
    Ok(Json(Share { shared }))
}

/// Shares the minutes' draft with the invited units (or withdraws it); until then they
/// get 403 `draft_not_shared` for it and its files. Editors only.
#[utoipa::path(put, path = "/meetings/{id}/minutes/share", request_body = Share,
    responses((status = 200, body = Share), (status = 403, body = Problem)))]
pub async fn share_minutes(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<Share>, Problem>,
) -> Result<Json<Share>, Problem> {
    share(st, p, &id, DocKind::Minutes, body).await
}

/// As `share_minutes`, for the notice's draft.
#[utoipa::path(put, path = "/meetings/{id}/notice/share", request_body = Share,
    responses((status = 200, body = Share), (status = 403, body = Problem)))]
pub async fn share_notice(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<Share>, Problem>,
) -> Result<Json<Share>, Problem> {
    share(st, p, &id, DocKind::Notice, body).await
}

async fn versions(
    st: ApiState,
    p: bridge_scheduler::Principal,
    id: &str,
    kind: DocKind,
) -> Result<Json<Vec<VersionInfo>>, Problem> {
    Ok(Json(st.db.doc_versions(&p, meeting_id(id)?, kind).await?))
}

async fn version(
    st: ApiState,
    p: bridge_scheduler::Principal,
    id: &str,
    kind: DocKind,
    version: i64,
) -> Result<Json<serde_json::Value>, Problem> {
    Ok(Json(
        st.db
            .doc_version(&p, meeting_id(id)?, kind, version)
            .await?,
    ))
}

/// Saved versions of the minutes, newest first.
#[utoipa::path(get, path = "/meetings/{id}/minutes/versions",
    responses((status = 200, description = "version, author, saved_at"), (status = 403, body = Problem)))]
pub async fn minutes_versions(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, Problem> {
    versions(st, p, &id, DocKind::Minutes).await
}

/// One saved version of the minutes as it was saved.
#[utoipa::path(get, path = "/meetings/{id}/minutes/versions/{version}",
    responses((status = 200, description = "the minutes"), (status = 404, body = Problem)))]
pub async fn minutes_version(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, v)): Path<(String, i64)>,
) -> Result<Json<serde_json::Value>, Problem> {
    version(st, p, &id, DocKind::Minutes, v).await
}

#[utoipa::path(get, path = "/meetings/{id}/notice/versions",
    responses((status = 200, description = "version, author, saved_at"), (status = 403, body = Problem)))]
pub async fn notice_versions(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, Problem> {
    versions(st, p, &id, DocKind::Notice).await
}

#[utoipa::path(get, path = "/meetings/{id}/notice/versions/{version}",
    responses((status = 200, description = "the notice and its tasks"), (status = 404, body = Problem)))]
pub async fn notice_version(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, v)): Path<(String, i64)>,
) -> Result<Json<serde_json::Value>, Problem> {
    version(st, p, &id, DocKind::Notice, v).await
}

/// Tasks of issued notices the unit leads or supports, with `overdue` by today's date.
#[utoipa::path(get, path = "/units/{code}/tasks", params(("code" = String, Path)),
    responses((status = 200, description = "the unit's tasks"), (status = 403, body = Problem)))]
pub async fn unit_tasks(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<UnitTask>>, Problem> {
    let code = UnitCode::parse(&code)?;
    Ok(Json(st.db.unit_tasks(&p, &code, today(&st)).await?))
}

/// Per lead unit: open, in progress, done and overdue tasks of the meetings organized
/// within the unit (its office only).
#[utoipa::path(get, path = "/units/{code}/task-status", params(("code" = String, Path)),
    responses((status = 200, description = "one row per lead unit"), (status = 403, body = Problem)))]
pub async fn task_status(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<StatusRow>>, Problem> {
    let code = UnitCode::parse(&code)?;
    Ok(Json(st.db.task_status_table(&p, &code, today(&st)).await?))
}

/// The lead unit reports progress on its task.
#[utoipa::path(put, path = "/tasks/{id}/status", request_body = SetStatus,
    responses((status = 200, description = "the task"), (status = 403, body = Problem)))]
pub async fn set_status(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetStatus>,
) -> Result<Json<UnitTask>, Problem> {
    let id = TaskId::parse(&id)?;
    Ok(Json(
        st.db
            .set_task_status(&p, id, req.status, st.now(), today(&st))
            .await?,
    ))
}

//! Urgent sessions: the call itself, its dry run (the office's confirmation names the
//! count and the first units before anything is saved) and the calls a unit has not yet
//! acknowledged (its dashboard shows their banners whenever it loads, not only when it
//! happened to be open at the moment of the call).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bridge_scheduler::UnitCode;
use bridge_scheduler::meetings::{
    PendingUrgent, SaveOutcome, UrgentCall, UrgentPreview, check_can_schedule,
};
use bridge_scheduler::units::UnitSelector;
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::events::{EventKind, announce};
use super::problem::{ApiJson, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UrgentRequest {
    pub title: String,
    pub organizer: UnitCode,
    pub participants: Vec<UnitSelector>,
    /// Minutes from now until the start: 0 (now) to 120. The office's page offers now,
    /// 15, 30 and 60.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 120)]
    pub delay_minutes: i64,
    /// Length in minutes: 1 to 1440 (24 hours); 60 when left out.
    #[serde(default = "default_duration")]
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: i64,
    /// Where the organizer sits (a hall, a room); at most 300 characters, may be empty.
    #[serde(default)]
    #[schema(max_length = 300)]
    pub location: String,
}

fn default_duration() -> i64 {
    60
}

impl From<UrgentRequest> for UrgentCall {
    fn from(r: UrgentRequest) -> Self {
        UrgentCall {
            title: r.title,
            organizer: r.organizer,
            participants: r.participants,
            delay_minutes: r.delay_minutes,
            duration_minutes: r.duration_minutes,
            location: r.location,
        }
    }
}

/// One action: an urgent session starting now or within minutes, priority flag set.
/// Only an office that schedules for the organizer may call one (403 otherwise, whatever
/// the body); a delay, duration or place outside its range is a 422.
#[utoipa::path(post, path = "/meetings/urgent", request_body = UrgentRequest,
    responses((status = 201, body = SaveOutcome), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn urgent(
    State(st): State<ApiState>,
    Caller(p): Caller,
    body: Result<ApiJson<UrgentRequest>, Problem>,
) -> Result<(StatusCode, Json<SaveOutcome>), Problem> {
    check_can_schedule(&p)?;
    let ApiJson(r) = body?;
    let out = st.db.create_urgent(&p, r.into(), st.now()).await?;
    announce(&st, &p, out.meeting.id, EventKind::Created, Vec::new()).await;
    Ok((StatusCode::CREATED, Json(out)))
}

/// The same request as `POST /meetings/urgent`, checked the same way, answered with the
/// number of units it would summon (the organizer's own not counted), the first few
/// names and the start; nothing is saved and nobody is alerted.
#[utoipa::path(post, path = "/meetings/urgent/preview", request_body = UrgentRequest,
    responses((status = 200, body = UrgentPreview), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn preview(
    State(st): State<ApiState>,
    Caller(p): Caller,
    body: Result<ApiJson<UrgentRequest>, Problem>,
) -> Result<Json<UrgentPreview>, Problem> {
    check_can_schedule(&p)?;
    let ApiJson(r) = body?;
    Ok(Json(st.db.preview_urgent(&p, r.into(), st.now()).await?))
}

/// Urgent sessions the unit is called to and has not acknowledged, not over yet, soonest
/// first (at most 50). Its dashboard shows a banner for each until someone of the unit
/// acknowledges.
#[utoipa::path(get, path = "/units/{code}/pending-urgent", params(("code" = String, Path)),
    responses((status = 200, body = Vec<PendingUrgent>), (status = 403, body = Problem)))]
pub async fn pending(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(code): Path<String>,
) -> Result<Json<Vec<PendingUrgent>>, Problem> {
    let code = UnitCode::parse(&code)?;
    Ok(Json(st.db.pending_urgent(&p, &code, st.now()).await?))
}

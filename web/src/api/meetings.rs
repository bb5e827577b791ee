//! Meetings: create, read, update (versioned), cancel, acknowledge, join link, .ics.
//! Urgent calls are in `urgent.rs`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bridge_scheduler::ical::{IcsInput, Method, render};
use bridge_scheduler::join::JoinTicket;
use bridge_scheduler::meetings::{
    Acknowledged, MeetingView, SaveOutcome, UpcomingEntry, check_can_schedule,
};
use bridge_scheduler::units::Unit;
use bridge_scheduler::{Meeting, MeetingDraft, MeetingId, Principal, SchedError, UnitCode};
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::auth::Caller;
use super::events::{EventKind, announce};
use super::problem::{ApiJson, Problem};

fn mid(s: &str) -> Result<MeetingId, SchedError> {
    MeetingId::parse(s)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct WindowQuery {
    /// RFC 3339 start of the window (e.g. Monday 00:00+07:00).
    pub from: String,
    /// RFC 3339 end of the window (at most 62 days after `from`).
    pub to: String,
}

fn rfc3339(field: &'static str, s: &str) -> Result<time::OffsetDateTime, SchedError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| {
        SchedError::Invalid {
            field,
            reason: e.to_string(),
        }
    })
}

/// Week/list view: occurrences in `[from, to)` of meetings the caller may see.
#[utoipa::path(get, path = "/meetings", params(WindowQuery),
    responses((status = 200, body = Vec<UpcomingEntry>), (status = 422, body = Problem)))]
pub async fn list(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Query(q): Query<WindowQuery>,
) -> Result<Json<Vec<UpcomingEntry>>, Problem> {
    let (from, to) = (rfc3339("start", &q.from)?, rfc3339("end", &q.to)?);
    Ok(Json(st.db.meetings_between(&p, from, to).await?))
}

// Handlers that change a meeting take their body as `Result<ApiJson<_>, Problem>` and
// look at it only after the caller's right is checked: a hall's PC gets 403 whatever it
// sent, never a validation message about a body it had no business sending.

/// Creates a meeting; `conflicts` in the answer are warnings (the meeting is saved).
/// Times must lie between 2000-01-01 00:00 and 2100-12-31 23:59:59 Hà Nội time; a meeting
/// lasts 1 minute to 24 hours.
#[utoipa::path(post, path = "/meetings", request_body = MeetingDraft,
    responses((status = 201, body = SaveOutcome), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(st): State<ApiState>,
    Caller(p): Caller,
    body: Result<ApiJson<MeetingDraft>, Problem>,
) -> Result<(StatusCode, Json<SaveOutcome>), Problem> {
    check_can_schedule(&p)?;
    let ApiJson(d) = body?;
    let out = st.db.create_meeting(&p, d, st.now()).await?;
    announce(&st, &p, out.meeting.id, EventKind::Created, Vec::new()).await;
    Ok((StatusCode::CREATED, Json(out)))
}

/// A meeting with invitations and who has acknowledged.
#[utoipa::path(get, path = "/meetings/{id}", params(("id" = String, Path)),
    responses((status = 200, body = MeetingView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_one(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, Problem> {
    Ok(Json(st.db.meeting(&p, mid(&id)?).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateRequest {
    /// The version the editor started from; a stale one gets 409 and nothing changes.
    pub version: i64,
    pub meeting: MeetingDraft,
}

/// Replaces a meeting's content (same limits as create).
#[utoipa::path(put, path = "/meetings/{id}", params(("id" = String, Path)), request_body = UpdateRequest,
    responses((status = 200, body = SaveOutcome), (status = 409, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<UpdateRequest>, Problem>,
) -> Result<Json<SaveOutcome>, Problem> {
    let id = mid(&id)?;
    st.db.check_manage_meeting(&p, id, "edit").await?;
    let ApiJson(r) = body?;
    // Units dropped by the edit must hear about it too.
    let before: Vec<String> = match st.db.meeting(&p, id).await {
        Ok(v) => v.invitations.iter().map(|i| i.unit.to_string()).collect(),
        Err(_) => Vec::new(),
    };
    let out = st
        .db
        .update_meeting(&p, id, r.version, r.meeting, st.now())
        .await?;
    announce(&st, &p, id, EventKind::Updated, before).await;
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    pub version: i64,
}

#[utoipa::path(post, path = "/meetings/{id}/cancel", params(("id" = String, Path)), request_body = CancelRequest,
    responses((status = 200, body = Meeting), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    body: Result<ApiJson<CancelRequest>, Problem>,
) -> Result<Json<Meeting>, Problem> {
    let id = mid(&id)?;
    st.db.check_manage_meeting(&p, id, "cancel").await?;
    let ApiJson(r) = body?;
    let m = st.db.cancel_meeting(&p, id, r.version, st.now()).await?;
    announce(&st, &p, id, EventKind::Cancelled, Vec::new()).await;
    Ok(Json(m))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AckResponse {
    pub acknowledged: Acknowledged,
    /// When the unit first acknowledged (the earlier time when it already had).
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<time::OffsetDateTime>,
}

/// The invited unit confirms it has seen the invitation (idempotent). A first
/// acknowledgement is announced to the unit's other open dashboards and to the
/// organizer's, so every screen of the unit stops alerting and the office's table updates.
#[utoipa::path(post, path = "/meetings/{id}/ack/{unit}", params(("id" = String, Path), ("unit" = String, Path)),
    responses((status = 200, body = AckResponse), (status = 403, body = Problem)))]
pub async fn acknowledge(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, unit)): Path<(String, String)>,
) -> Result<Json<AckResponse>, Problem> {
    let unit = UnitCode::parse(&unit)?;
    let id = mid(&id)?;
    let acknowledged = st.db.acknowledge(&p, id, &unit, st.now()).await?;
    let record = st.db.ack_record(id, &unit).await?;
    if let (Acknowledged::Now, Some(rec)) = (acknowledged, &record) {
        match st.db.load_meeting(id).await {
            Ok(m) => st.events.publish_ack(&m, rec),
            Err(e) => tracing::warn!(error = %e, %id, "acknowledged but not announced"),
        }
    }
    Ok(Json(AckResponse {
        acknowledged,
        acknowledged_at: record.map(|r| r.acknowledged_at),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JoinResponse {
    pub url: String,
    pub ticket: JoinTicket,
}

/// The unit's join link: a token for this meeting's room, unit and role.
#[utoipa::path(get, path = "/meetings/{id}/join/{unit}", params(("id" = String, Path), ("unit" = String, Path)),
    responses((status = 200, body = JoinResponse), (status = 403, body = Problem)))]
pub async fn join(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path((id, unit)): Path<(String, String)>,
) -> Result<Json<JoinResponse>, Problem> {
    let unit = UnitCode::parse(&unit)?;
    let ticket = st
        .db
        .join_ticket(&st.token_key, &p, mid(&id)?, &unit, st.now())
        .await?;
    Ok(Json(JoinResponse {
        url: st.join_url(&ticket.room.0, &ticket.token),
        ticket,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct IcsQuery {
    /// The invited unit whose copy (and join link) to produce; default: the caller's unit.
    pub unit: Option<String>,
}

/// One unit's copy of the invitation (`attendee` None: the organizer's copy), with the
/// unit's join link when the caller may hand it out and it is still valid.
pub(super) async fn unit_calendar(
    st: &ApiState,
    p: &Principal,
    m: &Meeting,
    attendee: Option<&Unit>,
    method: Method,
) -> Result<(String, Option<String>), Problem> {
    let now = st.now();
    let join_url = match (attendee, method) {
        (Some(a), Method::Request) => match st
            .db
            .join_ticket(&st.token_key, p, m.id, &a.code, now)
            .await
        {
            Ok(t) => Some(st.join_url(&t.room.0, &t.token)),
            // The caller may see the meeting without holding that unit's link (or it is
            // over): the file is still useful without one.
            Err(SchedError::Forbidden(_)) | Err(SchedError::Invalid { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        _ => None,
    };
    let organizer = st.db.unit(&m.organizer).await?;
    let ics = render(
        method,
        &IcsInput {
            meeting: m,
            organizer: &organizer,
            attendee,
            join_url: join_url.as_deref(),
            mail_domain: &st.mail_domain,
            now,
        },
    );
    Ok((ics, join_url))
}

/// iCalendar file: METHOD:REQUEST (SEQUENCE = version) or CANCEL once cancelled.
#[utoipa::path(get, path = "/meetings/{id}/ics", params(("id" = String, Path), IcsQuery),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 403, body = Problem)))]
pub async fn ics(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    Query(q): Query<IcsQuery>,
) -> Result<Response, Problem> {
    let view = st.db.meeting(&p, mid(&id)?).await?;
    let m = &view.meeting;
    let unit = match q.unit.as_deref().map(UnitCode::parse).transpose()? {
        Some(u) => Some(u),
        None => p.unit.clone(),
    };
    let attendee = match &unit {
        Some(u) if view.invitations.iter().any(|i| &i.unit == u) => Some(st.db.unit(u).await?),
        Some(u) => {
            return Err(SchedError::NotFound {
                kind: "invitation",
                id: format!("{}/{u}", m.id),
            }
            .into());
        }
        None => None,
    };
    let method = if m.cancelled {
        Method::Cancel
    } else {
        Method::Request
    };
    let (body, _) = unit_calendar(&st, &p, m, attendee.as_ref(), method).await?;
    let ctype = match method {
        Method::Request => "text/calendar; charset=utf-8; method=REQUEST",
        Method::Cancel => "text/calendar; charset=utf-8; method=CANCEL",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"meeting-{}.ics\"", m.id),
            ),
        ],
        body,
    )
        .into_response())
}

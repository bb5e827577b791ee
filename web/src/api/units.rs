//! The unit tree and a unit's dashboard list. Any signed-in account may browse the tree
//! (it is public administrative data); meeting lists follow the authorization rules.

use axum::Json;
use axum::extract::{Path, Query, State};
use bridge_scheduler::UnitCode;
use bridge_scheduler::accounts::User;
use bridge_scheduler::meetings::UpcomingEntry;
use bridge_scheduler::units::Unit;
use serde::Deserialize;

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;

fn code(s: &str) -> Result<UnitCode, bridge_scheduler::SchedError> {
    UnitCode::parse(s)
}

/// Top-level units (provinces).
#[utoipa::path(get, path = "/units", responses((status = 200, body = Vec<Unit>)))]
pub async fn roots(State(st): State<ApiState>, _c: Caller) -> Result<Json<Vec<Unit>>, Problem> {
    Ok(Json(st.db.unit_children(None).await?))
}

#[utoipa::path(get, path = "/units/{code}", params(("code" = String, Path)),
    responses((status = 200, body = Unit), (status = 422, body = Problem)))]
pub async fn unit(
    State(st): State<ApiState>,
    _c: Caller,
    Path(c): Path<String>,
) -> Result<Json<Unit>, Problem> {
    Ok(Json(st.db.unit(&code(&c)?).await?))
}

/// Direct children of a unit.
#[utoipa::path(get, path = "/units/{code}/children", params(("code" = String, Path)),
    responses((status = 200, body = Vec<Unit>)))]
pub async fn children(
    State(st): State<ApiState>,
    _c: Caller,
    Path(c): Path<String>,
) -> Result<Json<Vec<Unit>>, Problem> {
    Ok(Json(st.db.unit_children(Some(&code(&c)?)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LevelQuery {
    /// Only descendants at this absolute level (1 = province).
    pub level: Option<i64>,
}

/// A unit and all its descendants, optionally at one level ("all communes of X").
#[utoipa::path(get, path = "/units/{code}/subtree", params(("code" = String, Path), LevelQuery),
    responses((status = 200, body = Vec<Unit>)))]
pub async fn subtree(
    State(st): State<ApiState>,
    _c: Caller,
    Path(c): Path<String>,
    Query(q): Query<LevelQuery>,
) -> Result<Json<Vec<Unit>>, Problem> {
    Ok(Json(st.db.unit_subtree(&code(&c)?, q.level).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    pub q: String,
    pub limit: Option<i64>,
}

/// Name search for the unit picker.
#[utoipa::path(get, path = "/units/search", params(SearchQuery), responses((status = 200, body = Vec<Unit>)))]
pub async fn search(
    State(st): State<ApiState>,
    _c: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Unit>>, Problem> {
    Ok(Json(st.db.search_units(&q.q, q.limit.unwrap_or(50)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LimitQuery {
    pub limit: Option<i64>,
}

/// The unit's upcoming meetings (its dashboard), soonest first.
#[utoipa::path(get, path = "/units/{code}/upcoming", params(("code" = String, Path), LimitQuery),
    responses((status = 200, body = Vec<UpcomingEntry>), (status = 403, body = Problem)))]
pub async fn upcoming(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(c): Path<String>,
    Query(q): Query<LimitQuery>,
) -> Result<Json<Vec<UpcomingEntry>>, Problem> {
    let list = st
        .db
        .upcoming_for_unit(&p, &code(&c)?, st.now(), q.limit.unwrap_or(50))
        .await?;
    Ok(Json(list))
}

/// Accounts that may chair the unit's meetings (its chairs and those of units above it);
/// for the secretaries who schedule them.
#[utoipa::path(get, path = "/units/{code}/chairs", params(("code" = String, Path)),
    responses((status = 200, body = Vec<User>), (status = 403, body = Problem)))]
pub async fn chairs(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Path(c): Path<String>,
) -> Result<Json<Vec<User>>, Problem> {
    Ok(Json(st.db.chairs_for(&p, &code(&c)?).await?))
}

//! Search of past meetings: text (accents optional), a date range and a unit, over the
//! meetings the caller may see. Parameters are read as text so a bad one gets a clear
//! 400 naming it, in English and Vietnamese.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use bridge_scheduler::UnitCode;
use bridge_scheduler::search::{MeetingSearch, SearchPage};
use serde::Deserialize;
use time::Date;

use super::ApiState;
use super::auth::Caller;
use super::problem::Problem;

/// Search parameters, all optional; read as text so a bad value gets a clear 400.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words in the title, location or agenda; accents and case do not matter.
    pub q: Option<String>,
    /// First day, `YYYY-MM-DD` (Vietnam's calendar), included.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, included.
    pub to: Option<String>,
    /// Unit code: meetings it organized or was invited to.
    pub unit: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// A search parameter that cannot be read; becomes a 400 problem at the handler.
struct BadParam {
    name: &'static str,
    value: String,
    en: &'static str,
    vi: &'static str,
}

impl From<BadParam> for Problem {
    fn from(b: BadParam) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            ("Invalid search", "Điều kiện tìm kiếm không hợp lệ"),
            format!("{}={:?}: {}", b.name, b.value, b.en),
            format!("{}={:?}: {}", b.name, b.value, b.vi),
        )
    }
}

fn date(name: &'static str, v: Option<&str>) -> Result<Option<Date>, BadParam> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    parse_day(v).map(Some).ok_or_else(|| BadParam {
        name,
        value: v.to_owned(),
        en: "not a date of the calendar (YYYY-MM-DD)",
        vi: "không phải ngày có thật (định dạng NNNN-TT-NN)",
    })
}

/// Strict `YYYY-MM-DD`; impossible days (2026-02-30) are refused, not rolled over.
fn parse_day(v: &str) -> Option<Date> {
    let mut it = v.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn number(name: &'static str, v: Option<&str>) -> Result<u32, BadParam> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(0),
        Some(v) => v.parse::<u32>().map_err(|_| BadParam {
            name,
            value: v.to_owned(),
            en: "not a whole number",
            vi: "không phải số nguyên dương",
        }),
    }
}

/// Meetings the caller may see, matching text, dates and unit; newest first, paged.
#[utoipa::path(get, path = "/meetings/search", params(SearchQuery),
    responses((status = 200, body = SearchPage), (status = 400, body = Problem)))]
pub async fn search(
    State(st): State<ApiState>,
    Caller(p): Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<SearchPage>, Problem> {
    let from = date("from", q.from.as_deref())?;
    let to = date("to", q.to.as_deref())?;
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        return Err(BadParam {
            name: "to",
            value: b.to_string(),
            en: "the last day is before the first day",
            vi: "ngày kết thúc trước ngày bắt đầu",
        }
        .into());
    }
    let unit = match q.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(UnitCode::parse(u).map_err(|_| BadParam {
            name: "unit",
            value: u.to_owned(),
            en: "not a unit code",
            vi: "không phải mã đơn vị",
        })?),
    };
    let search = MeetingSearch {
        text: q.q.unwrap_or_default(),
        from,
        to,
        unit,
        page: number("page", q.page.as_deref())?,
        per_page: number("per_page", q.per_page.as_deref())?,
    };
    Ok(Json(st.db.search_meetings(&p, &search).await?))
}

//! The notice's follow-up tasks as rows: replaced with each draft save, then tracked by
//! the units (their dashboard lists them; the lead unit updates the status) and summed
//! per unit for the organizing office.

use std::collections::{HashMap, HashSet};

use bridge_minutes::{DocNumber, TaskStatus};
use serde::Serialize;
use sqlx::Row;
use time::{Date, OffsetDateTime};

use super::error::{MinutesError, Result};
use super::types::{NoticeTask, TaskId, iso_date};
use crate::authz::{self, Principal, Role};
use crate::db::Db;
use crate::error::SchedError;
use crate::ids::{MeetingId, UnitCode};
use crate::meetings::range;
use crate::timefmt::from_unix;

/// Tasks per notice and supporting units per task: far above real notices, low enough
/// that one save stays one quick transaction.
pub const MAX_TASKS: usize = 200;
pub const MAX_SUPPORTING: usize = 100;
const MAX_TASK_CHARS: usize = 4000;
/// Rows on one dashboard list.
const MAX_LISTED: i64 = 500;

fn status_str(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Open => "open",
        TaskStatus::InProgress => "in_progress",
        TaskStatus::Done => "done",
    }
}

fn parse_status(s: &str) -> TaskStatus {
    match s {
        "done" => TaskStatus::Done,
        "in_progress" => TaskStatus::InProgress,
        _ => TaskStatus::Open,
    }
}

fn julian(d: Date) -> i64 {
    i64::from(d.to_julian_day())
}

fn from_julian(j: i64) -> Result<Date> {
    i32::try_from(j)
        .ok()
        .and_then(|j| Date::from_julian_day(j).ok())
        .ok_or_else(|| SchedError::invalid("stored date", j.to_string()).into())
}

/// Checks a draft's tasks (pure): sizes, deadlines within the supported range and not
/// before the meeting, ids unique.
/// Gives new tasks an id. Whether the units exist is checked by the caller.
pub(super) fn check_tasks(tasks: &mut [NoticeTask], meeting_date: Date) -> Result<()> {
    if tasks.len() > MAX_TASKS {
        return Err(SchedError::invalid("tasks", format!("at most {MAX_TASKS} tasks")).into());
    }
    let mut ids = HashSet::new();
    for (i, t) in tasks.iter_mut().enumerate() {
        let position = i + 1;
        t.title = t.title.trim().to_owned();
        if t.title.is_empty() || t.title.chars().count() > MAX_TASK_CHARS {
            return Err(SchedError::invalid(
                "tasks",
                format!("task {position} needs a text of 1..={MAX_TASK_CHARS} characters"),
            )
            .into());
        }
        if range::check_date("tasks", t.deadline).is_err() {
            return Err(SchedError::invalid(
                "tasks",
                format!(
                    "task {position}: the deadline must be a day between {} and {}",
                    range::FIRST_DAY,
                    range::LAST_DAY
                ),
            )
            .into());
        }
        if t.deadline < meeting_date {
            return Err(MinutesError::DeadlineBeforeMeeting {
                position,
                deadline: t.deadline,
                meeting_date,
            });
        }
        t.supporting_units.sort();
        t.supporting_units.dedup();
        t.supporting_units.retain(|u| u != &t.lead_unit);
        if t.supporting_units.len() > MAX_SUPPORTING {
            return Err(SchedError::invalid(
                "tasks",
                format!("task {position} has more than {MAX_SUPPORTING} supporting units"),
            )
            .into());
        }
        let id = *t.id.get_or_insert_with(TaskId::new_random);
        if !ids.insert(id) {
            return Err(SchedError::invalid("tasks", format!("task id {id} appears twice")).into());
        }
    }
    Ok(())
}

/// The distinct unit codes the tasks name.
pub(super) fn task_units(tasks: &[NoticeTask]) -> Vec<UnitCode> {
    let mut v: Vec<UnitCode> = tasks
        .iter()
        .flat_map(|t| std::iter::once(&t.lead_unit).chain(&t.supporting_units))
        .cloned()
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Replaces the meeting's task rows with `tasks` (ids already assigned).
pub(super) async fn replace_tasks(
    conn: &mut sqlx::AnyConnection,
    id: MeetingId,
    tasks: &[NoticeTask],
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query("DELETE FROM notice_task_support WHERE task_id IN (SELECT id FROM notice_tasks WHERE meeting_id = $1)")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM notice_tasks WHERE meeting_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    for (i, t) in tasks.iter().enumerate() {
        let tid = t.id.unwrap_or_else(TaskId::new_random).to_string();
        sqlx::query(
            "INSERT INTO notice_tasks (id, meeting_id, position, title, lead_unit, \
             deadline_day, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tid.clone())
        .bind(id.to_string())
        .bind(i as i64)
        .bind(t.title.clone())
        .bind(t.lead_unit.as_str().to_owned())
        .bind(julian(t.deadline))
        .bind(status_str(t.status))
        .bind(now.unix_timestamp())
        .execute(&mut *conn)
        .await?;
        for u in &t.supporting_units {
            sqlx::query("INSERT INTO notice_task_support (task_id, unit_code) VALUES ($1, $2)")
                .bind(tid.clone())
                .bind(u.as_str().to_owned())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A task on a unit's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitTask {
    pub id: TaskId,
    pub meeting: MeetingId,
    pub meeting_title: String,
    /// The notice's number ("12/TB-…").
    pub notice_number: Option<DocNumber>,
    pub title: String,
    pub lead_unit: UnitCode,
    pub lead_unit_name: String,
    /// True when the unit leads the task, false when it supports.
    pub lead: bool,
    #[serde(with = "iso_date")]
    pub deadline: Date,
    pub status: TaskStatus,
    /// Not done and past its deadline on the day asked about.
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Tasks per lead unit, for the organizing office's status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRow {
    pub unit: UnitCode,
    pub unit_name: String,
    pub open: i64,
    pub in_progress: i64,
    pub done: i64,
    /// Counted here and not in open / in_progress.
    pub overdue: i64,
}

const TASK_COLS: &str = "t.id, t.meeting_id, m.title AS meeting_title, d.number_seq, \
     d.number_year, t.title, t.lead_unit, u.name AS lead_name, t.deadline_day, t.status, \
     t.updated_at";

fn task_from_row(r: &sqlx::any::AnyRow, unit: &UnitCode, today: Date) -> Result<UnitTask> {
    let lead_unit = UnitCode::from_db(r.try_get("lead_unit")?);
    let deadline = from_julian(r.try_get("deadline_day")?)?;
    let status = parse_status(&r.try_get::<String, _>("status")?);
    let number = match (
        r.try_get::<Option<i64>, _>("number_seq")?,
        r.try_get::<Option<i64>, _>("number_year")?,
    ) {
        (Some(s), Some(y)) => Some(DocNumber {
            seq: u32::try_from(s).unwrap_or(u32::MAX),
            year: i32::try_from(y).unwrap_or(i32::MAX),
        }),
        _ => None,
    };
    Ok(UnitTask {
        id: TaskId::parse(&r.try_get::<String, _>("id")?)?,
        meeting: MeetingId::parse(&r.try_get::<String, _>("meeting_id")?)?,
        meeting_title: r.try_get("meeting_title")?,
        notice_number: number,
        title: r.try_get("title")?,
        lead: &lead_unit == unit,
        lead_unit,
        lead_unit_name: r.try_get("lead_name")?,
        deadline,
        status,
        overdue: status != TaskStatus::Done && today > deadline,
        updated_at: from_unix(r.try_get("updated_at")?)?,
    })
}

impl Db {
    /// Tasks of issued (final) notices that `unit` leads or supports, soonest deadline
    /// first; `today` (Vietnam date) decides what is overdue.
    pub async fn unit_tasks(
        &self,
        actor: &Principal,
        unit: &UnitCode,
        today: Date,
    ) -> Result<Vec<UnitTask>> {
        let u = self.unit(unit).await?;
        if !authz::can_view_unit(actor, unit, &u.path) {
            return Err(
                SchedError::Forbidden(format!("you may not see the tasks of unit {unit}")).into(),
            );
        }
        sqlx::query(&format!(
            "SELECT {TASK_COLS} FROM notice_tasks t \
             JOIN meetings m ON m.id = t.meeting_id \
             JOIN minutes_docs d ON d.meeting_id = t.meeting_id AND d.kind = 'TB' \
             JOIN units u ON u.code = t.lead_unit \
             WHERE d.state = 'final' AND (t.lead_unit = $1 OR t.id IN \
                (SELECT task_id FROM notice_task_support WHERE unit_code = $2)) \
             ORDER BY t.deadline_day, t.meeting_id, t.position LIMIT $3"
        ))
        .bind(unit.as_str().to_owned())
        .bind(unit.as_str().to_owned())
        .bind(MAX_LISTED)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| task_from_row(r, unit, today))
        .collect()
    }

    /// The lead unit's accounts (and whoever edits the notice) set a task's status once
    /// the notice is issued.
    pub async fn set_task_status(
        &self,
        actor: &Principal,
        task: TaskId,
        status: TaskStatus,
        now: OffsetDateTime,
        today: Date,
    ) -> Result<UnitTask> {
        let row = sqlx::query(
            "SELECT t.meeting_id, t.lead_unit, d.state FROM notice_tasks t \
             JOIN minutes_docs d ON d.meeting_id = t.meeting_id AND d.kind = 'TB' \
             WHERE t.id = $1",
        )
        .bind(task.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::not_found("task", task.to_string()))?;
        let meeting = MeetingId::parse(&row.try_get::<String, _>("meeting_id")?)?;
        let lead = UnitCode::from_db(row.try_get("lead_unit")?);
        if row.try_get::<String, _>("state")? != "final" {
            return Err(SchedError::invalid("task", "the notice is not issued yet").into());
        }
        let own = actor.unit.as_ref() == Some(&lead);
        if !own {
            let access = self.doc_access(actor, meeting).await?;
            if !access.can_edit {
                return Err(SchedError::Forbidden(format!(
                    "only unit {lead}, which leads this task, may change its status"
                ))
                .into());
            }
        }
        sqlx::query("UPDATE notice_tasks SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status_str(status))
            .bind(now.unix_timestamp())
            .bind(task.to_string())
            .execute(&self.pool)
            .await?;
        let r = sqlx::query(&format!(
            "SELECT {TASK_COLS} FROM notice_tasks t \
             JOIN meetings m ON m.id = t.meeting_id \
             JOIN minutes_docs d ON d.meeting_id = t.meeting_id AND d.kind = 'TB' \
             JOIN units u ON u.code = t.lead_unit WHERE t.id = $1"
        ))
        .bind(task.to_string())
        .fetch_one(&self.pool)
        .await?;
        task_from_row(&r, &lead, today)
    }

    /// Current status of each task of the meeting (units may have moved them on since
    /// the notice was issued).
    pub(super) async fn task_statuses(&self, id: MeetingId) -> Result<HashMap<TaskId, TaskStatus>> {
        sqlx::query("SELECT id, status FROM notice_tasks WHERE meeting_id = $1")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    TaskId::parse(&r.try_get::<String, _>("id")?)?,
                    parse_status(&r.try_get::<String, _>("status")?),
                ))
            })
            .collect()
    }

    /// Per lead unit: tasks of issued notices of meetings organized within `unit`'s
    /// subtree, by status, for the secretaries and administrators above them.
    pub async fn task_status_table(
        &self,
        actor: &Principal,
        unit: &UnitCode,
        today: Date,
    ) -> Result<Vec<StatusRow>> {
        let u = self.unit(unit).await?;
        let office = matches!(actor.role, Role::Administrator | Role::Secretary);
        if !office || !authz::can_view_unit(actor, unit, &u.path) {
            return Err(SchedError::Forbidden(format!(
                "only the office of unit {unit} sees the status of its tasks"
            ))
            .into());
        }
        let today = julian(today);
        sqlx::query(
            "SELECT t.lead_unit, lu.name, lu.path, \
             SUM(CASE WHEN t.status = 'open' AND t.deadline_day >= $1 THEN 1 ELSE 0 END) AS n_open, \
             SUM(CASE WHEN t.status = 'in_progress' AND t.deadline_day >= $2 THEN 1 ELSE 0 END) AS n_progress, \
             SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END) AS n_done, \
             SUM(CASE WHEN t.status <> 'done' AND t.deadline_day < $3 THEN 1 ELSE 0 END) AS n_overdue \
             FROM notice_tasks t \
             JOIN minutes_docs d ON d.meeting_id = t.meeting_id AND d.kind = 'TB' \
             JOIN meetings m ON m.id = t.meeting_id \
             JOIN unit_ancestors a ON a.unit_code = m.organizer_code AND a.ancestor_code = $4 \
             JOIN units lu ON lu.code = t.lead_unit \
             WHERE d.state = 'final' \
             GROUP BY t.lead_unit, lu.name, lu.path ORDER BY lu.path",
        )
        .bind(today)
        .bind(today)
        .bind(today)
        .bind(unit.as_str().to_owned())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(StatusRow {
                unit: UnitCode::from_db(r.try_get("lead_unit")?),
                unit_name: r.try_get("name")?,
                open: r.try_get("n_open")?,
                in_progress: r.try_get("n_progress")?,
                done: r.try_get("n_done")?,
                overdue: r.try_get("n_overdue")?,
            })
        })
        .collect()
    }
}

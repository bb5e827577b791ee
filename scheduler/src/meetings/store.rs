//! Meeting storage, write side: create/update/cancel with optimistic concurrency.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;

use super::types::SaveOutcome;
use super::{Meeting, MeetingDraft, Recurrence, UrgentCall, ValidDraft, validate_draft};
use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{MeetingId, UnitCode, UserId};
use crate::sql::Batch;
use crate::timefmt::from_unix;
use crate::units::{Unit, UnitSelector};

pub(super) const MEETING_COLS: &str = "id, title, organizer_code, chair_user_id, location, starts_at, ends_at, \
     urgent, cancelled, version, rrule, exdates, selection, created_by, record";

type Acks = HashMap<String, (Option<i64>, Option<String>)>;

/// Whether the caller's role schedules meetings at all; needs nothing of the request, so
/// the web layer asks it before reading a body.
pub fn check_can_schedule(actor: &Principal) -> Result<()> {
    if authz::can_schedule(actor) {
        Ok(())
    } else {
        Err(SchedError::Forbidden(format!(
            "a {} account may not schedule, change or cancel meetings",
            actor.role.as_str()
        )))
    }
}

pub(super) fn meeting_from_row(r: &AnyRow, agenda: Vec<String>) -> Result<Meeting> {
    let exdates: String = r.try_get("exdates")?;
    let exdates = exdates
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| SchedError::invalid("stored exdates", s))
                .and_then(from_unix)
        })
        .collect::<Result<Vec<_>>>()?;
    let selection: String = r.try_get("selection")?;
    let participants: Vec<UnitSelector> = serde_json::from_str(&selection)
        .map_err(|e| SchedError::invalid("stored selection", e.to_string()))?;
    Ok(Meeting {
        id: MeetingId::parse(&r.try_get::<String, _>("id")?)?,
        title: r.try_get("title")?,
        agenda,
        organizer: UnitCode::from_db(r.try_get("organizer_code")?),
        chair: r
            .try_get::<Option<String>, _>("chair_user_id")?
            .map(|s| UserId::parse(&s))
            .transpose()?,
        location: r.try_get("location")?,
        starts_at: from_unix(r.try_get("starts_at")?)?,
        ends_at: from_unix(r.try_get("ends_at")?)?,
        urgent: r.try_get::<i64, _>("urgent")? != 0,
        cancelled: r.try_get::<i64, _>("cancelled")? != 0,
        version: r.try_get("version")?,
        recurrence: r
            .try_get::<Option<String>, _>("rrule")?
            .map(|rrule| Recurrence { rrule, exdates }),
        participants,
        created_by: UserId::parse(&r.try_get::<String, _>("created_by")?)?,
        record: r.try_get::<i64, _>("record")? != 0,
    })
}

/// Binds a meeting's content columns, in the order both INSERT and UPDATE list them
/// (title … selection).
fn bind_content<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    v: &ValidDraft,
) -> Result<sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>> {
    Ok(q.bind(v.draft.title.clone())
        .bind(v.draft.organizer.to_string())
        .bind(v.draft.chair.map(|c| c.to_string()))
        .bind(v.draft.location.clone())
        .bind(v.draft.starts_at.unix_timestamp())
        .bind(v.draft.ends_at.unix_timestamp())
        .bind(i64::from(v.draft.urgent))
        .bind(v.recurrence.as_ref().map(|r| r.rrule.clone()))
        .bind(exdates_text(v))
        .bind(selection_json(&v.draft)?))
}

fn exdates_text(v: &ValidDraft) -> String {
    v.recurrence
        .as_ref()
        .map(|r| {
            r.exdates
                .iter()
                .map(|t| t.unix_timestamp().to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn selection_json(d: &MeetingDraft) -> Result<String> {
    serde_json::to_string(&d.participants)
        .map_err(|e| SchedError::invalid("participants", e.to_string()))
}

/// The organizer's own invitation counts as acknowledged by whoever saved the meeting:
/// the organizing office knows of its meeting, and listing it as "not yet acknowledged"
/// beside the invited halls would only hide the halls that really have not answered.
fn organizer_ack(v: &ValidDraft, actor: &Principal, now: OffsetDateTime, mut acks: Acks) -> Acks {
    acks.entry(v.draft.organizer.to_string())
        .or_insert((Some(now.unix_timestamp()), Some(actor.user_id.to_string())));
    acks
}

/// Agenda, occurrences and invitations of a meeting, written in batches.
async fn write_children(
    tx: &mut Transaction<'static, Any>,
    id: MeetingId,
    v: &ValidDraft,
    units: &[Unit],
    acks: &Acks,
) -> Result<()> {
    let mid = id.to_string();
    for (chunk_no, chunk) in v.draft.agenda.chunks(100).enumerate() {
        let mut b = Batch::new(
            "INSERT INTO agenda_items (meeting_id, position, body) VALUES ",
            3,
        );
        chunk.iter().for_each(|_| b.row());
        let mut q = sqlx::query(b.sql());
        for (i, a) in chunk.iter().enumerate() {
            q = q
                .bind(mid.clone())
                .bind((chunk_no * 100 + i) as i64)
                .bind(a.clone());
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in v.occurrences.chunks(300) {
        let mut b = Batch::new(
            "INSERT INTO occurrences (meeting_id, starts_at, ends_at) VALUES ",
            3,
        );
        chunk.iter().for_each(|_| b.row());
        let mut q = sqlx::query(b.sql());
        for (s, e) in chunk {
            q = q
                .bind(mid.clone())
                .bind(s.unix_timestamp())
                .bind(e.unix_timestamp());
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in units.chunks(500) {
        let mut b = Batch::new(
            "INSERT INTO invitations (meeting_id, unit_code, acknowledged_at, acknowledged_by) VALUES ",
            4,
        );
        chunk.iter().for_each(|_| b.row());
        let mut q = sqlx::query(b.sql());
        for u in chunk {
            let (at, by) = acks.get(u.code.as_str()).cloned().unwrap_or((None, None));
            q = q
                .bind(mid.clone())
                .bind(u.code.to_string())
                .bind(at)
                .bind(by);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The draft of an urgent call (timing bounded first, then the place).
pub(super) fn urgent_draft(call: UrgentCall, now: OffsetDateTime) -> Result<MeetingDraft> {
    let mut draft = MeetingDraft::urgent(
        &call.title,
        call.organizer,
        call.participants,
        now,
        call.delay_minutes,
        call.duration_minutes,
    )?;
    draft.location = call.location;
    Ok(draft)
}

impl Db {
    /// The first check of a create: the caller may schedule at all, then for `organizer`.
    /// Nothing else of the request is looked at before it (an unknown organizer is only
    /// reported to someone who may schedule). Returns the organizer unit.
    pub async fn check_schedule_for(
        &self,
        actor: &Principal,
        organizer: &UnitCode,
    ) -> Result<Unit> {
        check_can_schedule(actor)?;
        let org = self.unit(organizer).await?;
        if !authz::can_manage_meeting(actor, &org.path) {
            return Err(SchedError::Forbidden(format!(
                "you may not schedule meetings for unit {}",
                org.code
            )));
        }
        Ok(org)
    }

    /// The first check of an edit or a cancel: the caller manages meeting `id` (its
    /// current organizer). Returns the meeting as stored.
    pub async fn check_manage_meeting(
        &self,
        actor: &Principal,
        id: MeetingId,
        action: &str,
    ) -> Result<Meeting> {
        check_can_schedule(actor)?;
        let current = self.load_meeting(id).await?;
        let org = self.unit(&current.organizer).await?;
        if !authz::can_manage_meeting(actor, &org.path) {
            return Err(SchedError::Forbidden(format!(
                "you may not {action} meetings of unit {}",
                org.code
            )));
        }
        Ok(current)
    }

    /// Authorization, then validation, shared by create and update; writes nothing.
    pub(super) async fn prepare(
        &self,
        actor: &Principal,
        draft: MeetingDraft,
        now: OffsetDateTime,
    ) -> Result<(ValidDraft, Vec<Unit>)> {
        let organizer = self.check_schedule_for(actor, &draft.organizer).await?;
        let valid = validate_draft(draft, now)?;
        if let Some(chair) = valid.draft.chair {
            self.user(chair).await?;
        }
        let mut units = self.expand_selection(&valid.draft.participants).await?;
        if !units.iter().any(|u| u.code == organizer.code) {
            units.push(organizer);
        }
        let denied: Vec<&str> = units
            .iter()
            .filter(|u| !authz::can_invite(actor, &u.path))
            .map(|u| u.code.as_str())
            .collect();
        if !denied.is_empty() {
            return Err(SchedError::Forbidden(format!(
                "you may invite only units within your own: {}{}",
                denied
                    .iter()
                    .take(10)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", "),
                if denied.len() > 10 { ", …" } else { "" }
            )));
        }
        Ok((valid, units))
    }

    /// An urgent session: who may call one is checked first, then its timing (bounded
    /// before any arithmetic), then it is created like any meeting.
    pub async fn create_urgent(
        &self,
        actor: &Principal,
        call: UrgentCall,
        now: OffsetDateTime,
    ) -> Result<SaveOutcome> {
        self.check_schedule_for(actor, &call.organizer).await?;
        let draft = urgent_draft(call, now)?;
        self.create_meeting(actor, draft, now).await
    }

    pub async fn create_meeting(
        &self,
        actor: &Principal,
        draft: MeetingDraft,
        now: OffsetDateTime,
    ) -> Result<SaveOutcome> {
        let (v, units) = self.prepare(actor, draft, now).await?;
        let id = MeetingId::new_random();
        let mut tx = self.pool.begin().await?;
        let insert = format!(
            "INSERT INTO meetings ({MEETING_COLS}, created_at, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, $9, $10, $11, $12, $14, $13, $13)"
        );
        bind_content(sqlx::query(&insert).bind(id.to_string()), &v)?
            .bind(actor.user_id.to_string())
            .bind(now.unix_timestamp())
            .bind(i64::from(v.draft.record))
            .execute(&mut *tx)
            .await?;
        let acks = organizer_ack(&v, actor, now, Acks::new());
        write_children(&mut tx, id, &v, &units, &acks).await?;
        tx.commit().await?;
        Ok(SaveOutcome {
            meeting: self.load_meeting(id).await?,
            invited: units.len(),
            conflicts: self.booking_conflicts(id).await?,
        })
    }

    /// Replaces a meeting's content if `expected_version` is still current; otherwise
    /// `Conflict` and nothing changes. Acknowledgements of still-invited units are kept.
    pub async fn update_meeting(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected_version: i64,
        draft: MeetingDraft,
        now: OffsetDateTime,
    ) -> Result<SaveOutcome> {
        self.check_manage_meeting(actor, id, "edit").await?;
        let (v, units) = self.prepare(actor, draft, now).await?;
        let mut tx = self.pool.begin().await?;
        // Write first: the row lock/SQLite write lock is taken before anything is read.
        let update = sqlx::query(
            "UPDATE meetings SET title = $1, organizer_code = $2, chair_user_id = $3, location = $4, \
             starts_at = $5, ends_at = $6, urgent = $7, rrule = $8, exdates = $9, selection = $10, \
             updated_at = $11, version = version + 1, record = $14 \
             WHERE id = $12 AND version = $13 AND cancelled = 0",
        );
        let done = bind_content(update, &v)?
            .bind(now.unix_timestamp())
            .bind(id.to_string())
            .bind(expected_version)
            .bind(i64::from(v.draft.record))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if done == 0 {
            tx.rollback().await?;
            return Err(self.stale(id, expected_version).await);
        }
        let mut acks = Acks::new();
        for r in sqlx::query(
            "SELECT unit_code, acknowledged_at, acknowledged_by FROM invitations \
             WHERE meeting_id = $1 AND acknowledged_at IS NOT NULL",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?
        {
            acks.insert(
                r.try_get("unit_code")?,
                (r.try_get("acknowledged_at")?, r.try_get("acknowledged_by")?),
            );
        }
        let acks = organizer_ack(&v, actor, now, acks);
        for table in ["agenda_items", "occurrences", "invitations"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE meeting_id = $1"))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        write_children(&mut tx, id, &v, &units, &acks).await?;
        tx.commit().await?;
        Ok(SaveOutcome {
            meeting: self.load_meeting(id).await?,
            invited: units.len(),
            conflicts: self.booking_conflicts(id).await?,
        })
    }

    /// Why a versioned write matched no row.
    async fn stale(&self, id: MeetingId, expected: i64) -> SchedError {
        match self.load_meeting(id).await {
            Ok(m) if m.cancelled => SchedError::invalid("meeting", "it has been cancelled"),
            Ok(m) => SchedError::Conflict {
                expected,
                current: m.version,
            },
            Err(e) => e,
        }
    }

    /// Cancels (keeps the record, bumps the version for the iCalendar CANCEL).
    pub async fn cancel_meeting(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<Meeting> {
        self.check_manage_meeting(actor, id, "cancel").await?;
        let done = sqlx::query(
            "UPDATE meetings SET cancelled = 1, version = version + 1, updated_at = $1 \
             WHERE id = $2 AND version = $3 AND cancelled = 0",
        )
        .bind(now.unix_timestamp())
        .bind(id.to_string())
        .bind(expected_version)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(self.stale(id, expected_version).await);
        }
        self.load_meeting(id).await
    }
}

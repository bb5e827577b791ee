//! The minutes and the notice of a meeting as the API sees them: read (pre-filled when
//! nothing is saved yet), save a draft, finalize, history, and the values to render.

use std::collections::HashMap;

use bridge_minutes::{ConclusionNotice, Minutes, Person, Task};
use time::OffsetDateTime;

use super::access::Access;
use super::error::{MinutesError, Result};
use super::prefill::{self, UnitPresence};
use super::share;
use super::store::Stored;
use super::tasks::{check_tasks, task_units};
use super::types::{
    DocKind, DocMeta, DocState, MinutesRecord, NoticeDoc, NoticeRecord, VersionInfo,
};
use crate::authz::{Principal, Role};
use crate::db::Db;
use crate::error::SchedError;
use crate::ids::MeetingId;
use crate::meetings::range;

fn parse<T: serde::de::DeserializeOwned>(kind: DocKind, version: i64, body: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| MinutesError::Corrupt {
        kind,
        version,
        reason: e.to_string(),
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| {
        crate::SchedError::invalid("document", format!("cannot be stored: {e}")).into()
    })
}

/// The times a saved minutes may hold: the meeting's range, so that rendering, which
/// prints them in Vietnam's time, never meets one without a Vietnam form.
fn check_minutes_dates(m: &Minutes) -> Result<()> {
    range::check_instant("start", m.started_at)?;
    range::check_instant("end", m.ended_at)?;
    let periods = m.attendees.iter().flat_map(|a| &a.joined);
    if periods
        .flat_map(|(s, e)| [s, e])
        .any(|t| !range::in_range(*t))
    {
        return Err(SchedError::invalid(
            "participants",
            format!("connection periods {}", range::RANGE_TEXT),
        )
        .into());
    }
    Ok(())
}

/// The day of the meeting a notice concludes, within the range like the meeting itself.
fn check_notice_dates(n: &ConclusionNotice) -> Result<()> {
    range::check_date("meeting", n.meeting.date)?;
    Ok(())
}

fn blank_meta(id: MeetingId, kind: DocKind) -> DocMeta {
    DocMeta {
        meeting: id,
        kind,
        state: DocState::Draft,
        version: 0,
        number: None,
        finalized_at: None,
        finalized_by: None,
        updated_at: None,
        signed_at: None,
        shared: false,
        can_edit: false,
    }
}

impl Db {
    /// The one place the bridge's attendance log feeds the draft: every invited unit
    /// with the periods its hall was connected (open periods end now).
    async fn presence(&self, id: MeetingId) -> Result<Vec<UnitPresence>> {
        Ok(self
            .meeting_attendance(id)
            .await?
            .into_iter()
            .map(|a| UnitPresence {
                joined: a.joined_pairs(),
                code: a.unit,
                name: a.unit_name,
                present: a.present,
            })
            .collect())
    }

    /// The chair's account as a person: its name only when the account names a person
    /// (see [`prefill::person_from_account`]).
    async fn chair_person(&self, a: &Access) -> Result<Person> {
        Ok(match a.meeting.chair {
            Some(u) => prefill::person_from_account(&self.user(u).await?.display_name),
            None => prefill::person_from_account(""),
        })
    }

    async fn prefilled_minutes(&self, actor: &Principal, a: &Access) -> Result<Minutes> {
        let secretary = if actor.role == Role::Secretary {
            prefill::person_from_account(&self.user(actor.user_id).await?.display_name)
        } else {
            prefill::person_from_account("")
        };
        Ok(prefill::minutes_draft(
            &a.meeting,
            prefill::issuer_for(&a.organizer),
            self.chair_person(a).await?,
            secretary,
            &self.presence(a.meeting.id).await?,
        ))
    }

    /// The notice's first draft: from the minutes when some are saved (their chair and
    /// conclusions, which the notice announces), else from the meeting.
    async fn prefilled_notice(&self, a: &Access) -> Result<NoticeDoc> {
        let issuer = prefill::issuer_for(&a.organizer);
        match self.stored(a.meeting.id, DocKind::Minutes).await? {
            Some(Stored { meta, body }) => {
                let m: Minutes = parse(DocKind::Minutes, meta.version, &body)?;
                Ok(prefill::notice_from_minutes(&a.meeting, issuer, &m))
            }
            None => Ok(prefill::notice_draft(
                &a.meeting,
                issuer,
                self.chair_person(a).await?,
            )),
        }
    }

    /// The minutes as the caller may see them; pre-filled (version 0) before the first save.
    pub async fn minutes(&self, actor: &Principal, id: MeetingId) -> Result<MinutesRecord> {
        let a = self.doc_access(actor, id).await?;
        let (mut meta, minutes) = match self.stored(id, DocKind::Minutes).await? {
            Some(Stored { meta, body }) => {
                let m = parse(DocKind::Minutes, meta.version, &body)?;
                (meta, m)
            }
            None => (
                blank_meta(id, DocKind::Minutes),
                self.prefilled_minutes(actor, &a).await?,
            ),
        };
        meta.shared = self.draft_shared(id, DocKind::Minutes).await?;
        share::check_read(&a, actor, DocKind::Minutes, meta.state, meta.shared)?;
        meta.can_edit = a.can_edit && meta.state == DocState::Draft;
        meta.signed_at = self.signed_minutes_at(id).await?;
        Ok(MinutesRecord { meta, minutes })
    }

    /// Saves a new version of the draft over `expected` (0 for the first save). Number,
    /// date and issuing unit are not the editor's to set: they are cleared or forced.
    pub async fn save_minutes(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected: i64,
        mut minutes: Minutes,
        now: OffsetDateTime,
    ) -> Result<MinutesRecord> {
        let a = self.doc_write_access(actor, id).await?;
        check_minutes_dates(&minutes)?;
        minutes.issuer.code = a.organizer.code.to_string();
        minutes.number = None;
        minutes.signed_date = None;
        let body = to_json(&minutes)?;
        self.save_version(actor, id, DocKind::Minutes, expected, &body, now, None)
            .await?;
        self.minutes(actor, id).await
    }

    /// Finalizes the minutes at version `expected`: number and date are assigned and
    /// they become read-only.
    pub async fn finalize_minutes(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected: i64,
        now: OffsetDateTime,
    ) -> Result<MinutesRecord> {
        let a = self.doc_write_access(actor, id).await?;
        self.finalize_version(
            actor,
            id,
            DocKind::Minutes,
            &a.organizer.code,
            expected,
            now,
            |body, number, date| {
                let mut m: Minutes = parse(DocKind::Minutes, expected, body)?;
                m.number = Some(number);
                m.signed_date = Some(date);
                to_json(&m)
            },
        )
        .await?;
        self.minutes(actor, id).await
    }

    /// The notice; pre-filled (version 0) before the first save. Task statuses are the
    /// current ones (the lead units move them on after the notice is issued).
    pub async fn notice(&self, actor: &Principal, id: MeetingId) -> Result<NoticeRecord> {
        let a = self.doc_access(actor, id).await?;
        let (mut meta, mut doc) = match self.stored(id, DocKind::Notice).await? {
            Some(Stored { meta, body }) => {
                let d: NoticeDoc = parse(DocKind::Notice, meta.version, &body)?;
                (meta, d)
            }
            None => (
                blank_meta(id, DocKind::Notice),
                self.prefilled_notice(&a).await?,
            ),
        };
        meta.shared = self.draft_shared(id, DocKind::Notice).await?;
        share::check_read(&a, actor, DocKind::Notice, meta.state, meta.shared)?;
        let current = self.task_statuses(id).await?;
        for t in &mut doc.tasks {
            if let Some(s) = t.id.and_then(|i| current.get(&i)) {
                t.status = *s;
            }
        }
        meta.can_edit = a.can_edit && meta.state == DocState::Draft;
        Ok(NoticeRecord { meta, doc })
    }

    /// Saves a new version of the notice and replaces its task rows, checked first:
    /// known units, no deadline before the meeting's day.
    pub async fn save_notice(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected: i64,
        mut doc: NoticeDoc,
        now: OffsetDateTime,
    ) -> Result<NoticeRecord> {
        let a = self.doc_write_access(actor, id).await?;
        check_notice_dates(&doc.notice)?;
        // vn::local clamps a stored time past the calendar to its last day, so a meeting
        // an old version saved at 9999-12-31 leaves no deadline valid rather than panicking.
        let meeting_date = bridge_minutes::vn::local(a.meeting.starts_at).date();
        check_tasks(&mut doc.tasks, meeting_date)?;
        self.units_by_codes(&task_units(&doc.tasks)).await?;
        let n = &mut doc.notice;
        n.issuer.code = a.organizer.code.to_string();
        n.number = None;
        n.signed_date = None;
        // The printed task table comes from `doc.tasks` with the units' names.
        n.tasks.clear();
        let body = to_json(&doc)?;
        self.save_version(
            actor,
            id,
            DocKind::Notice,
            expected,
            &body,
            now,
            Some(&doc.tasks),
        )
        .await?;
        self.notice(actor, id).await
    }

    pub async fn finalize_notice(
        &self,
        actor: &Principal,
        id: MeetingId,
        expected: i64,
        now: OffsetDateTime,
    ) -> Result<NoticeRecord> {
        let a = self.doc_write_access(actor, id).await?;
        self.finalize_version(
            actor,
            id,
            DocKind::Notice,
            &a.organizer.code,
            expected,
            now,
            |body, number, date| {
                let mut d: NoticeDoc = parse(DocKind::Notice, expected, body)?;
                d.notice.number = Some(number);
                d.notice.signed_date = Some(date);
                to_json(&d)
            },
        )
        .await?;
        self.notice(actor, id).await
    }

    /// Saved versions, newest first.
    pub async fn doc_versions(
        &self,
        actor: &Principal,
        id: MeetingId,
        kind: DocKind,
    ) -> Result<Vec<VersionInfo>> {
        let a = self.doc_access(actor, id).await?;
        self.check_doc_read(actor, &a, kind).await?;
        self.version_list(id, kind).await
    }

    /// One saved version's document, as JSON (`Minutes` or `NoticeDoc`).
    pub async fn doc_version(
        &self,
        actor: &Principal,
        id: MeetingId,
        kind: DocKind,
        version: i64,
    ) -> Result<serde_json::Value> {
        let a = self.doc_access(actor, id).await?;
        self.check_doc_read(actor, &a, kind).await?;
        let body = self.version_body(id, kind, version).await?;
        parse(kind, version, &body)
    }

    /// The notice ready to render: its task table with the units' names.
    pub async fn notice_for_render(
        &self,
        actor: &Principal,
        id: MeetingId,
    ) -> Result<(DocMeta, ConclusionNotice)> {
        let NoticeRecord { meta, doc } = self.notice(actor, id).await?;
        let codes = task_units(&doc.tasks);
        let names: HashMap<String, String> = self
            .units_by_codes(&codes)
            .await?
            .into_iter()
            .map(|u| (u.code.to_string(), u.name))
            .collect();
        let name = |c: &crate::UnitCode| names.get(c.as_str()).cloned().unwrap_or(c.to_string());
        let mut notice = doc.notice;
        notice.tasks = doc
            .tasks
            .iter()
            .map(|t| Task {
                title: t.title.clone(),
                lead_unit: name(&t.lead_unit),
                supporting_units: t.supporting_units.iter().map(name).collect(),
                deadline: t.deadline,
                status: t.status,
            })
            .collect();
        Ok((meta, notice))
    }
}

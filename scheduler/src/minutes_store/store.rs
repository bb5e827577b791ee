//! Versioned records: every save is a new version row; a save names the version it
//! edits (a stale one is a conflict and changes nothing); finalizing takes the next
//! number of the issuing unit's register for the year in the same transaction.

use bridge_minutes::{DocNumber, vn};
use sqlx::Row;
use time::OffsetDateTime;

use super::error::{MinutesError, Result};
use super::types::{DocKind, DocMeta, DocState, NoticeTask, VersionInfo};
use crate::authz::Principal;
use crate::db::Db;
use crate::error::SchedError;
use crate::ids::{MeetingId, UnitCode};
use crate::timefmt::from_unix;

/// Concurrent finalizations of one issuer race for the same number; the loser retries
/// with the next. More attempts than this means something else is wrong.
const NUMBER_ATTEMPTS: usize = 8;

/// The stored record's state and its latest body.
pub(super) struct Stored {
    pub meta: DocMeta,
    pub body: String,
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Db {
    /// The record with its latest body, or None when nothing was saved yet.
    pub(super) async fn stored(&self, id: MeetingId, kind: DocKind) -> Result<Option<Stored>> {
        let Some(r) = sqlx::query(
            "SELECT d.state, d.version, d.number_seq, d.number_year, d.finalized_at, \
             u.username AS finalized_by, d.updated_at, v.body \
             FROM minutes_docs d \
             JOIN minutes_versions v ON v.meeting_id = d.meeting_id AND v.kind = d.kind \
                  AND v.version = d.version \
             LEFT JOIN users u ON u.id = d.finalized_by \
             WHERE d.meeting_id = $1 AND d.kind = $2",
        )
        .bind(id.to_string())
        .bind(kind.code())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let seq: Option<i64> = r.try_get("number_seq")?;
        let year: Option<i64> = r.try_get("number_year")?;
        let number = match (seq, year) {
            (Some(s), Some(y)) => Some(DocNumber {
                seq: u32::try_from(s).unwrap_or(u32::MAX),
                year: i32::try_from(y).unwrap_or(i32::MAX),
            }),
            _ => None,
        };
        let state = if r.try_get::<String, _>("state")? == "final" {
            DocState::Final
        } else {
            DocState::Draft
        };
        Ok(Some(Stored {
            meta: DocMeta {
                meeting: id,
                kind,
                state,
                version: r.try_get("version")?,
                number,
                finalized_at: r
                    .try_get::<Option<i64>, _>("finalized_at")?
                    .map(from_unix)
                    .transpose()?,
                finalized_by: r.try_get("finalized_by")?,
                updated_at: Some(from_unix(r.try_get("updated_at")?)?),
                signed_at: None,
                shared: false,
                can_edit: false,
            },
            body: r.try_get("body")?,
        }))
    }

    /// Why a versioned write matched no row.
    async fn refusal(&self, id: MeetingId, kind: DocKind, expected: i64) -> MinutesError {
        match self.stored(id, kind).await {
            Ok(Some(s)) if s.meta.state == DocState::Final => MinutesError::ReadOnly { kind },
            Ok(Some(s)) => SchedError::Conflict {
                expected,
                current: s.meta.version,
            }
            .into(),
            Ok(None) => SchedError::Conflict {
                expected,
                current: 0,
            }
            .into(),
            Err(e) => e,
        }
    }

    /// Writes version `expected + 1` of a draft. A notice's tasks (already checked) are
    /// replaced in the same transaction, so the version and its task rows land together.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn save_version(
        &self,
        actor: &Principal,
        id: MeetingId,
        kind: DocKind,
        expected: i64,
        body: &str,
        now: OffsetDateTime,
        tasks: Option<&[NoticeTask]>,
    ) -> Result<i64> {
        if body.len() > super::MAX_BODY_BYTES {
            return Err(SchedError::TooLarge {
                what: kind.name(),
                size: body.len(),
                limit: super::MAX_BODY_BYTES,
            }
            .into());
        }
        let mut tx = self.pool.begin().await?;
        let written = if expected == 0 {
            match sqlx::query(
                "INSERT INTO minutes_docs (meeting_id, kind, state, version, updated_at) \
                 VALUES ($1, $2, 'draft', 1, $3)",
            )
            .bind(id.to_string())
            .bind(kind.code())
            .bind(now.unix_timestamp())
            .execute(&mut *tx)
            .await
            {
                Ok(r) => r.rows_affected(),
                Err(e) if is_unique_violation(&e) => 0,
                Err(e) => return Err(e.into()),
            }
        } else {
            sqlx::query(
                "UPDATE minutes_docs SET version = version + 1, updated_at = $1 \
                 WHERE meeting_id = $2 AND kind = $3 AND version = $4 AND state = 'draft'",
            )
            .bind(now.unix_timestamp())
            .bind(id.to_string())
            .bind(kind.code())
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if written == 0 {
            drop(tx);
            return Err(self.refusal(id, kind, expected).await);
        }
        let version = expected + 1;
        insert_version(&mut tx, id, kind, version, actor, body, now).await?;
        if let Some(tasks) = tasks {
            super::tasks::replace_tasks(&mut tx, id, tasks, now).await?;
        }
        tx.commit().await?;
        Ok(version)
    }

    /// Makes the record final at `expected` (the version the caller looked at): takes the
    /// next number for (issuer, year, kind), stamps number and date into the body with
    /// `stamp`, and stores that as the last version.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finalize_version(
        &self,
        actor: &Principal,
        id: MeetingId,
        kind: DocKind,
        issuer: &UnitCode,
        expected: i64,
        now: OffsetDateTime,
        stamp: impl Fn(&str, DocNumber, time::Date) -> Result<String>,
    ) -> Result<DocNumber> {
        let date = vn::local(now).date();
        for _ in 0..NUMBER_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            // The write comes first: on SQLite it takes the database's write lock, so the
            // register read below cannot race another finalization.
            let n = sqlx::query(
                "UPDATE minutes_docs SET state = 'final', version = version + 1, \
                 updated_at = $1, finalized_at = $1, finalized_by = $2 \
                 WHERE meeting_id = $3 AND kind = $4 AND version = $5 AND state = 'draft'",
            )
            .bind(now.unix_timestamp())
            .bind(actor.user_id.to_string())
            .bind(id.to_string())
            .bind(kind.code())
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                drop(tx);
                return Err(match self.stored(id, kind).await? {
                    Some(Stored { meta, .. }) if meta.state == DocState::Final => {
                        let num = meta.number.unwrap_or(DocNumber { seq: 0, year: 0 });
                        MinutesError::AlreadyFinal {
                            kind,
                            seq: num.seq,
                            year: num.year,
                        }
                    }
                    Some(s) => SchedError::Conflict {
                        expected,
                        current: s.meta.version,
                    }
                    .into(),
                    None => SchedError::invalid(
                        "meeting",
                        format!("save the {} before finalizing it", kind.name()),
                    )
                    .into(),
                });
            }
            let next: i64 = sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM doc_numbers \
                 WHERE issuer_code = $1 AND year = $2 AND kind = $3",
            )
            .bind(issuer.as_str().to_owned())
            .bind(i64::from(date.year()))
            .bind(kind.code())
            .fetch_one(&mut *tx)
            .await?
            .try_get("next")?;
            let taken = sqlx::query(
                "INSERT INTO doc_numbers (issuer_code, year, kind, seq, meeting_id, issued_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(issuer.as_str().to_owned())
            .bind(i64::from(date.year()))
            .bind(kind.code())
            .bind(next)
            .bind(id.to_string())
            .bind(now.unix_timestamp())
            .execute(&mut *tx)
            .await;
            match taken {
                Ok(_) => {}
                // Another finalization took it between our read and our insert.
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
            let number = DocNumber {
                seq: u32::try_from(next).unwrap_or(u32::MAX),
                year: date.year(),
            };
            sqlx::query(
                "UPDATE minutes_docs SET number_seq = $1, number_year = $2 \
                 WHERE meeting_id = $3 AND kind = $4",
            )
            .bind(next)
            .bind(i64::from(date.year()))
            .bind(id.to_string())
            .bind(kind.code())
            .execute(&mut *tx)
            .await?;
            let body: String = sqlx::query(
                "SELECT body FROM minutes_versions WHERE meeting_id = $1 AND kind = $2 \
                 AND version = $3",
            )
            .bind(id.to_string())
            .bind(kind.code())
            .bind(expected)
            .fetch_one(&mut *tx)
            .await?
            .try_get("body")?;
            let body = stamp(&body, number, date)?;
            insert_version(&mut tx, id, kind, expected + 1, actor, &body, now).await?;
            tx.commit().await?;
            return Ok(number);
        }
        Err(SchedError::invalid("meeting", "the register is busy; try finalizing again").into())
    }

    /// The saved versions, newest first.
    pub(super) async fn version_list(
        &self,
        id: MeetingId,
        kind: DocKind,
    ) -> Result<Vec<VersionInfo>> {
        sqlx::query(
            "SELECT v.version, u.username, v.saved_at FROM minutes_versions v \
             JOIN users u ON u.id = v.author \
             WHERE v.meeting_id = $1 AND v.kind = $2 ORDER BY v.version DESC",
        )
        .bind(id.to_string())
        .bind(kind.code())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(VersionInfo {
                version: r.try_get("version")?,
                author: r.try_get("username")?,
                saved_at: from_unix(r.try_get("saved_at")?)?,
            })
        })
        .collect()
    }

    /// The body of one saved version.
    pub(super) async fn version_body(
        &self,
        id: MeetingId,
        kind: DocKind,
        version: i64,
    ) -> Result<String> {
        Ok(sqlx::query(
            "SELECT body FROM minutes_versions WHERE meeting_id = $1 AND kind = $2 \
             AND version = $3",
        )
        .bind(id.to_string())
        .bind(kind.code())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::not_found("version", version.to_string()))?
        .try_get("body")?)
    }
}

async fn insert_version(
    conn: &mut sqlx::AnyConnection,
    id: MeetingId,
    kind: DocKind,
    version: i64,
    actor: &Principal,
    body: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO minutes_versions (meeting_id, kind, version, author, saved_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(kind.code())
    .bind(version)
    .bind(actor.user_id.to_string())
    .bind(now.unix_timestamp())
    .bind(body.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

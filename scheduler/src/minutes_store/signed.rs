//! The signed PDF of final minutes: stored once, served as stored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sqlx::Row;
use time::OffsetDateTime;

use super::error::{MinutesError, Result};
use super::types::{DocKind, DocState};
use crate::authz::Principal;
use crate::db::Db;
use crate::error::SchedError;
use crate::ids::MeetingId;
use crate::timefmt::from_unix;

/// Largest signed PDF kept: the renderer's text limit makes real minutes far smaller.
pub const MAX_SIGNED_BYTES: usize = 32 * 1024 * 1024;

impl Db {
    /// Checks that `actor` may sign the minutes now (chair or office, final, not signed
    /// yet) and returns the final version to sign, so the signing (slow, outside any
    /// transaction) starts only when it can be kept.
    pub async fn check_sign_minutes(&self, actor: &Principal, id: MeetingId) -> Result<i64> {
        self.doc_write_access(actor, id).await?;
        let stored = self.stored(id, DocKind::Minutes).await?;
        let meta = match stored {
            Some(s) if s.meta.state == DocState::Final => s.meta,
            _ => return Err(MinutesError::NotFinal),
        };
        if self.signed_minutes_at(id).await?.is_some() {
            return Err(MinutesError::AlreadySigned);
        }
        Ok(meta.version)
    }

    /// Keeps the signed PDF of final version `version`; a second signature is refused.
    pub async fn store_signed_minutes(
        &self,
        actor: &Principal,
        id: MeetingId,
        version: i64,
        pdf: &[u8],
        now: OffsetDateTime,
    ) -> Result<()> {
        if pdf.len() > MAX_SIGNED_BYTES {
            return Err(SchedError::TooLarge {
                what: "signed PDF",
                size: pdf.len(),
                limit: MAX_SIGNED_BYTES,
            }
            .into());
        }
        let done = sqlx::query(
            "INSERT INTO minutes_signed (meeting_id, version, pdf_base64, signed_by, signed_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(version)
        .bind(STANDARD.encode(pdf))
        .bind(actor.user_id.to_string())
        .bind(now.unix_timestamp())
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                Err(MinutesError::AlreadySigned)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(super) async fn signed_minutes_at(&self, id: MeetingId) -> Result<Option<OffsetDateTime>> {
        sqlx::query("SELECT signed_at FROM minutes_signed WHERE meeting_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Ok(from_unix(r.try_get("signed_at")?)?))
            .transpose()
    }

    /// The signed PDF and when it was signed, for whoever may see the meeting.
    pub async fn signed_minutes(
        &self,
        actor: &Principal,
        id: MeetingId,
    ) -> Result<(Vec<u8>, OffsetDateTime)> {
        self.doc_access(actor, id).await?;
        let r =
            sqlx::query("SELECT pdf_base64, signed_at FROM minutes_signed WHERE meeting_id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| SchedError::not_found("signed minutes", id.to_string()))?;
        let pdf = STANDARD
            .decode(r.try_get::<String, _>("pdf_base64")?)
            .map_err(|e| MinutesError::Corrupt {
                kind: DocKind::Minutes,
                version: 0,
                reason: format!("signed PDF: {e}"),
            })?;
        Ok((pdf, from_unix(r.try_get("signed_at")?)?))
    }
}

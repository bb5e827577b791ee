//! Drafts shared with the invited units. A draft is the office's working text: before
//! the meeting it can hold names and figures nobody has agreed to yet, so the invited
//! units see it only once the secretary shares it; issued documents are for everyone
//! who may see the meeting.

use sqlx::Row;
use time::OffsetDateTime;

use super::access::Access;
use super::error::{MinutesError, Result};
use super::types::{DocKind, DocState};
use crate::authz::Principal;
use crate::db::Db;
use crate::ids::MeetingId;

/// Who may read a document in `state`: an issued one, anyone who sees the meeting; a
/// draft, its editors and the organizing unit's own staff, and the invited units once
/// it is shared.
pub(super) fn check_read(
    a: &Access,
    actor: &Principal,
    kind: DocKind,
    state: DocState,
    shared: bool,
) -> Result<()> {
    let office = actor.unit.as_ref() == Some(&a.organizer.code);
    if state == DocState::Final || shared || a.can_edit || office {
        Ok(())
    } else {
        Err(MinutesError::DraftNotShared { kind })
    }
}

impl Db {
    pub(super) async fn draft_shared(&self, id: MeetingId, kind: DocKind) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM minutes_shares WHERE meeting_id = $1 AND kind = $2")
                .bind(id.to_string())
                .bind(kind.code())
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// The record's state without its body (a draft when nothing is saved yet).
    async fn doc_state(&self, id: MeetingId, kind: DocKind) -> Result<DocState> {
        let r = sqlx::query("SELECT state FROM minutes_docs WHERE meeting_id = $1 AND kind = $2")
            .bind(id.to_string())
            .bind(kind.code())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match r {
            Some(r) if r.try_get::<String, _>("state")? == "final" => DocState::Final,
            _ => DocState::Draft,
        })
    }

    /// As [`check_read`], looking the state and the share up.
    pub(super) async fn check_doc_read(
        &self,
        actor: &Principal,
        a: &Access,
        kind: DocKind,
    ) -> Result<()> {
        let id = a.meeting.id;
        let state = self.doc_state(id, kind).await?;
        let shared = self.draft_shared(id, kind).await?;
        check_read(a, actor, kind, state, shared)
    }

    /// Shares the draft of `kind` with the invited units, or withdraws it; the editors
    /// only. Returns the new setting.
    pub async fn share_draft(
        &self,
        actor: &Principal,
        id: MeetingId,
        kind: DocKind,
        shared: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.doc_write_access(actor, id).await?;
        if shared {
            sqlx::query(
                "INSERT INTO minutes_shares (meeting_id, kind, shared_by, shared_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (meeting_id, kind) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(kind.code())
            .bind(actor.user_id.to_string())
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
        } else {
            sqlx::query("DELETE FROM minutes_shares WHERE meeting_id = $1 AND kind = $2")
                .bind(id.to_string())
                .bind(kind.code())
                .execute(&self.pool)
                .await?;
        }
        Ok(shared)
    }
}

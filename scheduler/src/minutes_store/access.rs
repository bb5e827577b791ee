//! Who may read and who may write a meeting's minutes and notice.

use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::MeetingId;
use crate::meetings::Meeting;
use crate::units::Unit;

/// A meeting the caller may see, with its organizer and whether the caller may edit.
pub(super) struct Access {
    pub meeting: Meeting,
    pub organizer: Unit,
    pub can_edit: bool,
}

/// The meeting's chair writes the minutes with the organizing office (its secretaries,
/// administrators); everyone else who may see the meeting reads them.
pub(super) fn can_edit(p: &Principal, m: &Meeting, organizer_path: &str) -> bool {
    m.chair == Some(p.user_id) || authz::can_manage_meeting(p, organizer_path)
}

impl Db {
    /// Checks that `actor` may see the meeting: the organizer's and invited units' staff.
    pub(super) async fn doc_access(&self, actor: &Principal, id: MeetingId) -> Result<Access> {
        let meeting = self.load_meeting(id).await?;
        let organizer = self.check_view(actor, &meeting).await?;
        let can_edit = can_edit(actor, &meeting, &organizer.path);
        Ok(Access {
            meeting,
            organizer,
            can_edit,
        })
    }

    /// Whether `actor` may edit or finalize the meeting's minutes and notice: the web layer
    /// asks before it reads a request's body.
    pub async fn check_doc_write(&self, actor: &Principal, id: MeetingId) -> Result<()> {
        self.doc_write_access(actor, id).await.map(|_| ())
    }

    /// As [`Db::doc_access`], refusing callers who may only read.
    pub(super) async fn doc_write_access(
        &self,
        actor: &Principal,
        id: MeetingId,
    ) -> Result<Access> {
        let a = self.doc_access(actor, id).await?;
        if !a.can_edit {
            return Err(SchedError::Forbidden(
                "only the chair or the organizing office may edit or finalize the minutes".into(),
            ));
        }
        Ok(a)
    }
}

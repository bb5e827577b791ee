//! Minutes (biên bản) and conclusion notices (thông báo kết luận) of a meeting: drafts
//! that are saved as versions, finalization with a number from the issuing unit's
//! register, and the notice's follow-up tasks that units track on their dashboards.
//!
//! The documents themselves are `bridge_minutes` model values stored as JSON, so the
//! renderers (PDF, DOCX, edXML, signing) read exactly what the editor saved.

mod access;
mod error;
mod prefill;
mod records;
mod share;
mod signed;
mod store;
mod tasks;
mod types;

pub use error::{MinutesError, Result};
pub use prefill::{UnitPresence, issuer_for, minutes_draft, notice_draft};
pub use signed::MAX_SIGNED_BYTES;
pub use tasks::{MAX_TASKS, StatusRow, UnitTask};
pub use types::{
    DocKind, DocMeta, DocState, MinutesRecord, NoticeDoc, NoticeRecord, NoticeTask, TaskId,
    VersionInfo, iso_date,
};

/// Largest stored body (JSON) of one version: the renderers refuse more than
/// `bridge_minutes::MAX_TEXT_BYTES` of text anyway; this leaves room for the JSON around it.
pub const MAX_BODY_BYTES: usize = bridge_minutes::MAX_TEXT_BYTES + 64 * 1024;

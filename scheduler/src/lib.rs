#![forbid(unsafe_code)]
//! Meeting scheduler: administrative units, accounts, meetings, invitations and their
//! iCalendar form. Storage is SQLite (default) or PostgreSQL through `sqlx::Any`.

pub mod account_state;
pub mod accounts;
pub mod attendance;
pub mod authz;
pub mod db;
pub mod documents;
pub mod error;
mod hashing;
pub mod ical;
pub mod ids;
pub mod join;
pub mod mail;
pub mod meetings;
pub mod minutes_store;
mod reach;
pub mod recordings;
pub mod search;
mod sql;
mod timefmt;
pub mod units;

pub use authz::{Principal, Role};
pub use db::{Backend, Db};
pub use error::{Result, SchedError};
pub use ids::{DocumentId, MeetingId, RoomId, UnitCode, UserId};
pub use meetings::{Meeting, MeetingDraft, RecurrenceInput};

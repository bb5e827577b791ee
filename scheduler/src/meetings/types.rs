//! Values the meeting store returns.

use serde::Serialize;
use time::OffsetDateTime;

use super::Meeting;
use crate::ids::{MeetingId, RoomId, UnitCode, UserId};

/// One invited unit and whether it has acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invitation {
    pub unit: UnitCode,
    pub unit_name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<UserId>,
}

/// A meeting with its invitations and concrete occurrences (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingView {
    pub meeting: Meeting,
    pub invitations: Vec<Invitation>,
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Occurrence {
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// An invited unit already booked in another meeting at an overlapping time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingConflict {
    pub unit: UnitCode,
    pub other_meeting: MeetingId,
    pub other_title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// Result of a create or update: saved meeting, invitation count and warnings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveOutcome {
    pub meeting: Meeting,
    pub invited: usize,
    /// Warnings, not errors: the meeting is saved; the secretary decides.
    pub conflicts: Vec<BookingConflict>,
}

/// One occurrence on a unit's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpcomingEntry {
    pub meeting: MeetingId,
    pub title: String,
    pub organizer: UnitCode,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub urgent: bool,
    pub acknowledged: bool,
    /// When the unit acknowledged (the dashboard shows "Đã xác nhận lúc HH:MM").
    #[serde(with = "time::serde::rfc3339::option")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub room: RoomId,
}

/// An urgent session a unit has been called to and has not acknowledged yet, not over:
/// its dashboard shows the banner for it whenever it loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingUrgent {
    pub meeting: MeetingId,
    pub title: String,
    pub organizer: UnitCode,
    pub organizer_name: String,
    pub location: String,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// A unit's acknowledgement of one meeting, as stored on its invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AckRecord {
    pub unit: UnitCode,
    #[serde(with = "time::serde::rfc3339")]
    pub acknowledged_at: OffsetDateTime,
    pub acknowledged_by: Option<UserId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Acknowledged {
    Now,
    Already,
}

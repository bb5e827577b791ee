//! Who may do what, as pure functions over a [`Principal`] and unit paths. The store calls
//! these before writing; the web layer turns `false` into 403.

use serde::{Deserialize, Serialize};

use crate::ids::{UnitCode, UserId};
use crate::units::path_contains;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Manages units and accounts; sees and edits everything.
    Administrator,
    /// Schedules meetings for units within its unit's subtree.
    Secretary,
    /// Chairs meetings; sees its unit's meetings and those it chairs.
    Chair,
    /// The meeting hall's PC of one unit: sees, acknowledges and joins its meetings.
    Site,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Secretary => "secretary",
            Role::Chair => "chair",
            Role::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "administrator" => Role::Administrator,
            "secretary" => Role::Secretary,
            "chair" => Role::Chair,
            "site" => Role::Site,
            _ => return None,
        })
    }
}

/// The authenticated caller: account, role and (except administrators) its unit with path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub unit: Option<UnitCode>,
    /// Materialized path of `unit` ("/25/227/"); empty for administrators without a unit.
    pub unit_path: String,
}

impl Principal {
    fn in_subtree(&self, path: &str) -> bool {
        path_contains(&self.unit_path, path)
    }
}

/// What the rules need to know about one meeting.
#[derive(Debug, Clone, Copy)]
pub struct MeetingFacts<'a> {
    pub organizer_path: &'a str,
    /// The caller's unit is among the invited units.
    pub caller_unit_invited: bool,
    /// The caller is the meeting's chair.
    pub caller_is_chair: bool,
}

/// A unit sees only meetings it organizes or is invited to; a secretary also sees those
/// organized within its subtree (it may have scheduled them); a chair sees what it chairs.
pub fn can_view_meeting(p: &Principal, m: MeetingFacts<'_>) -> bool {
    match p.role {
        Role::Administrator => true,
        Role::Secretary => m.caller_unit_invited || p.in_subtree(m.organizer_path),
        Role::Chair => {
            m.caller_unit_invited || m.caller_is_chair || p.unit_path == m.organizer_path
        }
        Role::Site => m.caller_unit_invited || p.unit_path == m.organizer_path,
    }
}

/// Whether the caller's role schedules meetings at all (for some unit): asked before
/// anything of a request is read, so a hall's PC or a chair is refused whatever it sent.
pub fn can_schedule(p: &Principal) -> bool {
    match p.role {
        Role::Administrator | Role::Secretary => true,
        Role::Chair | Role::Site => false,
    }
}

/// Create, edit or cancel a meeting organized by the unit at `organizer_path`.
pub fn can_manage_meeting(p: &Principal, organizer_path: &str) -> bool {
    match p.role {
        Role::Administrator => true,
        Role::Secretary => p.in_subtree(organizer_path),
        Role::Chair | Role::Site => false,
    }
}

/// Invite the unit at `unit_path`: a secretary only within its subtree.
pub fn can_invite(p: &Principal, unit_path: &str) -> bool {
    match p.role {
        Role::Administrator => true,
        Role::Secretary => p.in_subtree(unit_path),
        Role::Chair | Role::Site => false,
    }
}

/// Acknowledge an invitation on behalf of `unit`: its own site, chair or secretary.
pub fn can_acknowledge(p: &Principal, unit: &UnitCode) -> bool {
    match p.role {
        Role::Administrator => true,
        Role::Secretary | Role::Chair | Role::Site => p.unit.as_ref() == Some(unit),
    }
}

/// Get the join link of `unit` for a meeting: that unit's accounts, or whoever manages
/// the meeting (the secretary hands links out).
pub fn can_get_join_link(p: &Principal, unit: &UnitCode, organizer_path: &str) -> bool {
    p.unit.as_ref() == Some(unit) || can_manage_meeting(p, organizer_path)
}

/// See a unit's dashboard (its upcoming meetings, live alerts): its own accounts, the
/// secretaries above it, administrators.
pub fn can_view_unit(p: &Principal, unit: &UnitCode, unit_path: &str) -> bool {
    match p.role {
        Role::Administrator => true,
        Role::Secretary => p.unit.as_ref() == Some(unit) || p.in_subtree(unit_path),
        Role::Chair | Role::Site => p.unit.as_ref() == Some(unit),
    }
}

/// Import units and manage accounts.
pub fn can_administer(p: &Principal) -> bool {
    p.role == Role::Administrator
}

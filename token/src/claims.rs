//! What a join token says.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a participant may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Leads the session (the province hall, usually).
    Chair,
    /// Speaks and shows video.
    Member,
    /// Watches and listens only: may not publish.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Chair => "chair",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn may_publish(self) -> bool {
        !matches!(self, Role::Viewer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: expected chair, member or viewer")]
pub struct RoleParseError(pub String);

impl FromStr for Role {
    type Err = RoleParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "chair" => Ok(Role::Chair),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            other => Err(RoleParseError(other.to_owned())),
        }
    }
}

/// The claims of a join token (times are seconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub room: String,
    pub name: String,
    pub role: Role,
    /// The unit code (e.g. a commune's code) the holder speaks for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A unique id of this token.
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

/// What the issuer wants to grant; [`crate::TokenKey::mint`] turns it into claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub room: String,
    pub name: String,
    pub role: Role,
    pub unit: Option<String>,
}

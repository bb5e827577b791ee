//! Newtypes for identifiers so a unit code can never be passed where a meeting id is expected.

use serde::{Deserialize, Serialize};

use crate::error::{Result, SchedError};

/// Official statistical code of an administrative unit, kept as a string because the
/// leading zeros are significant ("01" is Hà Nội, "1" is nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitCode(String);

impl UnitCode {
    pub const MAX_LEN: usize = 32;

    /// Accepts ASCII letters, digits, '-' and '_' only: codes end up in room ids, URLs and
    /// materialized paths where '/' is the separator.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(SchedError::invalid(
                "unit code",
                format!("must be 1..={} characters", Self::MAX_LEN),
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SchedError::invalid(
                "unit code",
                format!("{s:?} may contain only letters, digits, '-' and '_'"),
            ));
        }
        Ok(UnitCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The unit's permanent conference room.
    pub fn room(&self) -> RoomId {
        RoomId(format!("u-{}", self.0))
    }

    /// Trusted constructor for values read back from our own database.
    pub(crate) fn from_db(s: String) -> Self {
        UnitCode(s)
    }
}

impl TryFrom<String> for UnitCode {
    type Error = SchedError;
    fn try_from(s: String) -> Result<Self> {
        UnitCode::parse(&s)
    }
}

impl From<UnitCode> for String {
    fn from(c: UnitCode) -> String {
        c.0
    }
}

impl std::fmt::Display for UnitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                $name(uuid::Uuid::new_v4())
            }

            pub fn parse(s: &str) -> Result<Self> {
                uuid::Uuid::parse_str(s)
                    .map($name)
                    .map_err(|_| SchedError::invalid(stringify!($name), format!("{s:?} is not a UUID")))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Identifier of a meeting (a series, when recurring).
    MeetingId
);
uuid_id!(
    /// Identifier of an account.
    UserId
);
uuid_id!(
    /// Identifier of a document attached to a meeting.
    DocumentId
);

/// Conference room name as the SFU and signaling know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomId(pub String);

impl MeetingId {
    /// The conference room of this meeting: every invited hall joins it.
    pub fn room(&self) -> RoomId {
        RoomId(format!("m-{}", self.0))
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

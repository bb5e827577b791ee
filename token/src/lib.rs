//! Signed join tokens.
//!
//! A join token is a JWT signed with HS256 and scoped to one room, one name, one role
//! and optionally one unit. Verification pins the algorithm (a token whose header says
//! `none`, `HS512` or anything else is refused), requires `exp`, and takes the current
//! time as a parameter so the check is deterministic and testable.
//!
//! The secret is 32 random bytes kept in `DATA/secret.key` (mode 0600), created on first
//! use and shared by `bridge serve`, `bridge token` and the scheduler.
#![forbid(unsafe_code)]

mod claims;
mod key;
mod room;

pub use claims::{Claims, Grant, Role, RoleParseError};
pub use key::{DEFAULT_MAX_LIFETIME, SECRET_FILE, TokenKey, lifetime, random_id};
pub use room::{MAX_ROOM_LEN, is_valid_room};

/// Why a token was refused (or could not be made).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no join token was given")]
    Missing,
    #[error("the join token is not valid: {0}")]
    Invalid(String),
    #[error("the join token has expired")]
    Expired,
    #[error("the join token is not valid yet")]
    NotYetValid,
    /// Signed, but admits for longer than this server allows (`exp` minus the later of
    /// `iat` and `nbf`).
    #[error(
        "the join token is valid for {secs} s, longer than this server allows ({max_secs} s); ask for a new link"
    )]
    Lifetime { secs: u64, max_secs: u64 },
    #[error("the join token is for room {token_room:?}, not {expected:?}")]
    WrongRoom {
        expected: String,
        token_room: String,
    },
    #[error("could not sign the token: {0}")]
    Sign(String),
    #[error("secret key file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("secret key file {path} is corrupt: expected {expected} bytes, found {found}")]
    BadKeyFile {
        path: String,
        expected: usize,
        found: usize,
    },
}

impl TokenError {
    /// The stable error code of docs/protocol.md for a refused token.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Missing => "token_missing",
            TokenError::Expired => "token_expired",
            TokenError::WrongRoom { .. } => "wrong_room",
            TokenError::Lifetime { .. } => "token_lifetime",
            TokenError::Invalid(_) | TokenError::NotYetValid => "token_invalid",
            TokenError::Sign(_) | TokenError::Io { .. } | TokenError::BadKeyFile { .. } => {
                "internal"
            }
        }
    }
}

#[cfg(test)]
mod tests;

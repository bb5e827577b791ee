//! Typed errors of the scheduler. The web layer maps each variant to an HTTP status and a
//! bilingual problem-details message, so variants carry data rather than pre-rendered text.

use crate::units::ImportProblem;

/// Result alias used throughout the crate.
pub type Result<T, E = SchedError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The CSV import was refused as a whole; nothing was written.
    #[error("unit import refused: {} problem(s); first: {}", .0.len(), first_problem(.0))]
    Import(Vec<ImportProblem>),
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{what} is too large: {size} bytes, limit {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("unknown unit code(s): {}", .0.join(", "))]
    UnknownUnits(Vec<String>),
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    /// Optimistic concurrency: the caller edited an older version; nothing was changed.
    #[error("version conflict: you edited version {expected}, current is {current}")]
    Conflict { expected: i64, current: i64 },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("authentication failed")]
    Unauthenticated,
    /// The right password of an account an administrator disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// A password change whose current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("username already taken: {0}")]
    UsernameTaken(String),
    #[error("recurrence rule: {0}")]
    Recurrence(String),
    #[error("join token: {0}")]
    Token(String),
    #[error("password hashing failed: {0}")]
    Password(String),
    /// Reading or writing a stored file (documents) failed, e.g. the disk is full.
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
}

fn first_problem(p: &[ImportProblem]) -> String {
    p.first().map(ToString::to_string).unwrap_or_default()
}

impl SchedError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        SchedError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        SchedError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

//! Errors of the domain layer and their mapping to the CLN envelope.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a domain call can end in besides success.
/// Clone: one failed coalesced statement answers every call in its batch (`db::coalesce`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum DomainError {
    /// A business rule said no: HTTP 200, `success:false`, this message.
    #[error("{0}")]
    Refused(String),
    /// The token did not verify (one answer for every cause, contract §1).
    #[error("Authorization failed")]
    Unauthorized,
    /// A uniqueness race was lost; the caller retries and then sees the winner's row.
    #[error("concurrent change, retry")]
    Conflict,
    /// Too many failed authentications from this address or for this login: HTTP 429.
    #[error("too many failed authentication attempts; retry in {0} seconds")]
    Throttled(u64),
    /// Too many server check-ins or key registrations from this source: HTTP 429.
    #[error("too many check-ins or server registrations from this address; retry in {0} seconds")]
    TooManyCheckins(u64),
    /// The database cannot be reached: HTTP 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answers but gave up on this call (lock or statement timeout, SQLite's
    /// busy timeout): HTTP 503; the connection itself is fine.
    #[error("database busy: {0}")]
    Busy(String),
    /// Anything else: HTTP 500, details only in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn refused(message: impl Into<String>) -> Self {
        DomainError::Refused(message.into())
    }
}

impl From<DieselError> for DomainError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DomainError::Conflict
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DomainError::Unavailable(info.message().to_string()),
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_connection_lost(info.message()) =>
            {
                DomainError::Unavailable(info.message().to_string())
            }
            // SQLite could not write its files (a read-only or failing disk): the database
            // is unavailable for writes until the operator mends it; reads may go on.
            DieselError::DatabaseError(_, info) if is_storage_failure(info.message()) => {
                DomainError::Unavailable(info.message().to_string())
            }
            // SQLite gave up waiting for the write lock (busy timeout), or Postgres cancelled
            // the statement at lock_timeout / statement_timeout: overload, retry later.
            DieselError::DatabaseError(_, info) if is_busy(info.message()) => {
                DomainError::Busy(info.message().to_string())
            }
            // Postgres refuses NUL in text (SQLite stores it). Inputs are checked where they
            // come in (`domain::refuse_nul`); this is the net under any text that is not, so a
            // NUL is the caller's mistake on every path, never a 500.
            DieselError::DatabaseError(_, info) if is_nul_in_text(info.message()) => {
                DomainError::Refused(NUL_REFUSAL.to_string())
            }
            _ => DomainError::Internal(e.to_string()),
        }
    }
}

pub const NUL_REFUSAL: &str = "text must not contain NUL (\\0) characters";

fn is_nul_in_text(message: &str) -> bool {
    message.contains("invalid byte sequence") && message.contains("0x00")
}

/// SQLite could not write its files.
const STORAGE_FAILURE: &[&str] = &[
    "disk I/O error",
    "attempt to write a readonly database",
    "unable to open database file",
    "database or disk is full",
];

/// A lock or statement gave up waiting.
const BUSY: &[&str] = &[
    "database is locked",
    "canceling statement due to lock timeout",
    "canceling statement due to statement timeout",
    "could not obtain lock",
];

/// libpq reports a dropped server as an "unknown" error with one of these texts.
const CONNECTION_LOST: &[&str] = &[
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "connection to server",
];

fn says_any(message: &str, signs: &[&str]) -> bool {
    signs.iter().any(|s| message.contains(s))
}

fn is_storage_failure(message: &str) -> bool {
    says_any(message, STORAGE_FAILURE)
}

fn is_busy(message: &str) -> bool {
    says_any(message, BUSY)
}

fn is_connection_lost(message: &str) -> bool {
    says_any(message, CONNECTION_LOST)
}

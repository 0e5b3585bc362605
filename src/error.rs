//! What a domain call can end in besides success, one meaning per variant, and the one
//! table that says how each reaches each face (docs/api.md, "Errors on every face"). No
//! variant carries an HTTP idea: the faces translate, each in one place, from `FACES`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a domain call can end in besides success.
/// Clone: one failed coalesced statement answers every call in its batch (`db::coalesce`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request itself is wrong (a malformed or out-of-range value): the caller must change
    /// it. Faces parse what they can first; this is what the domain's own checks find.
    #[error("{0}")]
    Invalid(String),
    /// A rule said no to this request in the current state (the account is blocked, the type
    /// is not enabled, a limit is reached, the IP is held by another reseller, ...).
    #[error("{0}")]
    Refused(String),
    /// What the request names does not exist, or not for this caller.
    #[error("{0}")]
    NotFound(String),
    /// It collides with what exists: a name already taken, or a concurrent change that
    /// retrying did not resolve. Trying again may succeed or show the winner.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answers but gave up on this call (lock or statement timeout, SQLite's
    /// busy timeout); the connection itself is fine.
    #[error("database busy: {0}")]
    Busy(String),
    /// The upstream a license type is carried to (`domain::upstream`) was down, slow past its
    /// bound or answered something that is not an answer: nothing changed, try again. The text
    /// says which and is the caller's to read (it names no address or secret).
    #[error("{0}")]
    UpstreamUnavailable(String),
    /// Anything else; details only in the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(message: impl Into<String>) -> Self {
        DomainError::Invalid(message.into())
    }

    pub fn refused(message: impl Into<String>) -> Self {
        DomainError::Refused(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        DomainError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        DomainError::Conflict(message.into())
    }

    /// A row was not as it was read, or a unique index refused a concurrent insert.
    pub fn upstream_unavailable(why: impl std::fmt::Display) -> Self {
        DomainError::UpstreamUnavailable(format!("Upstream unavailable, try again ({why})"))
    }

    pub fn raced() -> Self {
        DomainError::Conflict(RACED.to_string())
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::Invalid(_) => ErrorKind::Invalid,
            DomainError::Refused(_) => ErrorKind::Refused,
            DomainError::NotFound(_) => ErrorKind::NotFound,
            DomainError::Conflict(_) => ErrorKind::Conflict,
            DomainError::Unavailable(_) => ErrorKind::Unavailable,
            DomainError::Busy(_) => ErrorKind::Busy,
            DomainError::UpstreamUnavailable(_) => ErrorKind::UpstreamUnavailable,
            DomainError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The text a caller may see: the message for the kinds that are the caller's to read,
    /// a fixed sentence for the others (their details go to the log).
    pub fn public_message(&self) -> &str {
        match self {
            DomainError::Invalid(m)
            | DomainError::Refused(m)
            | DomainError::NotFound(m)
            | DomainError::Conflict(m)
            | DomainError::UpstreamUnavailable(m) => m,
            DomainError::Unavailable(_) => "Database unavailable, please retry later",
            DomainError::Busy(_) => "Database busy, please retry later",
            DomainError::Internal(_) => "Unexpected server error",
        }
    }
}

/// The message of a concurrent change that retrying did not resolve.
pub const RACED: &str = "The record changed concurrently; please retry";

/// Every kind of failure a face answers: the domain's, and the two that authentication adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Refused,
    NotFound,
    Conflict,
    Unavailable,
    Busy,
    /// The upstream of a routed license type did not give a usable answer in time.
    UpstreamUnavailable,
    Internal,
    /// The credentials did not verify (`auth`).
    Unauthorized,
    /// Too many failed authentications, check-ins or key registrations from this source
    /// (`auth`); the answer says when to retry.
    Throttled,
}

/// How the CLN faces answer: REST (`/api/...`, in the envelope) with an HTTP status, and
/// XML-RPC with a business answer of `-1` or a fault code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmlRpcAnswer {
    /// The method's result is `-1` (a business refusal, not a fault).
    MinusOne,
    Fault(i32),
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct FaceAnswers {
    pub kind: ErrorKind,
    /// The name the docs and the admin API's problem type use.
    pub name: &'static str,
    /// HTTP status of the CLN REST answer (its envelope says `success:false`).
    pub cln_status: u16,
    pub xmlrpc: XmlRpcAnswer,
    /// HTTP status of the admin API's problem details.
    pub admin_status: u16,
    /// HTTP status of the console's page (its notice says what happened).
    pub console_status: u16,
    /// Exit status of an `ipls` command.
    pub cli_exit: u8,
}

/// The one table: each kind of failure, as each face answers it. docs/api.md prints it and
/// a test compares the two.
pub const FACES: [FaceAnswers; 10] = [
    row(
        ErrorKind::Invalid,
        "invalid",
        200,
        XmlRpcAnswer::Fault(30),
        400,
        400,
        2,
    ),
    row(
        ErrorKind::Refused,
        "refused",
        200,
        XmlRpcAnswer::MinusOne,
        409,
        409,
        1,
    ),
    row(
        ErrorKind::NotFound,
        "not-found",
        200,
        XmlRpcAnswer::MinusOne,
        404,
        404,
        1,
    ),
    row(
        ErrorKind::Conflict,
        "conflict",
        200,
        XmlRpcAnswer::MinusOne,
        409,
        409,
        1,
    ),
    row(
        ErrorKind::Unavailable,
        "unavailable",
        503,
        XmlRpcAnswer::Fault(1),
        503,
        503,
        1,
    ),
    row(
        ErrorKind::Busy,
        "busy",
        503,
        XmlRpcAnswer::Fault(1),
        503,
        503,
        1,
    ),
    row(
        ErrorKind::UpstreamUnavailable,
        "upstream-unavailable",
        503,
        XmlRpcAnswer::Fault(1),
        503,
        503,
        1,
    ),
    row(
        ErrorKind::Internal,
        "internal",
        500,
        XmlRpcAnswer::Fault(1),
        500,
        500,
        1,
    ),
    row(
        ErrorKind::Unauthorized,
        "unauthorized",
        200,
        XmlRpcAnswer::Fault(10),
        401,
        401,
        1,
    ),
    row(
        ErrorKind::Throttled,
        "throttled",
        429,
        XmlRpcAnswer::Fault(10),
        429,
        429,
        1,
    ),
];

const fn row(
    kind: ErrorKind,
    name: &'static str,
    cln_status: u16,
    xmlrpc: XmlRpcAnswer,
    admin_status: u16,
    console_status: u16,
    cli_exit: u8,
) -> FaceAnswers {
    FaceAnswers {
        kind,
        name,
        cln_status,
        xmlrpc,
        admin_status,
        console_status,
        cli_exit,
    }
}

impl ErrorKind {
    /// This kind's row of `FACES`.
    pub fn answers(self) -> &'static FaceAnswers {
        // Every kind has a row (`every_kind_has_its_own_row`); the internal row is only the
        // type checker's fallback.
        FACES
            .iter()
            .find(|row| row.kind == self)
            .unwrap_or(&FACES[7])
    }
}

impl From<DieselError> for DomainError {
    fn from(e: DieselError) -> Self {
        match &e {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DomainError::raced()
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DomainError::Unavailable(info.message().to_string()),
            // A write reached a server that takes none: a standby, or a primary demoted by a
            // failover. The connection is dropped (`db::run` marks it lost) and the caller
            // gets a 503 to try again; the next connection finds the new primary
            // (`target_session_attrs=read-write`, docs/scaling.md "High availability").
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                DomainError::Unavailable(format!(
                    "the database server takes no writes (a standby): {}",
                    info.message()
                ))
            }
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
                DomainError::Invalid(NUL_REFUSAL.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_row() {
        let kinds = [
            ErrorKind::Invalid,
            ErrorKind::Refused,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Unavailable,
            ErrorKind::Busy,
            ErrorKind::UpstreamUnavailable,
            ErrorKind::Internal,
            ErrorKind::Unauthorized,
            ErrorKind::Throttled,
        ];
        assert_eq!(kinds.len(), FACES.len());
        for kind in kinds {
            assert_eq!(kind.answers().kind, kind);
        }
    }

    #[test]
    fn internal_details_never_reach_the_caller() {
        let e = DomainError::Internal("secret detail".into());
        assert_eq!(e.public_message(), "Unexpected server error");
        assert_eq!(DomainError::refused("no").public_message(), "no");
    }
}

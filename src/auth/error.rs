//! How an authentication can fail. Besides the domain's own errors (a database that does not
//! answer, an allowlist that refuses), two are authentication's alone: credentials that do
//! not verify, and a source or login that spent its budget. Faces map them through the same
//! table as the domain's (`error::FACES`).

use crate::error::{DomainError, ErrorKind};
use crate::problem::{Kind, ProblemError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The credentials did not verify: one answer for every cause (contract §1).
    #[error("Authorization failed")]
    Unauthorized,
    /// Too many failed authentications from this source or for this login.
    #[error("too many failed authentication attempts; retry in {0} seconds")]
    TooManyFailures(u64),
    /// Too many server check-ins or key registrations from this source.
    #[error("too many check-ins or server registrations from this address; retry in {0} seconds")]
    TooManyCheckins(u64),
    /// A domain rule or the database.
    #[error(transparent)]
    Failed(#[from] DomainError),
}

impl AuthError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::Unauthorized => ErrorKind::Unauthorized,
            AuthError::TooManyFailures(_) | AuthError::TooManyCheckins(_) => ErrorKind::Throttled,
            AuthError::Failed(e) => e.kind(),
        }
    }

    /// Seconds the caller should wait before trying again (`Retry-After`), when throttled.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::TooManyFailures(s) | AuthError::TooManyCheckins(s) => Some(*s),
            _ => None,
        }
    }

    /// The text a caller may see (a domain error's internal details never).
    pub fn public_message(&self) -> String {
        match self {
            AuthError::Failed(e) => e.public_message().to_string(),
            other => other.to_string(),
        }
    }
}

/// The admin API's answer to a failed authentication: problem details, with `Retry-After`
/// when throttled.
impl From<AuthError> for ProblemError {
    fn from(e: AuthError) -> Self {
        if let AuthError::Failed(DomainError::Internal(detail)) = &e {
            log::error!("admin API authentication: {detail}");
        }
        ProblemError {
            kind: Kind::of(e.kind()),
            detail: e.public_message(),
            retry_after: e.retry_after(),
        }
    }
}

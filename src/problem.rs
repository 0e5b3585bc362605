//! RFC 9457 problem details (`application/problem+json`), the admin API's error form: one
//! stable `type` per kind of error, so that a client branches on it, not on the text. The
//! statuses of the kinds the domain and authentication produce come from the one table,
//! `error::FACES`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{DomainError, ErrorKind};

/// The kinds of error the admin API answers, each with its status and stable type URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unauthorized,
    ReadOnlyToken,
    Throttled,
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    Invalid,
    Refused,
    Conflict,
    IdempotencyMismatch,
    Unavailable,
    UpstreamUnavailable,
    Internal,
}

impl Kind {
    /// The problem kind of a domain or authentication failure.
    pub fn of(kind: ErrorKind) -> Kind {
        match kind {
            ErrorKind::Invalid => Kind::Invalid,
            ErrorKind::Refused => Kind::Refused,
            ErrorKind::NotFound => Kind::NotFound,
            ErrorKind::Conflict => Kind::Conflict,
            ErrorKind::Unavailable | ErrorKind::Busy => Kind::Unavailable,
            ErrorKind::UpstreamUnavailable => Kind::UpstreamUnavailable,
            ErrorKind::Internal => Kind::Internal,
            ErrorKind::Unauthorized => Kind::Unauthorized,
            ErrorKind::Throttled => Kind::Throttled,
        }
    }

    pub fn status(self) -> StatusCode {
        let table = |kind: ErrorKind| kind.answers().admin_status;
        let code = match self {
            Kind::Unauthorized => table(ErrorKind::Unauthorized),
            Kind::Throttled => table(ErrorKind::Throttled),
            Kind::NotFound => table(ErrorKind::NotFound),
            Kind::Invalid => table(ErrorKind::Invalid),
            Kind::Refused => table(ErrorKind::Refused),
            Kind::Conflict => table(ErrorKind::Conflict),
            Kind::Unavailable => table(ErrorKind::Unavailable),
            Kind::UpstreamUnavailable => table(ErrorKind::UpstreamUnavailable),
            Kind::Internal => table(ErrorKind::Internal),
            Kind::ReadOnlyToken => 403,
            Kind::MethodNotAllowed => 405,
            Kind::UnsupportedMediaType => 415,
            // The key is bound to its first request: another request with it conflicts with
            // that state (409, like a key whose first request is still in progress).
            Kind::IdempotencyMismatch => 409,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The stable `type` URI.
    pub fn uri(self) -> &'static str {
        match self {
            Kind::Unauthorized => "urn:ipls:problem:unauthorized",
            Kind::ReadOnlyToken => "urn:ipls:problem:read-only-token",
            Kind::Throttled => "urn:ipls:problem:throttled",
            Kind::NotFound => "urn:ipls:problem:not-found",
            Kind::MethodNotAllowed => "urn:ipls:problem:method-not-allowed",
            Kind::UnsupportedMediaType => "urn:ipls:problem:unsupported-media-type",
            Kind::Invalid => "urn:ipls:problem:invalid-request",
            Kind::Refused => "urn:ipls:problem:refused",
            Kind::Conflict => "urn:ipls:problem:conflict",
            Kind::IdempotencyMismatch => "urn:ipls:problem:idempotency-key-reused",
            Kind::Unavailable => "urn:ipls:problem:unavailable",
            Kind::UpstreamUnavailable => "urn:ipls:problem:upstream-unavailable",
            Kind::Internal => "urn:ipls:problem:internal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Unauthorized => "Missing, unknown or revoked token",
            Kind::ReadOnlyToken => "This token may only read",
            Kind::Throttled => "Too many failed authentications",
            Kind::NotFound => "No such resource",
            Kind::MethodNotAllowed => "Method not allowed",
            Kind::UnsupportedMediaType => "The body must be JSON",
            Kind::Invalid => "The request is not valid",
            Kind::Refused => "A rule refused the change in the current state",
            Kind::Conflict => "It collides with what exists or with a concurrent change",
            Kind::IdempotencyMismatch => "Idempotency-Key reused for another request",
            Kind::Unavailable => "The database is unavailable",
            Kind::UpstreamUnavailable => "The upstream did not answer usably; nothing changed",
            Kind::Internal => "Internal error",
        }
    }
}

/// The body of a problem answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of error, e.g. `urn:ipls:problem:refused`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
}

pub fn response(kind: Kind, detail: impl Into<String>) -> HttpResponse {
    let status = kind.status();
    let body = Problem {
        kind: kind.uri().to_string(),
        title: kind.title().to_string(),
        status: status.as_u16(),
        detail: detail.into(),
    };
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(body)
}

/// A failure the admin API answers as problem details: its kind, what went wrong, and for a
/// throttled caller when to retry (`Retry-After`).
#[derive(Debug)]
pub struct ProblemError {
    pub kind: Kind,
    pub detail: String,
    pub retry_after: Option<u64>,
}

impl ProblemError {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, detail)
    }
}

impl std::fmt::Display for ProblemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<DomainError> for ProblemError {
    fn from(e: DomainError) -> Self {
        if let DomainError::Internal(detail) = &e {
            log::error!("admin API: {detail}");
        }
        Self::new(Kind::of(e.kind()), e.public_message())
    }
}

impl ResponseError for ProblemError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut answer = response(self.kind, self.detail.clone());
        if self.kind == Kind::Unauthorized {
            answer.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"ipls admin\""),
            );
        }
        if let Some(value) = self
            .retry_after
            .and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok())
        {
            answer.headers_mut().insert(header::RETRY_AFTER, value);
        }
        answer
    }
}

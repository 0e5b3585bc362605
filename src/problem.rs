//! RFC 9457 problem details (`application/problem+json`), the admin API's error form: one
//! stable `type` per kind of error, so that a client branches on it, not on the text.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

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
    IdempotencyMismatch,
    Unavailable,
    Internal,
}

impl Kind {
    pub fn status(self) -> StatusCode {
        match self {
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::ReadOnlyToken => StatusCode::FORBIDDEN,
            Kind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Invalid => StatusCode::BAD_REQUEST,
            Kind::Refused | Kind::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
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
            Kind::IdempotencyMismatch => "urn:ipls:problem:idempotency-key-reused",
            Kind::Unavailable => "urn:ipls:problem:unavailable",
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
            Kind::Refused => "A rule refused the change",
            Kind::IdempotencyMismatch => "Idempotency-Key reused for another request",
            Kind::Unavailable => "The database is unavailable",
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

//! How failures reach a CLN REST client: always inside the envelope, never an HTML page,
//! never an internal detail; the HTTP status comes from the one table, `error::FACES`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use super::envelope;
use crate::auth::AuthError;
use crate::error::DomainError;

pub const AUTH_FAILED: &str = "Authorization failed";

/// A domain or authentication failure, answered in the envelope.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub AuthError);

impl ApiError {
    /// The call's own input is wrong (a parameter the face could not read).
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError(DomainError::Invalid(message.into()).into())
    }

    pub fn refused(message: impl Into<String>) -> Self {
        ApiError(DomainError::Refused(message.into()).into())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError(e.into())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError(e)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.kind().answers().cln_status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.0 {
            AuthError::Failed(DomainError::Unavailable(detail)) => {
                log::warn!("database unavailable: {detail}")
            }
            AuthError::Failed(DomainError::Busy(detail)) => log::warn!("database busy: {detail}"),
            AuthError::Failed(DomainError::Internal(detail)) => {
                log::error!("internal error: {detail}")
            }
            _ => {}
        }
        let message = match &self.0 {
            AuthError::Unauthorized => AUTH_FAILED.to_string(),
            other => other.public_message(),
        };
        let mut response = envelope::failure(self.status_code(), &message);
        if let Some(value) = self
            .0
            .retry_after()
            .and_then(|s| header::HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult = Result<HttpResponse, ApiError>;

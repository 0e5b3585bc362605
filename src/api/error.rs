//! How domain errors reach the client: always inside the envelope, never an HTML page,
//! never an internal detail.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use super::envelope;
use crate::error::DomainError;

pub const AUTH_FAILED: &str = "Authorization failed";

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] pub DomainError);

impl ApiError {
    pub fn refused(message: impl Into<String>) -> Self {
        ApiError(DomainError::Refused(message.into()))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            DomainError::Refused(_) | DomainError::Unauthorized | DomainError::Conflict => {
                StatusCode::OK
            }
            DomainError::Throttled(_) | DomainError::TooManyCheckins(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            DomainError::Unavailable(_) | DomainError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let DomainError::Throttled(seconds) | DomainError::TooManyCheckins(seconds) = &self.0 {
            let mut response = envelope::failure(self.status_code(), &self.0.to_string());
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string())
            {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
            return response;
        }
        let message = match &self.0 {
            DomainError::Refused(message) => message.as_str(),
            DomainError::Unauthorized => AUTH_FAILED,
            DomainError::Conflict => "The license changed concurrently; please retry",
            DomainError::Throttled(_) | DomainError::TooManyCheckins(_) => "Too many requests",
            DomainError::Unavailable(detail) => {
                log::warn!("database unavailable: {detail}");
                "Database unavailable, please retry later"
            }
            DomainError::Busy(detail) => {
                log::warn!("database busy: {detail}");
                "Database busy, please retry later"
            }
            DomainError::Internal(detail) => {
                log::error!("internal error: {detail}");
                "Unexpected server error"
            }
        };
        envelope::failure(self.status_code(), message)
    }
}

pub type ApiResult = Result<HttpResponse, ApiError>;

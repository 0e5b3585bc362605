//! How the admin API answers a failure: problem details with a stable type (src/problem.rs),
//! mapped once from the domain's errors.

use actix_web::{HttpResponse, ResponseError};

use crate::auth::admin::AdminRefused;
use crate::error::DomainError;
use crate::problem::{self, Kind};

#[derive(Debug)]
pub struct AdminError(pub Kind, pub String);

pub type AdminResult = Result<HttpResponse, AdminError>;

impl AdminError {
    pub fn invalid(detail: impl Into<String>) -> Self {
        AdminError(Kind::Invalid, detail.into())
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        AdminError(Kind::NotFound, detail.into())
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl From<DomainError> for AdminError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Refused(message) => AdminError(Kind::Refused, message),
            DomainError::Unauthorized => AdminError(Kind::Unauthorized, e.to_string()),
            DomainError::Throttled(_) | DomainError::TooManyCheckins(_) => {
                AdminError(Kind::Throttled, e.to_string())
            }
            DomainError::Unavailable(_) | DomainError::Busy(_) | DomainError::Conflict => {
                AdminError(Kind::Unavailable, e.to_string())
            }
            DomainError::Internal(detail) => {
                log::error!("admin API: {detail}");
                AdminError(Kind::Internal, "internal error; it has been logged".into())
            }
        }
    }
}

impl From<AdminRefused> for AdminError {
    fn from(e: AdminRefused) -> Self {
        AdminError(e.0, e.1)
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        problem::response(self.0, self.1.clone())
    }
}

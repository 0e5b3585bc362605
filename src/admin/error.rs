//! How the admin API answers a failure: problem details (`problem::ProblemError`), whose
//! statuses for domain and authentication failures come from `error::FACES`.

use actix_web::HttpResponse;

pub use crate::problem::ProblemError as AdminError;

pub type AdminResult = Result<HttpResponse, AdminError>;

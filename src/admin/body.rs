//! Reading a JSON request body: an object (serde would also take an array for a struct),
//! sent as `application/json`.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use super::error::AdminError;
use crate::problem::Kind;

pub fn object<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, AdminError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(AdminError::new(
            Kind::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AdminError::invalid(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(AdminError::invalid("the body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map_err(|e| AdminError::invalid(format!("the body is not valid: {e}")))
}

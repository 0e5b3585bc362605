//! What the key endpoints of both products share: their parameters, the registration call
//! servers make without a token, and the rows and answers they send (keys.md).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use super::call::Call;
use super::envelope::{respond, success};
use super::error::{ApiError, ApiResult};
use crate::auth::AuthError;
use crate::db;
use crate::db::models::KeyServer;
use crate::domain::keys::registration::{self, Registration};
use crate::domain::keys::Product;
use crate::state::AppState;
use crate::wire::format_date;

/// `limit`: a whole number from 0 (unlimited) up; `default` when absent or empty.
pub fn limit_param(call: &Call, default: Option<i32>) -> Result<Option<i32>, ApiError> {
    match call.non_empty("limit") {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid limit: {} (expected a whole number, 0 for unlimited)",
                    crate::wire::shorten(text)
                ))
            }),
    }
}

/// A required parameter.
pub fn required<'a>(call: &'a Call, name: &str) -> Result<&'a str, ApiError> {
    call.non_empty(name)
        .ok_or_else(|| ApiError::invalid(format!("Parameter {name} is required")))
}

/// `success:true` with a message and `data:null`: how CLN answers "nothing to remove".
pub fn nothing(message: &str) -> HttpResponse {
    respond(StatusCode::OK, true, Some(message), ())
}

#[derive(Serialize)]
struct RegisterData {
    server_id: Option<String>,
    code: i32,
}

/// `kcare/register_server.json`, `im/register_server.json`: no token (the key is the
/// credential), rate-limited per source with check-ins; `success:true` whatever the code.
pub async fn register_server(state: &AppState, call: Call, product: Product) -> ApiResult {
    let address = admit(state, &call)?;
    let key = call.get("key").unwrap_or("").to_string();
    let hostname = call.get("hostname").map(str::to_string);
    let now = state.clock.now().naive_utc();
    let outcome = db::run(&state.pool, move |c| {
        registration::register(c, product, &key, address, hostname.as_deref(), now)
    })
    .await?;
    Ok(match outcome {
        Registration::Registered(server) => success(RegisterData {
            server_id: Some(server.server_id),
            code: 0,
        }),
        Registration::Refused { code, message } => respond(
            StatusCode::OK,
            true,
            Some(&message),
            RegisterData {
                server_id: None,
                code,
            },
        ),
    })
}

/// The caller's address, once it is within its per-source budget.
pub fn admit(state: &AppState, call: &Call) -> Result<std::net::IpAddr, ApiError> {
    let address = call
        .source
        .ok_or_else(|| ApiError::invalid("Cannot tell the caller's address"))?;
    state
        .auth
        .checkin_limit
        .admit(address, state.clock.now().naive_utc())
        .map_err(|wait| ApiError(AuthError::TooManyCheckins(wait)))?;
    Ok(address)
}

/// CLN's date, or null.
pub fn optional_date(at: Option<chrono::NaiveDateTime>) -> Option<String> {
    at.map(format_date)
}

/// A KernelCare `key/servers.json` row.
#[derive(Serialize)]
pub struct KernelCareServerRow {
    server_id: String,
    ip: String,
    created: String,
    last_checkin: Option<String>,
}

impl From<&KeyServer> for KernelCareServerRow {
    fn from(s: &KeyServer) -> Self {
        Self {
            server_id: s.server_id.clone(),
            ip: s.ip.clone(),
            created: format_date(s.created_at),
            last_checkin: optional_date(s.last_checkin),
        }
    }
}

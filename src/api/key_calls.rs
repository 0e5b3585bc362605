//! What the key endpoints of both products share: their parameters, the registration call
//! servers make without a token, and the rows and answers they send (keys.md).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use super::call::Call;
use super::envelope::{respond, success};
use super::error::{ApiError, ApiResult};
use super::params::{cln_params, FreeText};
use crate::auth::AuthError;
use crate::db;
use crate::db::models::KeyServer;
use crate::domain::keys::registration::{self, Registration};
use crate::domain::keys::Product;
use crate::state::AppState;
use crate::wire::format_date;

cln_params!(
    /// A call that names one of the caller's keys.
    KeyParams {
        key: FreeText = "key",
    }
);

cln_params!(
    /// A server registering itself with a key (no token).
    RegisterServerParams {
        /// The activation key (an unknown or missing one is code 2).
        key: Option<FreeText> = "key",
        hostname: Option<FreeText> = "hostname",
    }
);

/// `success:true` with a message and `data:null`: how CLN answers "nothing to remove".
pub fn nothing(message: &str) -> HttpResponse {
    respond(StatusCode::OK, true, Some(message), ())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisterServerData {
    /// The new server's id; null when refused.
    server_id: Option<String>,
    /// 0 ok, 1 account locked, 2 unknown key, 3 key limit reached, 4 address not in the
    /// key's ranges (ours).
    code: i32,
}

/// `kcare/register_server.json`, `im/register_server.json`: no token (the key is the
/// credential), rate-limited per source with check-ins; `success:true` whatever the code.
pub async fn register_server(state: &AppState, call: Call, product: Product) -> ApiResult {
    let address = admit(state, &call)?;
    let p: RegisterServerParams = call.params()?;
    let key = p.key.map(|k| k.0).unwrap_or_default();
    let hostname = p.hostname.map(|h| h.0);
    let now = state.clock.now().naive_utc();
    let outcome = db::run(&state.pool, move |c| {
        registration::register(c, product, &key, address, hostname.as_deref(), now)
    })
    .await?;
    Ok(match outcome {
        Registration::Registered(server) => success(RegisterServerData {
            server_id: Some(server.server_id),
            code: 0,
        }),
        Registration::Refused { code, message } => respond(
            StatusCode::OK,
            true,
            Some(&message),
            RegisterServerData {
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
#[derive(Serialize, utoipa::ToSchema)]
pub struct KernelCareServerRow {
    server_id: String,
    ip: String,
    created: String,
    last_checkin: Option<String>,
    /// Ours: the key's sticky tag, which the server follows, or null.
    sticky_tag: Option<String>,
}

impl KernelCareServerRow {
    pub fn new(s: &KeyServer, sticky_tag: Option<chrono::NaiveDate>) -> Self {
        Self {
            server_id: s.server_id.clone(),
            ip: s.ip.clone(),
            created: format_date(s.created_at),
            last_checkin: optional_date(s.last_checkin),
            sticky_tag: sticky_tag.map(|d| d.to_string()),
        }
    }
}

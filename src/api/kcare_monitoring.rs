//! KernelCare monitoring (keys.md): the Nagios text for a key or for all of a reseller's
//! KernelCare servers, under `/api/kcare/` and `/clweb/api/kcare/` (Datadog's check uses
//! the latter), and `patchset.json` for the `kcare-qualys` exporter. No token: the key, or
//! the reseller's read-only monitoring token, is the credential; rate-limited per source
//! like check-ins. Errors are plain text at the start of a 200 body, as the Datadog check
//! reads them.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};

use super::call::Call;
use super::error::ApiError;
use super::key_calls;
use crate::db;
use crate::domain::keys::monitoring::{self, nagios_text};
use crate::domain::keys::monitoring_tokens::{self, TokenRefusal};
use crate::state::AppState;

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(body)
}

/// `GET /api/kcare/nagios/{key}`.
pub async fn by_key(
    state: web::Data<AppState>,
    call: Call,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    key_calls::admit(&state, &call)?;
    let key = key.into_inner();
    let now = state.clock.now().naive_utc();
    let lookup = key.clone();
    let found = db::run(&state.pool, move |c| monitoring::key_servers(c, &lookup)).await?;
    Ok(text(match found {
        Some((servers, sticky)) if !servers.is_empty() => nagios_text(&servers, sticky, now),
        _ => format!("Servers not found for key {}\n", crate::wire::cut(&key, 64)),
    }))
}

/// `GET /api/kcare/nagios-res/{login}/{token}`.
pub async fn by_reseller(
    state: web::Data<AppState>,
    call: Call,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    key_calls::admit(&state, &call)?;
    let (login, token) = path.into_inner();
    let now = state.clock.now().naive_utc();
    let shown = crate::wire::cut(&login, 64);
    let found = db::run(&state.pool, move |c| {
        match monitoring_tokens::verify(c, &login, &token)? {
            Ok(reseller) => monitoring::reseller_servers(c, reseller.id).map(Ok),
            Err(refusal) => Ok(Err(refusal)),
        }
    })
    .await?;
    Ok(text(match found {
        Ok(servers) => nagios_text(&servers, None, now),
        Err(TokenRefusal::ResellerNotFound) => "Reseller not found\n".to_string(),
        Err(TokenRefusal::TokenNotFound) => {
            format!("Registration token not found for reseller {shown}\n")
        }
    }))
}

/// `GET /api/kcare/patchset.json?key=K`: a bare JSON array (no envelope) of the key's
/// servers that reported a kernel; `[]` for an unknown key.
pub async fn patchset(state: web::Data<AppState>, call: Call) -> Result<HttpResponse, ApiError> {
    key_calls::admit(&state, &call)?;
    let key = call.get("key").unwrap_or_default().to_string();
    let found = db::run(&state.pool, move |c| monitoring::key_servers(c, &key)).await?;
    let rows = found.map(|(servers, _)| monitoring::patchset(&servers));
    Ok(HttpResponse::Ok().json(rows.unwrap_or_default()))
}

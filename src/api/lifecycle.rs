//! Beyond CLN (contract §6): server check-in and the caller's usage report.

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use crate::auth::{AuthError, Authenticated};
use crate::db;
use crate::domain::checkin::check_in;
use crate::domain::ip::LicenseIp;
use crate::domain::keys::servers as key_servers;
use crate::domain::month::Month;
use crate::domain::prices::format_cents;
use crate::domain::usage;
use crate::state::AppState;

#[derive(Serialize)]
struct CheckinData {
    ip: String,
    types: Vec<i32>,
}

/// `GET|POST /api/server/checkin.json[?server_info=TEXT]`, no token: the server is known
/// by the address it connects from; with `server_id=S`, a key server by its id.
/// Rate-limited per source (`IPLS_CHECKIN_PER_MINUTE`).
pub async fn checkin(state: web::Data<AppState>, call: Call) -> ApiResult {
    let address = call
        .source
        .ok_or_else(|| ApiError::invalid("Cannot tell the caller's address"))?;
    let now = state.clock.now().naive_utc();
    state
        .auth
        .checkin_limit
        .admit(address, now)
        .map_err(|wait| ApiError(AuthError::TooManyCheckins(wait)))?;
    let ip = LicenseIp::from_addr(address);
    if let Some(server_id) = call.non_empty("server_id") {
        return key_server_checkin(&state, ip, server_id.to_string(), now).await;
    }
    let info = call.get("server_info").map(str::to_string);
    let types = db::run(&state.pool, move |c| check_in(c, &ip, info.as_deref(), now)).await?;
    Ok(success(CheckinData {
        ip: ip.to_string(),
        types,
    }))
}

#[derive(Serialize)]
struct KeyCheckinData {
    ip: String,
    types: Vec<i32>,
    server_id: String,
}

/// A key server's check-in (keys.md): known by its server id, not by its address.
async fn key_server_checkin(
    state: &AppState,
    ip: LicenseIp,
    server_id: String,
    now: chrono::NaiveDateTime,
) -> ApiResult {
    let found = db::run(&state.pool, move |c| {
        key_servers::check_in(c, &server_id, now)
    })
    .await?
    .ok_or_else(|| ApiError::from(crate::error::DomainError::not_found("Server not found")))?;
    let (server, type_id) = found;
    Ok(success(KeyCheckinData {
        ip: ip.to_string(),
        types: vec![type_id],
        server_id: server.server_id,
    }))
}

#[derive(Serialize)]
struct UsageRow {
    #[serde(rename = "type")]
    type_id: i32,
    license_days: i64,
    peak: i64,
    /// Prorated amount as a decimal string, null when the type has no price.
    amount: Option<String>,
}

#[derive(Serialize)]
struct UsageData {
    month: String,
    usage: Vec<UsageRow>,
}

/// `/api/usage.json?month=YYYY-MM` (default: the current month), for the caller.
pub async fn usage(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let today = state.clock.now().date_naive();
    let month = match call.non_empty("month") {
        None => Month::containing(today),
        Some(text) => Month::parse(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid month: {} (expected YYYY-MM)",
                crate::wire::shorten(text)
            ))
        })?,
    };
    let lines = db::run(&state.pool, move |c| {
        usage::report(c, Some(reseller.id), &month, today)
    })
    .await?;
    Ok(success(UsageData {
        month: month.to_string(),
        usage: lines
            .into_iter()
            .map(|line| UsageRow {
                type_id: line.usage.type_id,
                license_days: line.usage.license_days,
                peak: line.usage.peak,
                amount: line.amount_cents.map(format_cents),
            })
            .collect(),
    }))
}

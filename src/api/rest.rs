//! `/api/ipl/*.json`: the CLN IP-license endpoints (contract §3).

use actix_web::web;
use serde::Serialize;

use super::call::{parse_ip, Call};
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::list_stream::stream_licenses;
use super::mutation::run_as;
use super::views::{RegisteredLicense, ServerRow, JSON_LIST};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::ip::LicenseIp;
use crate::domain::licenses::{self, Registration};
use crate::domain::{queries, Actor, Policy};
use crate::error::DomainError;
use crate::state::AppState;

/// server.json answers for at most this many IPs per call.
pub const MAX_SERVER_IPS: usize = 100;

/// Runs a mutation as the authenticated reseller, recording the caller's address.
async fn mutate<T, F>(
    state: &AppState,
    call: &Call,
    reseller: Reseller,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut db::DbConnection, &Actor<'_>, &Policy) -> Result<T, DomainError>
        + Send
        + 'static,
    T: Send + 'static,
{
    Ok(run_as(state, &call.peer, reseller, f).await?)
}

#[derive(Serialize)]
struct AvailabilityData {
    available: Vec<i32>,
    owned: Vec<i32>,
}

pub async fn availability(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ip = call.ip()?;
    let now = state.clock.now().naive_utc();
    let found = state.lookups.availability.call((reseller, ip, now)).await?;
    Ok(success(AvailabilityData {
        available: found.available,
        owned: found.owned,
    }))
}

pub async fn check(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let call = auth.call;
    let ip = call.ip()?;
    let now = state.clock.now().naive_utc();
    let types = state.lookups.types_on_ip.call((ip, now)).await?;
    Ok(success(types))
}

pub async fn register(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let request = Registration {
        ip: call.ip()?,
        type_id: call.license_type("type")?,
        els_allowed: call.boolean("els_allowed")?.unwrap_or(false),
    };
    let license = mutate(&state, &call, reseller, move |c, actor, policy| {
        licenses::register(c, actor, policy, &request)
    })
    .await?;
    Ok(success(RegisteredLicense::from(&license)))
}

pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ip = call.ip()?;
    let type_id = call.optional_type("type")?;
    let removed = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::remove(c, actor, &ip, type_id)
    })
    .await?;
    Ok(success(removed))
}

pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    stream_licenses(&state, reseller.id, &JSON_LIST).await
}

pub async fn server(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ips = server_ips(&call)?;
    let now = state.clock.now().naive_utc();
    let rows = db::run(&state.pool, move |c| {
        queries::licenses_on_ips(c, reseller.id, &ips, now)
    })
    .await?;
    Ok(success(
        rows.iter().map(ServerRow::from).collect::<Vec<_>>(),
    ))
}

/// `ip=A[,B,...]`: up to MAX_SERVER_IPS addresses; spaces around commas are tolerated.
fn server_ips(call: &Call) -> Result<Vec<LicenseIp>, ApiError> {
    let text = call
        .non_empty("ip")
        .ok_or_else(|| ApiError::invalid("Parameter ip is required"))?;
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(ApiError::invalid("Parameter ip is required"));
    }
    if parts.len() > MAX_SERVER_IPS {
        return Err(ApiError::invalid(format!(
            "Too many IPs: {} given, at most {MAX_SERVER_IPS} per call",
            parts.len()
        )));
    }
    parts.into_iter().map(parse_ip).collect()
}

pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ip = call.ip()?;
    let type_id = call.optional_type("type")?;
    let els_allowed = call
        .boolean("els_allowed")?
        .ok_or_else(|| ApiError::invalid("Parameter els_allowed is required"))?;
    let changed = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::update_els(c, actor, &ip, type_id, els_allowed)
    })
    .await?;
    Ok(success(changed))
}

pub async fn convert(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ip = call.ip()?;
    let from = call.license_type("type")?;
    let to = call.license_type("type_to")?;
    let converted = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::convert(c, actor, &ip, from, to)
    })
    .await?;
    Ok(success(converted))
}

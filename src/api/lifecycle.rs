//! Beyond CLN (contract §6): server check-in and the caller's usage report.

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::params::{cln_params, BoolText, FreeText, MonthText, ServerCount};
use crate::auth::{AuthError, Authenticated};
use crate::db;
use crate::domain::checkin::check_in;
use crate::domain::ip::LicenseIp;
use crate::domain::keys::monitoring::KernelReport;
use crate::domain::keys::servers as key_servers;
use crate::domain::month::Month;
use crate::domain::prices::format_cents;
use crate::domain::usage;
use crate::state::AppState;

cln_params!(CheckinParams {
    /// Free text about the server; a longer one is cut to 1,024 characters.
    server_info: Option<FreeText> = "server_info",
    /// A key server's id: that server checks in (not the address's licenses).
    server_id: Option<FreeText> = "server_id",
    /// A KernelCare key server's running kernel (with `server_id`; keys.md, monitoring).
    kernel_id: Option<FreeText> = "kernel_id",
    /// The patch level it has applied.
    patch_level: Option<ServerCount> = "patch_level",
    /// The newest patch level it could apply now (ours: above `patch_level` = out of date).
    latest_patch_level: Option<ServerCount> = "latest_patch_level",
    /// Whether KernelCare supports its kernel.
    kernel_supported: Option<BoolText> = "kernel_supported",
});

cln_params!(UsageParams {
    /// Default: the current month.
    month: Option<MonthText> = "month",
});

#[derive(Serialize, utoipa::ToSchema)]
struct CheckinData {
    /// The address the server checked in from.
    ip: String,
    /// The types it holds there (a key server: its key's type).
    types: Vec<i32>,
    /// A key server's id, when it checked in by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    server_id: Option<String>,
    /// Ours: the types among `types` that are suspended (absent when none is): the server
    /// should stop offering what they license until they are resumed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suspended: Vec<i32>,
}

/// A server checks in from its own address (no token; rate-limited per source,
/// `IPLS_CHECKIN_PER_MINUTE`); with `server_id`, a key server by its id.
#[utoipa::path(get, path = "/api/server/checkin.json", operation_id = "checkin", tag = "servers",
    params(CheckinParams), security(()), responses((status = 200, body = CheckinData)))]
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
    let p: CheckinParams = call.params()?;
    if let Some(server_id) = p.server_id {
        let report = p.kernel_id.map(|kernel| KernelReport {
            kernel_id: kernel.0,
            patch_level: p.patch_level.map(|l| l.0),
            latest_patch_level: p.latest_patch_level.map(|l| l.0),
            supported: p.kernel_supported.map(|b| b.0),
        });
        return key_server_checkin(&state, ip, (server_id.0, report), now).await;
    }
    let info = p.server_info.map(|i| i.0);
    let checked = db::run(&state.pool, move |c| check_in(c, &ip, info.as_deref(), now)).await?;
    Ok(success(CheckinData {
        ip: ip.to_string(),
        types: checked.types,
        server_id: None,
        suspended: checked.suspended,
    }))
}

/// A key server's check-in (keys.md): known by its server id, not by its address.
async fn key_server_checkin(
    state: &AppState,
    ip: LicenseIp,
    (server_id, report): (String, Option<KernelReport>),
    now: chrono::NaiveDateTime,
) -> ApiResult {
    let report = report.map(KernelReport::cleaned).transpose()?;
    let found = db::run(&state.pool, move |c| {
        key_servers::check_in(c, &server_id, report.as_ref(), now)
    })
    .await?
    .ok_or_else(|| ApiError::from(crate::error::DomainError::not_found("Server not found")))?;
    let (server, type_id) = found;
    Ok(success(CheckinData {
        ip: ip.to_string(),
        types: vec![type_id],
        server_id: Some(server.server_id),
        suspended: Vec::new(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct UsageRow {
    #[serde(rename = "type")]
    type_id: i32,
    license_days: i64,
    peak: i64,
    /// Ours: days the type's licenses were held suspended (not in license_days).
    suspended_days: i64,
    /// Prorated amount as a decimal string, null when the type has no price.
    amount: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct UsageData {
    month: String,
    usage: Vec<UsageRow>,
}

/// The caller's license-days per type for a month (UTC).
#[utoipa::path(get, path = "/api/usage.json", operation_id = "usage", tag = "licenses",
    params(UsageParams), responses((status = 200, body = UsageData)))]
pub async fn usage(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let today = state.clock.now().date_naive();
    let month = call
        .params::<UsageParams>()?
        .month
        .map_or_else(|| Month::containing(today), |m| m.0);
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
                suspended_days: line.usage.suspended_days,
                amount: line.amount_cents.map(format_cents),
            })
            .collect(),
    }))
}

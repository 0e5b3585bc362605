//! `/api/ipl/*.json`: the CLN IP-license endpoints (contract §3).

use actix_web::web;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::list_stream::stream_licenses;
use super::mutation::run_as;
use super::params::{cln_params, AllTypes, BoolText, FreeText, Ip, IpList, LicenseType};
use super::views::{AvailabilityData, ListRowSchema, RegisteredLicense, ServerRow, JSON_LIST};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::licenses::{self, Registration};
use crate::domain::{queries, ActingFor, Actor, Policy, Source};
use crate::error::DomainError;
use crate::state::AppState;

cln_params!(
    /// availability.json and check.json.
    IpParams {
        ip: Ip = "ip",
    }
);

cln_params!(RegisterParams {
    ip: Ip = "ip",
    type_id: LicenseType = "type",
    /// Allow extended-lifecycle repositories (default false).
    els_allowed: Option<BoolText> = "els_allowed",
    /// Ours: a note on a new license (at most 500 characters); never answered here.
    note: Option<FreeText> = "note",
    /// Ours: the billing panel's id for a new license, unique among the caller's; never
    /// answered here.
    external_id: Option<FreeText> = "external_id",
});

cln_params!(RemoveParams {
    ip: Ip = "ip",
    type_id: Option<AllTypes> = "type",
});

cln_params!(ServerParams { ip: IpList = "ip" });

cln_params!(UpdateParams {
    ip: Ip = "ip",
    type_id: Option<AllTypes> = "type",
    /// The new value.
    els_allowed: BoolText = "els_allowed",
});

cln_params!(ConvertParams {
    ip: Ip = "ip",
    type_id: LicenseType = "type",
    /// The type to move to, in the same convertible family.
    type_to: LicenseType = "type_to",
});

cln_params!(MoveParams {
    /// The license's current IP.
    ip: Ip = "ip",
    /// The IP to move it to.
    new_ip: Ip = "new_ip",
    /// One type; absent or 0: every type the caller holds on `ip`.
    type_id: Option<AllTypes> = "type",
});

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

/// Types the caller holds on an IP, and types it could register there now.
#[utoipa::path(get, path = "/api/ipl/availability.json", operation_id = "availability", tag = "licenses",
    params(IpParams), responses((status = 200, body = AvailabilityData)))]
pub async fn availability(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ip = call.params::<IpParams>()?.ip.0;
    let now = state.clock.now().naive_utc();
    let found = state.lookups.availability.call((reseller, ip, now)).await?;
    Ok(success(AvailabilityData {
        available: found.available,
        owned: found.owned,
    }))
}

/// Every type registered on an IP by any reseller, ascending.
#[utoipa::path(get, path = "/api/ipl/check.json", operation_id = "check", tag = "licenses",
    params(IpParams), responses((status = 200, body = Vec<i32>)))]
pub async fn check(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let call = auth.call;
    let ip = call.params::<IpParams>()?.ip.0;
    let now = state.clock.now().naive_utc();
    let types = state.lookups.types_on_ip.call((ip, now)).await?;
    Ok(success(types))
}

/// Register a license (idempotent for its owner).
#[utoipa::path(get, path = "/api/ipl/register.json", operation_id = "register", tag = "licenses",
    params(RegisterParams), responses((status = 200, body = RegisteredLicense<'static>)))]
pub async fn register(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: RegisterParams = call.params()?;
    let text = |t: Option<FreeText>| t.map(|t| t.0).unwrap_or_default();
    let request = Registration {
        ip: p.ip.0,
        type_id: p.type_id.0,
        els_allowed: p.els_allowed.is_some_and(|b| b.0),
        note: licenses::note_text(&text(p.note))?,
        external_id: licenses::external_id_text(&text(p.external_id))?,
    };
    let source = Source::Address(call.peer.clone());
    let license = state
        .register(ActingFor::Reseller(reseller), source, request)
        .await?;
    Ok(success(RegisteredLicense::from(&license)))
}

/// Remove the caller's licenses on an IP; false when nothing matched.
#[utoipa::path(get, path = "/api/ipl/remove.json", operation_id = "remove", tag = "licenses",
    params(RemoveParams), responses((status = 200, body = bool)))]
pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: RemoveParams = call.params()?;
    let (ip, type_id) = (p.ip.0, p.type_id.and_then(|t| t.0));
    let removed = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::remove(c, actor, &ip, type_id)
    })
    .await?;
    Ok(success(removed))
}

/// Every license the caller holds, by IP then type (streamed).
#[utoipa::path(get, path = "/api/ipl/list.json", operation_id = "list", tag = "licenses",
    responses((status = 200, body = Vec<ListRowSchema>)))]
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    stream_licenses(&state, reseller.id, &JSON_LIST).await
}

/// The caller's licenses on up to 100 IPs, with their servers' registration.
#[utoipa::path(get, path = "/api/ipl/server.json", operation_id = "server", tag = "licenses",
    params(ServerParams), responses((status = 200, body = Vec<ServerRow<'static>>)))]
pub async fn server(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let ips = call.params::<ServerParams>()?.ip.0;
    let now = state.clock.now().naive_utc();
    let rows = db::run(&state.pool, move |c| {
        queries::licenses_on_ips(c, reseller.id, &ips, now)
    })
    .await?;
    Ok(success(
        rows.iter().map(ServerRow::from).collect::<Vec<_>>(),
    ))
}

/// Set els_allowed on the caller's licenses on an IP.
#[utoipa::path(get, path = "/api/ipl/update.json", operation_id = "update", tag = "licenses",
    params(UpdateParams), responses((status = 200, body = bool)))]
pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: UpdateParams = call.params()?;
    let (ip, type_id, els_allowed) = (p.ip.0, p.type_id.and_then(|t| t.0), p.els_allowed.0);
    let changed = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::update_els(c, actor, &ip, type_id, els_allowed)
    })
    .await?;
    Ok(success(changed))
}

/// Move a license to another type of its convertible family, keeping `created`.
#[utoipa::path(get, path = "/api/ipl/convert.json", operation_id = "convert", tag = "licenses",
    params(ConvertParams), responses((status = 200, body = bool)))]
pub async fn convert(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: ConvertParams = call.params()?;
    let (ip, from, to) = (p.ip.0, p.type_id.0, p.type_to.0);
    let converted = mutate(&state, &call, reseller, move |c, actor, _| {
        licenses::convert(c, actor, &ip, from, to)
    })
    .await?;
    Ok(success(converted))
}

/// Ours: move the caller's license(s) on `ip` to `new_ip` in one step, keeping `created`,
/// trial state and ELS; the server registers afresh on the new IP. Answers the moved licenses.
#[utoipa::path(get, path = "/api/ipl/move.json", operation_id = "move", tag = "licenses",
    params(MoveParams), responses((status = 200, body = Vec<RegisteredLicense<'static>>)))]
pub async fn move_license(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: MoveParams = call.params()?;
    let (from, to, type_id) = (p.ip.0, p.new_ip.0, p.type_id.and_then(|t| t.0));
    let moved = mutate(&state, &call, reseller, move |c, actor, policy| {
        licenses::move_licenses(c, actor, policy, &from, &to, type_id)
    })
    .await?;
    Ok(success(
        moved
            .iter()
            .map(RegisteredLicense::from)
            .collect::<Vec<_>>(),
    ))
}

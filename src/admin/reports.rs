//! `/api/admin/v1/usage`, `/audit` and `/prices`: the figures of the usage report, the
//! history a cursor page at a time (newest first), and monthly prices.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::params;
use super::views::{EventView, Page, PriceView, UsageReport, UsageView};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::events::{audit as history, AuditFilter};
use crate::domain::ip::LicenseIp;
use crate::domain::month::Month;
use crate::domain::{prices, usage};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// `YYYY-MM`; default the current month.
    pub month: Option<String>,
    /// One reseller's login; default every reseller.
    pub reseller: Option<String>,
}

/// License-days, peak and amount per reseller and type in a month.
#[utoipa::path(get, path = "/api/admin/v1/usage", operation_id = "getUsage", tag = "reports", params(UsageParams),
    responses((status = 200, description = "The month's usage", body = UsageReport)))]
pub async fn usage(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<UsageParams>,
) -> AdminResult {
    let today = state.clock.now().date_naive();
    let month = match params::text(&query.month) {
        None => Month::containing(today),
        Some(text) => Month::parse(text).ok_or_else(|| AdminError::invalid("month is YYYY-MM"))?,
    };
    let names = params::logins(&state).await?;
    let id = params::reseller_id(&names, query.reseller.as_deref())?;
    let lines = db::run(&state.pool, move |c| usage::report(c, id, &month, today)).await?;
    let total_cents = lines.iter().filter_map(|l| l.amount_cents).sum();
    let lines = lines
        .iter()
        .map(|l| UsageView {
            reseller: names.get(&l.usage.reseller_id).cloned().unwrap_or_default(),
            type_id: l.usage.type_id,
            license_days: l.usage.license_days,
            peak: l.usage.peak,
            amount_cents: l.amount_cents,
        })
        .collect();
    Ok(HttpResponse::Ok().json(UsageReport {
        month: month.to_string(),
        lines,
        total_cents,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub reseller: Option<String>,
    pub ip: Option<String>,
    /// Events at or after this date or time.
    pub since: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<i64>)]
    pub cursor: Option<String>,
}

/// The history of every license change, newest first.
#[utoipa::path(get, path = "/api/admin/v1/audit", operation_id = "listAudit", tag = "reports", params(AuditParams),
    responses((status = 200, description = "A page of events", body = Page<EventView>)))]
pub async fn audit(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<AuditParams>,
) -> AdminResult {
    let names = params::logins(&state).await?;
    let limit = params::limit(query.limit.as_deref())?;
    let filter = AuditFilter {
        reseller_id: params::reseller_id(&names, query.reseller.as_deref())?,
        ip: match params::text(&query.ip) {
            None => None,
            Some(t) => Some(
                LicenseIp::parse(t)
                    .ok_or_else(|| AdminError::invalid("ip is not an IP address"))?
                    .to_string(),
            ),
        },
        since: params::text(&query.since)
            .map(|t| params::timestamp("since", t))
            .transpose()?,
        before_id: params::id_cursor(query.cursor.as_deref())?,
        limit: limit + 1,
    };
    let mut events = db::run(&state.pool, move |c| history(c, &filter)).await?;
    events.reverse();
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let items: Vec<EventView> = events
        .iter()
        .map(|e| EventView::new(e, e.reseller_id.and_then(|id| names.get(&id).cloned())))
        .collect();
    let next_cursor = more
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Every type with its monthly price.
#[utoipa::path(get, path = "/api/admin/v1/prices", operation_id = "listPrices", tag = "prices",
    responses((status = 200, description = "Types and prices", body = Vec<PriceView>)))]
pub async fn list_prices(state: web::Data<AppState>, _caller: AdminCaller) -> AdminResult {
    let (types, priced) = db::run(&state.pool, |c| Ok((all_types(c)?, prices::all(c)?))).await?;
    let items: Vec<PriceView> = types
        .into_iter()
        .map(|t| PriceView {
            type_id: t.id,
            monthly_cents: priced.get(&t.id).copied(),
            name: t.name,
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Monthly price in cents, 0 to 100,000,000,000.
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub monthly_cents: i64,
}

/// Set a type's monthly price (usage amounts are prorated from it).
#[utoipa::path(put, path = "/api/admin/v1/prices/{type}", operation_id = "setPrice", tag = "prices",
    params(("type" = i32, Path, description = "A license type")), request_body = PriceInput,
    responses((status = 200, description = "The price as set", body = PriceView)))]
pub async fn set_price(
    state: web::Data<AppState>,
    caller: AdminCaller,
    type_id: web::Path<String>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let body: PriceInput = body::object(&req, &body)?;
    let type_id: i32 = type_id
        .trim()
        .parse()
        .map_err(|_| AdminError::invalid("type is a license type number"))?;
    let cents = body.monthly_cents;
    if !(0..=100_000_000_000).contains(&cents) {
        return Err(AdminError::invalid(
            "monthly_cents is from 0 to 100000000000",
        ));
    }
    let now = state.clock.now().naive_utc();
    let name = db::run(&state.pool, move |c| {
        let t = crate::domain::catalogue::find_type(c, type_id)?;
        match t {
            None => Ok(None),
            Some(t) => {
                prices::set(c, type_id, cents, now)?;
                Ok(Some(t.name))
            }
        }
    })
    .await?
    .ok_or_else(|| AdminError::not_found("no such license type"))?;
    Ok(HttpResponse::Ok().json(PriceView {
        type_id,
        name,
        monthly_cents: Some(cents),
    }))
}

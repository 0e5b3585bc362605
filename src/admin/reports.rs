//! `/api/admin/v1/usage`, `/audit` and `/prices`: the figures of the usage report, the
//! history a cursor page at a time (newest first), and monthly prices.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::params;
use super::types::{Cents, IdCursor, IpValue, Login, MonthValue, PageSize, Since, TypeText};
use super::views::{EventView, Page, PriceView, UsageReport, UsageView};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::events::{audit as history, AuditFilter};
use crate::domain::month::Month;
use crate::domain::{prices, usage};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageParams {
    /// Default the current month.
    pub month: Option<MonthValue>,
    /// One reseller; default every reseller.
    pub reseller: Option<Login>,
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
    let month = query
        .month
        .as_ref()
        .map_or_else(|| Month::containing(today), |m| m.0);
    let names = params::logins(&state).await?;
    let id = params::reseller_id(&names, query.reseller.as_ref().map(|l| l.0.as_str()))?;
    let lines = db::run(&state.pool, move |c| usage::report(c, id, &month, today)).await?;
    let total_cents = lines.iter().filter_map(|l| l.amount_cents).sum();
    let lines = lines
        .iter()
        .map(|l| UsageView {
            reseller: names.get(&l.usage.reseller_id).cloned().unwrap_or_default(),
            type_id: l.usage.type_id,
            license_days: l.usage.license_days,
            peak: l.usage.peak,
            suspended_days: l.usage.suspended_days,
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
    pub reseller: Option<Login>,
    pub ip: Option<IpValue>,
    /// Events at or after this date or time.
    pub since: Option<Since>,
    pub limit: Option<PageSize>,
    pub cursor: Option<IdCursor>,
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
    let limit = PageSize::of(query.limit);
    let filter = AuditFilter {
        reseller_id: params::reseller_id(&names, query.reseller.as_ref().map(|l| l.0.as_str()))?,
        ip: query.ip.as_ref().map(|ip| ip.0.to_string()),
        since: query.since.as_ref().map(|s| s.0),
        before_id: query.cursor.map(|c| c.0),
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

/// Every type with its monthly price, as one page.
#[utoipa::path(get, path = "/api/admin/v1/prices", operation_id = "listPrices", tag = "prices",
    responses((status = 200, description = "Types and prices; next_cursor is always null", body = Page<PriceView>)))]
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
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Monthly price in cents.
    pub monthly_cents: Cents,
}

/// Set a type's monthly price (usage amounts are prorated from it).
#[utoipa::path(put, path = "/api/admin/v1/prices/{type}", operation_id = "setPrice", tag = "prices",
    params(("type" = TypeText, Path, description = "A license type")), request_body = PriceInput,
    responses((status = 200, description = "The price as set", body = PriceView)))]
pub async fn set_price(
    state: web::Data<AppState>,
    caller: AdminCaller,
    type_id: web::Path<TypeText>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let body: PriceInput = body::object(&req, &body)?;
    let type_id = type_id.into_inner().0;
    let cents = body.monthly_cents.0;
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

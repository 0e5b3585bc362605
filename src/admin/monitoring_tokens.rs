//! `/api/admin/v1/resellers/{login}/monitoring-token`: a reseller's read-only KernelCare
//! monitoring token (keys.md, the Nagios reseller form): whether it has one, a new one
//! (replacing the old, shown once), or none.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::AdminResult;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::keys::monitoring_tokens;
use crate::domain::resellers::{self, ChangedBy};
use crate::state::AppState;
use crate::wire::iso;

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitoringTokenState {
    /// When the current token was made; null: the reseller has none.
    pub created_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewMonitoringToken {
    /// 32 characters `[A-Za-z0-9]`, for `/api/kcare/nagios-res/{login}/{token}`; shown once.
    pub token: String,
    pub created_at: String,
}

/// Whether the reseller has a monitoring token, and since when.
#[utoipa::path(get, path = "/api/admin/v1/resellers/{login}/monitoring-token", operation_id = "getMonitoringToken",
    tag = "resellers", params(("login" = String, Path)),
    responses((status = 200, description = "The token's state", body = MonitoringTokenState)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    let login = login.into_inner();
    let made = db::run(&state.pool, move |c| {
        let reseller = resellers::get(c, &login)?;
        monitoring_tokens::made_at(c, reseller.id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MonitoringTokenState {
        created_at: made.map(iso),
    }))
}

/// A new monitoring token; the old one stops working at once.
#[utoipa::path(post, path = "/api/admin/v1/resellers/{login}/monitoring-token", operation_id = "rotateMonitoringToken",
    tag = "resellers", params(("login" = String, Path)),
    responses((status = 201, description = "The new token, shown once", body = NewMonitoringToken)))]
pub async fn rotate(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let login = login.into_inner();
    let (source, now) = (caller.source(), state.clock.now().naive_utc());
    let token = db::run(&state.pool, move |c| {
        let reseller = resellers::get(c, &login)?;
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::rotate(c, reseller.id, &by)
    })
    .await?;
    Ok(HttpResponse::Created().json(NewMonitoringToken {
        token,
        created_at: iso(now),
    }))
}

/// The reseller's monitoring token ends (204 also when it had none).
#[utoipa::path(delete, path = "/api/admin/v1/resellers/{login}/monitoring-token", operation_id = "revokeMonitoringToken",
    tag = "resellers", params(("login" = String, Path)),
    responses((status = 204, description = "No token any more")))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let login = login.into_inner();
    let (source, now) = (caller.source(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        let reseller = resellers::get(c, &login)?;
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::revoke(c, reseller.id, &by)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

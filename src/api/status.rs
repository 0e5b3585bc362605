//! `/api/status.json`: CLN's health answer, no token (contract §3).

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Serialize;

use super::envelope::respond;
use super::error::ApiResult;
use crate::db::{self, Health};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
struct Status {
    db_clweb_connected: bool,
    db_clweb_online: bool,
    db_rhn_connected: bool,
    db_rhn_online: bool,
    xmlrpc: bool,
    ip_server_reg: bool,
    rhn_overloaded: bool,
    rhn_queue_full: bool,
    version: &'static str,
    /// `postgres` or `sqlite`.
    #[schema(pattern = "^(postgres|sqlite)$")]
    database: &'static str,
}

/// Health in CLN's shape (no token). Offline only when the database does not answer: a
/// pool that is merely busy (every connection in use) waits its turn and is reported online.
#[utoipa::path(get, path = "/api/status.json", operation_id = "status", tag = "servers",
    security(()), responses((status = 200, body = Status)))]
pub async fn status(state: web::Data<AppState>) -> ApiResult {
    let online = db::health(&state.pool).await != Health::Offline;
    let data = Status {
        db_clweb_connected: online,
        db_clweb_online: online,
        db_rhn_connected: online,
        db_rhn_online: online,
        xmlrpc: online,
        ip_server_reg: online,
        rhn_overloaded: false,
        rhn_queue_full: false,
        version: env!("CARGO_PKG_VERSION"),
        database: state.backend.name(),
    };
    Ok(if online {
        respond(StatusCode::OK, true, None, data)
    } else {
        respond(
            StatusCode::SERVICE_UNAVAILABLE,
            false,
            Some("Database unavailable"),
            data,
        )
    })
}

/// `GET /metrics`: Prometheus text format (no token; counts only, nothing about resellers).
pub async fn metrics(state: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state.metrics.render(&state.pool)
                + &state.lookups.render()
                + &state.relay.metrics.render(),
        )
}

#[derive(Serialize)]
struct Probe {
    status: &'static str,
}

/// `GET /livez`: the process answers HTTP (no database involved).
pub async fn livez() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(Probe { status: "live" })
}

/// `GET /readyz`: 200 when a connection of the writes lane is obtained (waiting its turn, up
/// to the checkout timeout) and `SELECT 1` answers, or when every one is busy serving calls
/// ("busy": ipls is loaded when its writes are); 503 when the database does not answer.
pub async fn readyz(state: web::Data<AppState>) -> actix_web::HttpResponse {
    match db::health(&state.pool.lane(db::Lane::Writes)).await {
        Health::Online => actix_web::HttpResponse::Ok().json(Probe { status: "ready" }),
        Health::Busy => actix_web::HttpResponse::Ok().json(Probe { status: "busy" }),
        Health::Offline => actix_web::HttpResponse::ServiceUnavailable().json(Probe {
            status: "database offline",
        }),
    }
}

//! `/api/status.json`: CLN's health answer, no token (contract §3).

use actix_web::http::StatusCode;
use actix_web::web;
use diesel::RunQueryDsl;
use serde::Serialize;

use super::envelope::respond;
use super::error::ApiResult;
use crate::db;
use crate::state::AppState;

#[derive(Serialize)]
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
    database: &'static str,
}

pub async fn status(state: web::Data<AppState>) -> ApiResult {
    let online = db::run(&state.pool, |c| {
        diesel::sql_query("SELECT 1").execute(c)?;
        Ok(())
    })
    .await
    .is_ok();
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
            state
                .metrics
                .render(&state.pool, state.config.pool.max_size),
        )
}

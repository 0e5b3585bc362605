//! `/api/kcare/...`: KernelCare activation keys (keys.md): the reseller's management calls
//! (token) and the server's own registration calls (no token).

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::{respond, success};
use super::error::{ApiError, ApiResult};
use super::key_calls::{self, limit_param, nothing, required, KernelCareServerRow};
use super::mutation::run_as;
use crate::auth::Authenticated;
use crate::db;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{cidr, manage, products::KERNELCARE_TYPE, Product, KEY_NOT_FOUND};
use crate::state::AppState;
use crate::wire::format_date;

const PRODUCT: Option<Product> = Some(Product::KernelCare);

/// `key/create.json?limit=N&note=TEXT`: the new key as a bare JSON string.
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    // (ours) A key without a limit holds one server, as CLN's form suggests.
    let limit = limit_param(&call, Some(1))?.unwrap_or(1);
    let note = call.get("note").unwrap_or("").to_string();
    let key = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::create(c, actor, KERNELCARE_TYPE, limit, &note)
    })
    .await?;
    Ok(success(key.key_text))
}

/// `key/delete.json?key=K`: true deleted, false not the caller's (still `success:true`).
pub async fn delete(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::delete(c, actor, PRODUCT, &key)
    })
    .await?;
    Ok(success(removed.is_some()))
}

#[derive(Serialize)]
struct KeyRow {
    key: String,
    enabled: bool,
    created: String,
    limit: i32,
    note: String,
    servers: i32,
    default: bool,
}

/// `key/list.json`: the caller's KernelCare keys; `enabled` is false while it is blocked.
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    let enabled = reseller.blocked_reason.is_none();
    let keys = db::run(&state.pool, move |c| {
        manage::list(c, Some(reseller.id), PRODUCT)
    })
    .await?;
    let rows: Vec<KeyRow> = keys
        .into_iter()
        .map(|k| KeyRow {
            key: k.key_text,
            enabled,
            created: format_date(k.created_at),
            limit: k.server_limit,
            note: k.note,
            servers: k.servers,
            default: k.is_default,
        })
        .collect();
    Ok(success(rows))
}

/// `key/servers.json?key=K`: the key's servers; `[]` for a key that is not the caller's.
pub async fn key_servers(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
    let found = db::run(&state.pool, move |c| {
        servers::list(c, reseller.id, PRODUCT, &key)
    })
    .await?;
    Ok(success(
        found
            .iter()
            .map(KernelCareServerRow::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize)]
struct CodeData {
    code: i32,
}

/// `key/set_cidr.json?key=K&cidr=LIST`: replaces the key's ranges (empty clears them);
/// `{"code":0}`, or 1 a bad address / 2 a bad prefix with nothing changed.
pub async fn set_cidr(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
    let text = call
        .get("cidr")
        .ok_or_else(|| ApiError::invalid("Parameter cidr is required (empty clears the ranges)"))?;
    let blocks = match cidr::parse(text) {
        Ok(blocks) => blocks,
        Err(refusal) => {
            let data = CodeData { code: refusal.code };
            return Ok(respond(
                actix_web::http::StatusCode::OK,
                true,
                Some(&refusal.message),
                data,
            ));
        }
    };
    let changed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::set_ranges(c, actor, PRODUCT, &key, &blocks)
    })
    .await?;
    match changed {
        Some(_) => Ok(success(CodeData { code: 0 })),
        None => Err(ApiError::invalid(KEY_NOT_FOUND)),
    }
}

#[derive(Serialize)]
struct RemovedServer {
    server_id: String,
    key: String,
}

/// `srv/remove.json?server_id=S`: removes a server from one of the caller's keys.
pub async fn remove_server(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let server_id = required(&call, "server_id")?.to_string();
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        servers::remove(c, PRODUCT, &server_id, &Remover::Reseller(actor))
    })
    .await?;
    Ok(match removed {
        Some((server, key)) => success(RemovedServer {
            server_id: server.server_id,
            key: key.key_text,
        }),
        None => nothing("Server not found"),
    })
}

/// `kcare/register_server.json?key=K[&hostname=H]`, no token.
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::KernelCare).await
}

/// `kcare/unregister_server.json?server_id=S[&key=K]`, no token: true removed, false not
/// found (or `key` named another key).
pub async fn unregister_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::admit(&state, &call)?;
    let server_id = required(&call, "server_id")?.to_string();
    let key = call.non_empty("key").map(str::to_string);
    let now = state.clock.now().naive_utc();
    let source = call.peer.clone();
    let removed = db::run(&state.pool, move |c| {
        let remover = Remover::Server {
            key: key.as_deref(),
            source: &source,
            now,
        };
        servers::remove(c, PRODUCT, &server_id, &remover)
    })
    .await?;
    Ok(success(removed.is_some()))
}

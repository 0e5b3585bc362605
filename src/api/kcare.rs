//! `/api/kcare/...`: KernelCare activation keys (keys.md): the reseller's management calls
//! (token) and the server's own registration calls (no token).

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::{respond, success};
use super::error::{ApiError, ApiResult};
use super::key_calls::{
    self, nothing, KernelCareServerRow, KeyParams, RegisterServerData, RegisterServerParams,
};
use super::mutation::run_as;
use super::params::{cln_params, FreeText, MayBeEmpty, ServerCount};
use crate::auth::Authenticated;
use crate::db;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{self, cidr, manage, products::KERNELCARE_TYPE, Product, KEY_NOT_FOUND};
use crate::state::AppState;
use crate::wire::format_date;

const PRODUCT: Option<Product> = Some(Product::KernelCare);

cln_params!(CreateParams {
    /// Servers the key may hold; 0 = unlimited; default 1 (ours).
    limit: Option<ServerCount> = "limit",
    /// Up to 100 characters; longer is cut.
    note: Option<FreeText> = "note",
});

cln_params!(SetCidrParams {
    key: FreeText = "key",
    /// Required, but may be empty (which clears the ranges).
    cidr: MayBeEmpty = "cidr",
});

cln_params!(ServerIdParams {
    server_id: FreeText = "server_id",
});

cln_params!(UnregisterParams {
    server_id: FreeText = "server_id",
    /// When given, the server must be this key's.
    key: Option<FreeText> = "key",
});

/// Create a KernelCare key: `data` is the new key as a bare JSON string.
#[utoipa::path(get, path = "/api/kcare/key/create.json", operation_id = "kcareKeyCreate", tag = "keys",
    params(CreateParams), responses((status = 200, body = String)))]
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: CreateParams = call.params()?;
    // (ours) A key without a limit holds one server, as CLN's form suggests.
    let limit = p.limit.map_or(1, |l| l.0);
    let note = p.note.map(|n| n.0).unwrap_or_default();
    let key = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::create(c, actor, KERNELCARE_TYPE, limit, &note)
    })
    .await?;
    Ok(success(key.key_text))
}

/// Delete one of the caller's KernelCare keys: true deleted, false not the caller's (still
/// `success:true`).
#[utoipa::path(get, path = "/api/kcare/key/delete.json", operation_id = "kcareKeyDelete", tag = "keys",
    params(KeyParams), responses((status = 200, body = bool)))]
pub async fn delete(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = call.params::<KeyParams>()?.key.0;
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::delete(c, actor, PRODUCT, &key)
    })
    .await?;
    Ok(success(removed.is_some()))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = KernelCareKeyRow)]
struct KeyRow {
    key: String,
    enabled: bool,
    created: String,
    limit: i32,
    note: String,
    servers: i32,
    default: bool,
    /// Ours: the sticky tag (`YYYY-MM-DD`, servers take patches released before it), or null.
    sticky_tag: Option<String>,
}

/// The caller's KernelCare keys; `enabled` is false while it is blocked.
#[utoipa::path(get, path = "/api/kcare/key/list.json", operation_id = "kcareKeyList", tag = "keys",
    responses((status = 200, body = Vec<KeyRow>)))]
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
            sticky_tag: k.sticky_tag.map(|d| d.to_string()),
        })
        .collect();
    Ok(success(rows))
}

/// A KernelCare key's servers; `[]` for a key that is not the caller's.
#[utoipa::path(get, path = "/api/kcare/key/servers.json", operation_id = "kcareKeyServers", tag = "keys",
    params(KeyParams), responses((status = 200, body = Vec<KernelCareServerRow>)))]
pub async fn key_servers(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = call.params::<KeyParams>()?.key.0;
    let (found, tag) = db::run(&state.pool, move |c| {
        Ok(match keys::find_own(c, reseller.id, PRODUCT, &key)? {
            Some(own) => (servers::of_key(c, own.id)?, own.sticky_tag),
            None => (Vec::new(), None),
        })
    })
    .await?;
    Ok(success(
        found
            .iter()
            .map(|s| KernelCareServerRow::new(s, tag))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct CodeData {
    /// 0 done; 1 a bad address, 2 a bad prefix, 3 an internal error (nothing changed).
    code: i32,
}

/// Replace a KernelCare key's IP ranges (empty clears them): `{"code":0}`, or 1 a bad
/// address / 2 a bad prefix with nothing changed.
#[utoipa::path(get, path = "/api/kcare/key/set_cidr.json", operation_id = "kcareKeySetCidr", tag = "keys",
    params(SetCidrParams), responses((status = 200, body = CodeData)))]
pub async fn set_cidr(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: SetCidrParams = call.params()?;
    let (key, text) = (p.key.0, p.cidr.0);
    let blocks = match cidr::parse(&text) {
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = KernelCareRemovedServer)]
struct RemovedServer {
    server_id: String,
    key: String,
}

/// Remove a server from one of the caller's KernelCare keys; not found: `success:true`,
/// `message:"Server not found"`, `data:null`.
#[utoipa::path(get, path = "/api/kcare/srv/remove.json", operation_id = "kcareServerRemove", tag = "keys",
    params(ServerIdParams), responses((status = 200, body = RemovedServer)))]
pub async fn remove_server(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let server_id = call.params::<ServerIdParams>()?.server_id.0;
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

/// A server registers itself with a KernelCare key (no token; rate-limited per source):
/// `success:true` whatever the code.
#[utoipa::path(get, path = "/api/kcare/register_server.json", operation_id = "kcareRegisterServer", tag = "servers",
    params(RegisterServerParams), security(()), responses((status = 200, body = RegisterServerData)))]
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::KernelCare).await
}

/// A server leaves its KernelCare key (no token): true removed, false not found (or `key`
/// named another key).
#[utoipa::path(get, path = "/api/kcare/unregister_server.json", operation_id = "kcareUnregisterServer", tag = "servers",
    params(UnregisterParams), security(()), responses((status = 200, body = bool)))]
pub async fn unregister_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::admit(&state, &call)?;
    let p: UnregisterParams = call.params()?;
    let (server_id, key) = (p.server_id.0, p.key.map(|k| k.0));
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

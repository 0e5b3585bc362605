//! `/api/els/...`: ELS activation keys (keys.md, "ELS keys"), in the shapes the Go client
//! decodes: camelCase names, numbers as strings, and its own date format.

use actix_web::web;
use chrono::NaiveDateTime;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::key_calls;
use super::mutation::run_as;
use super::params::{cln_params, ElsCode, ElsProductOrCode, FreeText, ServerCount, ServerNumber};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::type_code;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{Product, KEY_NOT_FOUND};
use crate::error::DomainError;
use crate::state::AppState;

const PRODUCT: Option<Product> = Some(Product::Els);

cln_params!(CreateParams {
    /// The ELS product code (the Go client sends it as `code`).
    product_type: ElsProductOrCode = "productType",
    /// Servers the key may hold; 0 = unlimited; default 1 (ours).
    limit: Option<ServerCount> = "limit",
    note: Option<FreeText> = "note",
});

cln_params!(UpdateParams {
    key: FreeText = "key",
    /// Absent: unchanged.
    limit: Option<ServerCount> = "limit",
    /// Absent: unchanged.
    note: Option<FreeText> = "note",
});

cln_params!(RemoveParams {
    /// The key to remove with its servers.
    key: Option<FreeText> = "key",
    /// Without `key`: the server to remove (what the Go client's "remove server" sends here).
    id: Option<ServerNumber> = "id",
});

cln_params!(ListParams {
    /// Absent: every ELS product.
    product_type: Option<ElsCode> = "productType",
});

cln_params!(ServerListParams {
    product_type: Option<ElsCode> = "productType",
    /// Only this key's servers.
    key: Option<FreeText> = "key",
});

cln_params!(ServerIdParams {
    id: ServerNumber = "id",
});

/// A key's row: every value a string.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ElsKeyRow)]
struct KeyRow {
    key: String,
    product_code: &'static str,
    usage_limit: String,
    description: String,
}

fn key_row(key: ActivationKey) -> KeyRow {
    KeyRow {
        product_code: type_code(Product::Els, key.type_id).unwrap_or_default(),
        usage_limit: key.server_limit.to_string(),
        description: key.note,
        key: key.key_text,
    }
}

/// The Go client's date: `2022-09-05 14:22:23.781372`.
fn els_date(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ElsServerRow)]
struct ServerRow {
    id: String,
    key: String,
    ip: String,
    hostname: String,
    last_checkin: Option<String>,
}

fn server_row(server: KeyServer, key: &ActivationKey) -> ServerRow {
    ServerRow {
        id: server.id.to_string(),
        key: key.key_text.clone(),
        ip: server.ip,
        hostname: server.hostname.unwrap_or_default(),
        last_checkin: server.last_checkin.map(els_date),
    }
}

/// A removed server's row: `{"id","key","ip","hostname"}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ElsRemovedServer)]
struct RemovedServer {
    id: String,
    key: String,
    ip: String,
    hostname: String,
}

fn removed_row(server: KeyServer, key: &ActivationKey) -> RemovedServer {
    RemovedServer {
        id: server.id.to_string(),
        key: key.key_text.clone(),
        ip: server.ip,
        hostname: server.hostname.unwrap_or_default(),
    }
}

/// `key/create.json`: the new key's row.
#[utoipa::path(get, path = "/api/els/key/create.json", operation_id = "elsKeyCreate", tag = "keys",
    params(CreateParams), responses((status = 200, body = KeyRow)))]
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: CreateParams = call.params()?;
    let type_id = p.product_type.0;
    let limit = p.limit.map_or(1, |l| l.0);
    let note = p.note.map(|n| n.0).unwrap_or_default();
    let key = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::create(c, actor, type_id, limit, &note)
    })
    .await?;
    Ok(success(key_row(key)))
}

/// `key/update.json`: the key's row, updated.
#[utoipa::path(get, path = "/api/els/key/update.json", operation_id = "elsKeyUpdate", tag = "keys",
    params(UpdateParams), responses((status = 200, body = KeyRow)))]
pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: UpdateParams = call.params()?;
    let key = p.key.0;
    let change = KeyChange {
        limit: p.limit.map(|l| l.0),
        note: p.note.map(|n| n.0),
        ..KeyChange::default()
    };
    let updated = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::update(c, actor, PRODUCT, &key, &change)
    })
    .await?
    .ok_or_else(|| ApiError::from(DomainError::not_found(KEY_NOT_FOUND)))?;
    Ok(success(key_row(updated)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ElsRemovedKey)]
struct RemovedKey {
    key: String,
}

/// `key/remove.json`: the key with all its servers, `{"key"}`; or, with `id` and no `key`
/// (the Go client's "remove server"), that server, answered with its row.
#[utoipa::path(get, path = "/api/els/key/remove.json", operation_id = "elsKeyRemove", tag = "keys",
    params(RemoveParams), responses((status = 200, body = RemovedKey)))]
pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: RemoveParams = call.params()?;
    match (p.key, p.id) {
        (Some(key), _) => {
            let key = key.0;
            let shown = key.clone();
            run_as(&state, &call.peer, reseller, move |c, actor, _| {
                manage::delete(c, actor, PRODUCT, &key)
            })
            .await?
            .ok_or_else(|| ApiError::from(DomainError::not_found(KEY_NOT_FOUND)))?;
            Ok(success(RemovedKey { key: shown }))
        }
        (None, Some(id)) => remove_by_row(&state, &call, reseller, id.0).await,
        (None, None) => Err(ApiError::invalid("Parameter key (or id) is required")),
    }
}

async fn remove_by_row(
    state: &AppState,
    call: &Call,
    reseller: crate::db::models::Reseller,
    id: i64,
) -> ApiResult {
    let removed = run_as(state, &call.peer, reseller, move |c, actor, _| {
        servers::remove_by_row(c, PRODUCT, id, &Remover::Reseller(actor))
    })
    .await?
    .ok_or_else(|| ApiError::from(DomainError::not_found("Server not found")))?;
    let (server, key) = removed;
    Ok(success(removed_row(server, &key)))
}

/// `key/list.json`: the caller's ELS keys (of one product when `productType` is given).
#[utoipa::path(get, path = "/api/els/key/list.json", operation_id = "elsKeyList", tag = "keys",
    params(ListParams), responses((status = 200, body = Vec<KeyRow>)))]
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let types = Product::Els.types_or(call.params::<ListParams>()?.product_type.map(|c| c.0));
    let keys = db::run(&state.pool, move |c| {
        manage::list_of_types(c, reseller.id, &types)
    })
    .await?;
    Ok(success(keys.into_iter().map(key_row).collect::<Vec<_>>()))
}

/// `srv/list.json`: the servers of the caller's ELS keys, the latest check-in first (those
/// that never checked in last).
#[utoipa::path(get, path = "/api/els/srv/list.json", operation_id = "elsServerList", tag = "keys",
    params(ServerListParams), responses((status = 200, body = Vec<ServerRow>)))]
pub async fn server_list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: ServerListParams = call.params()?;
    let types = Product::Els.types_or(p.product_type.map(|c| c.0));
    let key = p.key.map(|k| k.0);
    let mut rows = db::run(&state.pool, move |c| {
        servers::of_reseller(c, reseller.id, &types)
    })
    .await?;
    rows.retain(|(_, k)| key.as_ref().is_none_or(|text| *text == k.key_text));
    rows.sort_by_key(|(s, _)| std::cmp::Reverse(s.last_checkin));
    let rows: Vec<ServerRow> = rows
        .into_iter()
        .map(|(server, key)| server_row(server, &key))
        .collect();
    Ok(success(rows))
}

/// `srv/remove.json`: the removed server's row.
#[utoipa::path(get, path = "/api/els/srv/remove.json", operation_id = "elsServerRemove", tag = "keys",
    params(ServerIdParams), responses((status = 200, body = RemovedServer)))]
pub async fn server_remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let id = call.params::<ServerIdParams>()?.id.0;
    remove_by_row(&state, &call, reseller, id).await
}

/// `/api/els/register_server.json` (ours; no token): a server registers with an ELS key,
/// answered like `kcare/register_server.json`.
#[utoipa::path(get, path = "/api/els/register_server.json", operation_id = "elsRegisterServer", tag = "servers",
    params(super::key_calls::RegisterServerParams), security(()), responses((status = 200, body = super::key_calls::RegisterServerData)))]
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::Els).await
}

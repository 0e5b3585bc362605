//! `/api/v2/cl/...`: CloudLinux OS activation keys, CLN's API v2 (keys.md, "CloudLinux OS
//! keys"). Parameters come in the query string or a form body whatever the method; answers
//! are wrapped in the envelope (ours: CLN does not publish whether v2 wraps them).

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::key_calls::{self, KeyParams};
use super::mutation::run_as;
use super::params::{cln_params, CloudLinuxCode, FreeText, ServerCount, ServerNumber};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::type_code;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{Product, KEY_NOT_FOUND};
use crate::error::DomainError;
use crate::state::AppState;

const CLOUDLINUX: Product = Product::CloudLinux;
const PRODUCT: Option<Product> = Some(CLOUDLINUX);

cln_params!(CreateParams {
    /// Servers the key may hold; 0 = unlimited.
    limit: ServerCount = "limit",
    product_type: CloudLinuxCode = "productType",
    note: Option<FreeText> = "note",
});

cln_params!(UpdateParams {
    key: FreeText = "key",
    limit: ServerCount = "limit",
    /// Absent: unchanged.
    note: Option<FreeText> = "note",
});

cln_params!(ListParams {
    /// Absent: the keys of all four products.
    product_type: Option<CloudLinuxCode> = "productType",
});

cln_params!(ServerIdParams {
    /// The server's number (`id` of the servers list).
    id: ServerNumber = "id",
});

/// A key as v2 prints it; `usage` and `default` are ours (how many servers it holds, so
/// that a key with room can be picked, and whether it is the product's default key).
#[derive(Serialize)]
struct KeyObject {
    key: String,
    product_type: String,
    usage_limit: i32,
    description: String,
    usage: i32,
    default: bool,
}

fn key_object(key: ActivationKey) -> KeyObject {
    KeyObject {
        product_type: type_code(Product::CloudLinux, key.type_id)
            .unwrap_or_default()
            .to_ascii_lowercase(),
        usage_limit: key.server_limit,
        usage: key.servers,
        default: key.is_default,
        description: key.note,
        key: key.key_text,
    }
}

#[derive(Serialize)]
struct ServerObject {
    id: i64,
    key: String,
    ip: String,
    hostname: Option<String>,
}

fn server_object(server: KeyServer, key: &ActivationKey) -> ServerObject {
    ServerObject {
        id: server.id,
        key: key.key_text.clone(),
        ip: server.ip,
        hostname: server.hostname,
    }
}

/// `POST /api/v2/cl/keys`: a new key of the product for the caller.
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: CreateParams = call.params()?;
    let (type_id, limit) = (p.product_type.0, p.limit.0);
    let note = p.note.map(|n| n.0).unwrap_or_default();
    let key = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::create(c, actor, type_id, limit, &note)
    })
    .await?;
    Ok(success(key_object(key)))
}

/// `PATCH /api/v2/cl/keys`: the key's limit (required) and note.
pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: UpdateParams = call.params()?;
    let key = p.key.0;
    let change = KeyChange {
        limit: Some(p.limit.0),
        note: p.note.map(|n| n.0),
        ..KeyChange::default()
    };
    let updated = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::update(c, actor, PRODUCT, &key, &change)
    })
    .await?
    .ok_or_else(|| ApiError::from(DomainError::not_found(KEY_NOT_FOUND)))?;
    Ok(success(key_object(updated)))
}

#[derive(Serialize)]
struct DeletedKey {
    key: String,
}

/// `DELETE /api/v2/cl/keys`: the key with its servers.
pub async fn delete(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = call.params::<KeyParams>()?.key.0;
    let shown = key.clone();
    run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::delete(c, actor, PRODUCT, &key)
    })
    .await?
    .ok_or_else(|| ApiError::from(DomainError::not_found(KEY_NOT_FOUND)))?;
    Ok(success(DeletedKey { key: shown }))
}

/// `GET /api/v2/cl/keys`: the caller's keys of the product (of all four when absent).
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let types = CLOUDLINUX.types_or(call.params::<ListParams>()?.product_type.map(|c| c.0));
    let keys = db::run(&state.pool, move |c| {
        manage::list_of_types(c, reseller.id, &types)
    })
    .await?;
    Ok(success(
        keys.into_iter().map(key_object).collect::<Vec<_>>(),
    ))
}

/// `GET /api/v2/cl/servers`: the servers of the caller's keys of the product.
pub async fn server_list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let types = CLOUDLINUX.types_or(call.params::<ListParams>()?.product_type.map(|c| c.0));
    let rows = db::run(&state.pool, move |c| {
        servers::of_reseller(c, reseller.id, &types)
    })
    .await?;
    let rows: Vec<ServerObject> = rows
        .into_iter()
        .map(|(server, key)| server_object(server, &key))
        .collect();
    Ok(success(rows))
}

/// `DELETE /api/v2/cl/servers`: frees the server's slot on its key at once (the FAQ's
/// "remove the server, not the license").
pub async fn server_remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let id = call.params::<ServerIdParams>()?.id.0;
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        servers::remove_by_row(c, PRODUCT, id, &Remover::Reseller(actor))
    })
    .await?
    .ok_or_else(|| ApiError::from(DomainError::not_found("Server not found")))?;
    let (server, key) = removed;
    Ok(success(server_object(server, &key)))
}

/// A sub-account's server, as v2 lists them.
#[derive(Serialize)]
struct SubAccountServer {
    sub_account_login: String,
    sub_account_email: Option<String>,
    server_id: String,
    server_key: String,
    version: Option<String>,
    ip: String,
}

/// `GET /api/v2/cl/sub-account/servers`. ipls has no sub-accounts under a reseller: the
/// account answers for itself, one row per CloudLinux OS key server; the e-mail and
/// `version` are null (an account has no e-mail here, servers report no OS version).
pub async fn sub_account_servers(
    state: web::Data<AppState>,
    auth: Authenticated<Call>,
) -> ApiResult {
    let reseller = auth.reseller;
    let login = reseller.login.clone();
    let rows = db::run(&state.pool, move |c| {
        servers::of_reseller(c, reseller.id, &CLOUDLINUX.types())
    })
    .await?;
    let rows: Vec<SubAccountServer> = rows
        .into_iter()
        .map(|(server, key)| SubAccountServer {
            sub_account_login: login.clone(),
            sub_account_email: None,
            server_id: server.server_id,
            server_key: key.key_text,
            version: None,
            ip: server.ip,
        })
        .collect();
    Ok(success(rows))
}

/// `/api/v2/cl/register_server.json` (ours; no token): a server registers with a
/// CloudLinux OS key, answered like `kcare/register_server.json`, with CLN's words when the
/// key is full or unknown.
#[utoipa::path(get, path = "/api/v2/cl/register_server.json", operation_id = "clRegisterServer", tag = "servers",
    params(super::key_calls::RegisterServerParams), security(()), responses((status = 200, body = super::key_calls::RegisterServerData)))]
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::CloudLinux).await
}

//! `/api/im/...`: Imunify activation keys (keys.md), one product code per key.

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::key_calls::{
    self, nothing, optional_date, KeyParams, RegisterServerData, RegisterServerParams,
};
use super::mutation::run_as;
use super::params::{cln_params, FreeText, ImunifyCode, NoteOrDescription, ServerCount};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::imunify_code;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{Product, KEY_NOT_FOUND};
use crate::state::AppState;
use crate::wire::format_date;

const PRODUCT: Option<Product> = Some(Product::Imunify);

fn code_of(key: &ActivationKey) -> &'static str {
    imunify_code(key.type_id).unwrap_or("")
}

cln_params!(CreateParams {
    code: ImunifyCode = "code",
    /// Servers the key may hold; 0 = unlimited; default 1 (ours).
    limit: Option<ServerCount> = "limit",
    #[param(required = false)]
    note: NoteOrDescription = "note",
});

cln_params!(UpdateParams {
    key: FreeText = "key",
    /// Absent: unchanged; not below the servers the key holds.
    limit: Option<ServerCount> = "limit",
    /// Absent: unchanged.
    #[param(required = false)]
    note: NoteOrDescription = "note",
});

cln_params!(ServerParams {
    /// The server's id.
    id: FreeText = "id",
});

cln_params!(ConvertParams {
    /// The server's id.
    id: FreeText = "id",
    /// The caller's key to move it to (any Imunify code).
    key: FreeText = "key",
});

/// create and update answer with `limit` (and `servers`) as strings.
#[derive(Serialize, utoipa::ToSchema)]
struct KeyAnswer {
    key: String,
    limit: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    servers: Option<String>,
}

/// Create an Imunify key; `limit` comes back as a string.
#[utoipa::path(get, path = "/api/im/key/create.json", operation_id = "imKeyCreate", tag = "keys",
    params(CreateParams), responses((status = 200, body = KeyAnswer)))]
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: CreateParams = call.params()?;
    let type_id = p.code.0;
    let limit = p.limit.map_or(1, |l| l.0);
    let note = p.note.0.unwrap_or_default();
    let key = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::create(c, actor, type_id, limit, &note)
    })
    .await?;
    Ok(success(KeyAnswer {
        limit: key.server_limit.to_string(),
        code: code_of(&key),
        key: key.key_text,
        servers: None,
    }))
}

/// Change an Imunify key's limit or note; absent fields stay as they are.
#[utoipa::path(get, path = "/api/im/key/update.json", operation_id = "imKeyUpdate", tag = "keys",
    params(UpdateParams), responses((status = 200, body = KeyAnswer)))]
pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: UpdateParams = call.params()?;
    let key = p.key.0;
    let change = KeyChange {
        limit: p.limit.map(|l| l.0),
        note: p.note.0,
        ..KeyChange::default()
    };
    let updated = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::update(c, actor, PRODUCT, &key, &change)
    })
    .await?
    .ok_or_else(|| ApiError::from(crate::error::DomainError::not_found(KEY_NOT_FOUND)))?;
    Ok(success(KeyAnswer {
        limit: updated.server_limit.to_string(),
        code: code_of(&updated),
        servers: Some(updated.servers.to_string()),
        key: updated.key_text,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImunifyServerRef)]
struct ServerRef {
    id: String,
    key: String,
}

/// Remove an Imunify key with its servers: the removed servers; `[]` for a key that is not
/// the caller's.
#[utoipa::path(get, path = "/api/im/key/remove.json", operation_id = "imKeyRemove", tag = "keys",
    params(KeyParams), responses((status = 200, body = Vec<ServerRef>)))]
pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = call.params::<KeyParams>()?.key.0;
    let shown = key.clone();
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::delete(c, actor, PRODUCT, &key)
    })
    .await?
    .unwrap_or_default();
    Ok(success(
        removed
            .into_iter()
            .map(|s| ServerRef {
                id: s.server_id,
                key: shown.clone(),
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImunifyKeyRow)]
struct KeyRow {
    key: String,
    #[serde(rename = "type")]
    type_id: i32,
    code: &'static str,
    limit: i32,
    servers: i32,
    note: String,
    created: String,
}

/// The caller's Imunify keys, numbers as numbers.
#[utoipa::path(get, path = "/api/im/key/list.json", operation_id = "imKeyList", tag = "keys",
    responses((status = 200, body = Vec<KeyRow>)))]
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    let keys = db::run(&state.pool, move |c| {
        manage::list(c, Some(reseller.id), PRODUCT)
    })
    .await?;
    Ok(success(
        keys.into_iter()
            .map(|k| KeyRow {
                code: code_of(&k),
                type_id: k.type_id,
                limit: k.server_limit,
                servers: k.servers,
                created: format_date(k.created_at),
                key: k.key_text,
                note: k.note,
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImunifyServerRow)]
struct ServerRow {
    id: String,
    ip: String,
    key: String,
    created: String,
    last_checkin: Option<String>,
}

fn server_row(server: &KeyServer, key: &str) -> ServerRow {
    ServerRow {
        id: server.server_id.clone(),
        ip: server.ip.clone(),
        key: key.to_string(),
        created: format_date(server.created_at),
        last_checkin: optional_date(server.last_checkin),
    }
}

/// An Imunify key's servers; `[]` for a key that is not the caller's.
#[utoipa::path(get, path = "/api/im/srv/list.json", operation_id = "imServerList", tag = "keys",
    params(KeyParams), responses((status = 200, body = Vec<ServerRow>)))]
pub async fn server_list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = call.params::<KeyParams>()?.key.0;
    let shown = key.clone();
    let found = db::run(&state.pool, move |c| {
        servers::list(c, reseller.id, PRODUCT, &key)
    })
    .await?;
    Ok(success(
        found
            .iter()
            .map(|s| server_row(s, &shown))
            .collect::<Vec<_>>(),
    ))
}

/// Remove a server from one of the caller's Imunify keys; not found as KernelCare's.
#[utoipa::path(get, path = "/api/im/srv/remove.json", operation_id = "imServerRemove", tag = "keys",
    params(ServerParams), responses((status = 200, body = ServerRef)))]
pub async fn server_remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let server_id = call.params::<ServerParams>()?.id.0;
    let removed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        servers::remove(c, PRODUCT, &server_id, &Remover::Reseller(actor))
    })
    .await?;
    Ok(match removed {
        Some((server, key)) => success(ServerRef {
            id: server.server_id,
            key: key.key_text,
        }),
        None => nothing("Server not found"),
    })
}

/// Move a server to another of the caller's Imunify keys.
#[utoipa::path(get, path = "/api/im/srv/convert.json", operation_id = "imServerConvert", tag = "keys",
    params(ConvertParams), responses((status = 200, body = ServerRef)))]
pub async fn server_convert(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: ConvertParams = call.params()?;
    let (server_id, key) = (p.id.0, p.key.0);
    let moved = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        servers::convert(c, actor, Product::Imunify, &server_id, &key)
    })
    .await?
    .ok_or_else(|| {
        ApiError::from(crate::error::DomainError::not_found(
            "Server or key not found",
        ))
    })?;
    let (server, target) = moved;
    Ok(success(ServerRef {
        id: server.server_id,
        key: target.key_text,
    }))
}

/// A server registers itself with an Imunify key (ours; no token; rate-limited per
/// source): `success:true` whatever the code.
#[utoipa::path(get, path = "/api/im/register_server.json", operation_id = "imRegisterServer", tag = "servers",
    params(RegisterServerParams), security(()), responses((status = 200, body = RegisterServerData)))]
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::Imunify).await
}

//! `/api/im/...`: Imunify activation keys (keys.md), one product code per key.

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::key_calls::{self, limit_param, nothing, optional_date, required};
use super::mutation::run_as;
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::{imunify_code, imunify_type, IMUNIFY_CODES};
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{Product, KEY_NOT_FOUND};
use crate::state::AppState;
use crate::wire::format_date;

const PRODUCT: Option<Product> = Some(Product::Imunify);

fn code_of(key: &ActivationKey) -> &'static str {
    imunify_code(key.type_id).unwrap_or("")
}

/// The note: `note`, or `description` as the WHMCS module sends it.
fn note_param(call: &Call) -> Option<&str> {
    call.get("note").or_else(|| call.get("description"))
}

/// create and update answer with `limit` (and `servers`) as strings.
#[derive(Serialize)]
struct KeyAnswer {
    key: String,
    limit: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    servers: Option<String>,
}

/// `im/key/create.json?code=C&limit=N&note=TEXT`.
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let code = required(&call, "code")?;
    let type_id = imunify_type(code).ok_or_else(|| {
        ApiError::invalid(format!(
            "Unknown Imunify code {}; expected one of {}",
            crate::wire::shorten(code),
            IMUNIFY_CODES.map(|(c, _)| c).join(", ")
        ))
    })?;
    let limit = limit_param(&call, Some(1))?.unwrap_or(1);
    let note = note_param(&call).unwrap_or("").to_string();
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

/// `im/key/update.json?key=K[&limit=N][&note=TEXT]`: absent fields stay as they are.
pub async fn update(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
    let change = KeyChange {
        limit: limit_param(&call, None)?,
        note: note_param(&call).map(str::to_string),
        ..KeyChange::default()
    };
    let updated = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        manage::update(c, actor, PRODUCT, &key, &change)
    })
    .await?
    .ok_or_else(|| ApiError::invalid(KEY_NOT_FOUND))?;
    Ok(success(KeyAnswer {
        limit: updated.server_limit.to_string(),
        code: code_of(&updated),
        servers: Some(updated.servers.to_string()),
        key: updated.key_text,
    }))
}

#[derive(Serialize)]
struct ServerRef {
    id: String,
    key: String,
}

/// `im/key/remove.json?key=K`: the removed servers; `[]` for a key that is not the caller's.
pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
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

#[derive(Serialize)]
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

/// `im/key/list.json`: the caller's Imunify keys, numbers as numbers.
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

#[derive(Serialize)]
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

/// `im/srv/list.json?key=K`: the key's servers; `[]` for a key that is not the caller's.
pub async fn server_list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let key = required(&call, "key")?.to_string();
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

/// `im/srv/remove.json?id=S`.
pub async fn server_remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let server_id = required(&call, "id")?.to_string();
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

/// `im/srv/convert.json?id=S&key=K`: moves the server to another of the caller's keys.
pub async fn server_convert(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let server_id = required(&call, "id")?.to_string();
    let key = required(&call, "key")?.to_string();
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

/// `im/register_server.json?key=K[&hostname=H]` (ours), no token.
pub async fn register_server(state: web::Data<AppState>, call: Call) -> ApiResult {
    key_calls::register_server(&state, call, Product::Imunify).await
}

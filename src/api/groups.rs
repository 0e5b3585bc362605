//! `/api/group/...`: server groups (keys.md, "Server groups"). A group belongs to the
//! caller and one product (`productType` at creation, ours: IMUNIFY unless given); a server
//! is in at most one group.

use actix_web::web;
use serde::Serialize;

use super::call::Call;
use super::envelope::success;
use super::error::{ApiError, ApiResult};
use super::mutation::run_as;
use super::params::{cln_params, FreeText};
use crate::auth::Authenticated;
use crate::db;
use crate::db::models::{KeyServer, ServerGroup};
use crate::domain::keys::groups::{self, group_type, parse_group_type};
use crate::domain::keys::Product;
use crate::error::DomainError;
use crate::state::AppState;

cln_params!(CreateParams {
    name: FreeText = "name",
    description: Option<FreeText> = "description",
    /// IMUNIFY (default), KERNELCARE, CLOUDLINUX or ELS (ours).
    product_type: Option<FreeText> = "productType",
});

cln_params!(NameParams {
    name: FreeText = "name",
});

cln_params!(ServersParams {
    name: FreeText = "name",
    /// Server ids separated by commas.
    server_ids: FreeText = "server_ids",
});

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GroupGroupRow)]
struct GroupRow {
    name: String,
    description: String,
    /// Ours: the group's product.
    #[serde(rename = "type")]
    product: String,
}

fn group_row(group: ServerGroup) -> GroupRow {
    GroupRow {
        name: group.name,
        description: group.description,
        product: group.product,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = GroupServerRow)]
struct ServerRow {
    id: String,
    host_name: String,
    ip: String,
    #[serde(rename = "type")]
    product: &'static str,
}

fn server_rows(servers: Vec<KeyServer>, product: Product) -> Vec<ServerRow> {
    servers
        .into_iter()
        .map(|s| ServerRow {
            id: s.server_id,
            host_name: s.hostname.unwrap_or_default(),
            ip: s.ip,
            product: group_type(product),
        })
        .collect()
}

fn group_not_found(name: &str) -> ApiError {
    ApiError::from(DomainError::not_found(format!("Group {name} not found")))
}

/// `create.json`: a new group of the caller's.
#[utoipa::path(get, path = "/api/group/create.json", operation_id = "groupCreate", tag = "groups",
    params(CreateParams), responses((status = 200, body = GroupRow)))]
pub async fn create(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: CreateParams = call.params()?;
    let product = match p.product_type {
        None => Product::Imunify,
        Some(text) => parse_group_type(&text.0).ok_or_else(|| {
            ApiError::invalid("productType must be IMUNIFY, KERNELCARE, CLOUDLINUX or ELS")
        })?,
    };
    let (name, description) = (p.name.0, p.description.map(|d| d.0).unwrap_or_default());
    let group = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        groups::create(c, actor, product, &name, &description)
    })
    .await?;
    Ok(success(group_row(group)))
}

/// `list.json`: the caller's groups, by name.
#[utoipa::path(get, path = "/api/group/list.json", operation_id = "groupList", tag = "groups",
    responses((status = 200, body = Vec<GroupRow>)))]
pub async fn list(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let reseller = auth.reseller;
    let found = db::run(&state.pool, move |c| groups::list(c, reseller.id)).await?;
    Ok(success(
        found.into_iter().map(group_row).collect::<Vec<_>>(),
    ))
}

/// `servers/list.json`: a group's servers.
#[utoipa::path(get, path = "/api/group/servers/list.json", operation_id = "groupServers", tag = "groups",
    params(NameParams), responses((status = 200, body = Vec<ServerRow>)))]
pub async fn servers(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let name = call.params::<NameParams>()?.name.0;
    let shown = name.clone();
    let found = db::run(&state.pool, move |c| {
        groups::servers_named(c, reseller.id, &name)
    })
    .await?;
    let (servers, product) = found.ok_or_else(|| group_not_found(&shown))?;
    Ok(success(server_rows(servers, product)))
}

/// `servers/put.json`: the servers put in the group (all or none).
#[utoipa::path(get, path = "/api/group/servers/put.json", operation_id = "groupServersPut", tag = "groups",
    params(ServersParams), responses((status = 200, body = Vec<ServerRow>)))]
pub async fn put(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    change(state, auth, true).await
}

/// `servers/remove.json`: the servers taken out of the group.
#[utoipa::path(get, path = "/api/group/servers/remove.json", operation_id = "groupServersRemove", tag = "groups",
    params(ServersParams), responses((status = 200, body = Vec<ServerRow>)))]
pub async fn remove(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    change(state, auth, false).await
}

async fn change(state: web::Data<AppState>, auth: Authenticated<Call>, put: bool) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let p: ServersParams = call.params()?;
    let ids = groups::split_ids(&p.server_ids.0)?;
    let name = p.name.0;
    let shown = name.clone();
    let changed = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        if put {
            groups::put(c, actor, &name, &ids)
        } else {
            groups::remove(c, actor, &name, &ids)
        }
    })
    .await?;
    let (servers, product) = changed.ok_or_else(|| group_not_found(&shown))?;
    Ok(success(server_rows(servers, product)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GroupDeletedGroup)]
struct DeletedGroup {
    name: String,
}

/// `delete.json` (ours): the group goes; its servers stay on their keys.
#[utoipa::path(get, path = "/api/group/delete.json", operation_id = "groupDelete", tag = "groups",
    params(NameParams), responses((status = 200, body = DeletedGroup)))]
pub async fn delete(state: web::Data<AppState>, auth: Authenticated<Call>) -> ApiResult {
    let Authenticated { reseller, call } = auth;
    let name = call.params::<NameParams>()?.name.0;
    let shown = name.clone();
    let deleted = run_as(&state, &call.peer, reseller, move |c, actor, _| {
        groups::delete(c, actor, &name)
    })
    .await?;
    if !deleted {
        return Err(group_not_found(&shown));
    }
    Ok(success(DeletedGroup { name: shown }))
}

//! `/api/admin/v1/keys`: every reseller's activation keys (keys.md) for partner systems:
//! list, one key with its servers, create for a reseller, change limit, note or ranges,
//! delete, and remove one server. Changes are made as the key's reseller (source
//! `admin:TOKEN-NAME`),
//! through the same domain calls as the CLN key API.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::params;
use super::types::{
    BlockValue, IdCursor, IdempotencyKey, Login, PageSize, ProductValue, ServerLimit, Text,
};
use super::views::Page;
use crate::auth::admin::AdminCaller;
use crate::db::models::{ActivationKey, KeyServer, Reseller};
use crate::db::{self, DbConnection};
use crate::domain::actor::NO_SUCH_KEY;
use crate::domain::keys::manage::{self, KeyChange};
use crate::domain::keys::products::product_name;
use crate::domain::keys::servers::{self, Remover};
use crate::domain::keys::{self, cidr, sticky};
use crate::domain::ActingFor;
use crate::error::DomainError;
use crate::state::AppState;
use crate::wire::iso;

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Orders the keys (and pages of them).
    #[serde(skip)]
    pub id: i64,
    pub key: String,
    pub reseller: String,
    /// The license type the key's servers hold.
    #[serde(rename = "type")]
    pub type_id: i32,
    /// `kcare`, or the product code (Imunify `360_1`, CloudLinux OS `CLP`, ELS `CELS`, ...).
    pub product: String,
    /// Servers the key may hold; 0 = unlimited.
    pub limit: i32,
    /// Servers registered with it now.
    pub servers: i32,
    pub note: String,
    /// CIDR blocks servers may register from; empty: anywhere.
    pub ip_ranges: Vec<String>,
    pub default: bool,
    pub created_at: String,
    /// KernelCare keys: the sticky tag (servers take patches released before this day);
    /// null: none.
    #[schema(format = Date)]
    pub sticky_tag: Option<String>,
}

impl KeyView {
    fn new(k: &ActivationKey, login: &str) -> Self {
        Self {
            id: k.id,
            key: k.key_text.clone(),
            reseller: login.to_string(),
            type_id: k.type_id,
            product: product_name(k.type_id).to_string(),
            limit: k.server_limit,
            servers: k.servers,
            note: k.note.clone(),
            ip_ranges: k
                .cidrs
                .as_deref()
                .map(|c| c.split(' ').map(String::from).collect())
                .unwrap_or_default(),
            default: k.is_default,
            created_at: iso(k.created_at),
            sticky_tag: k.sticky_tag.map(|d| d.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyServerView {
    pub server_id: String,
    pub ip: String,
    pub hostname: Option<String>,
    pub created_at: String,
    pub last_checkin: Option<String>,
    /// What a KernelCare server reported at its last check-in (null: nothing reported).
    pub kernel_id: Option<String>,
    pub patch_level: Option<i32>,
    pub latest_patch_level: Option<i32>,
    pub kernel_supported: Option<bool>,
}

impl From<&KeyServer> for KeyServerView {
    fn from(s: &KeyServer) -> Self {
        Self {
            server_id: s.server_id.clone(),
            ip: s.ip.clone(),
            hostname: s.hostname.clone(),
            created_at: iso(s.created_at),
            last_checkin: s.last_checkin.map(iso),
            kernel_id: s.kernel_id.clone(),
            patch_level: s.patch_level,
            latest_patch_level: s.latest_patch_level,
            kernel_supported: s.kernel_supported,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyWithServers {
    #[serde(flatten)]
    pub key: KeyView,
    pub server_list: Vec<KeyServerView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyListParams {
    pub reseller: Option<Login>,
    pub product: Option<ProductValue>,
    pub limit: Option<PageSize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<IdCursor>,
}

/// Keys of every reseller (or one), oldest first, a page at a time.
#[utoipa::path(get, path = "/api/admin/v1/keys", operation_id = "listKeys", tag = "keys", params(KeyListParams),
    responses((status = 200, description = "A page of keys", body = Page<KeyView>)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<KeyListParams>,
) -> AdminResult {
    let names = params::logins(&state).await?;
    let reseller_id = params::reseller_id(&names, query.reseller.as_ref().map(|l| l.0.as_str()))?;
    let type_id = query.product.as_ref().map(|p| p.0);
    let limit = PageSize::of(query.limit);
    let after = query.cursor.map_or(0, |c| c.0);
    let found = db::run(&state.pool, move |c| manage::list(c, reseller_id, None)).await?;
    let mut items: Vec<KeyView> = found
        .iter()
        .filter(|k| type_id.is_none_or(|t| k.type_id == t) && k.id > after)
        .map(|k| KeyView::new(k, names.get(&k.reseller_id).map_or("", String::as_str)))
        .collect();
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|k| k.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// The key and its owner, or 404.
fn owned(conn: &mut DbConnection, key: &str) -> Result<(ActivationKey, Reseller), DomainError> {
    let owner = ActingFor::KeyOwner(key.to_string()).resolve(conn)?;
    let found = keys::find(conn, key)?.ok_or_else(|| DomainError::not_found(NO_SUCH_KEY))?;
    Ok((found, owner))
}

/// One key with its servers.
#[utoipa::path(get, path = "/api/admin/v1/keys/{key}", operation_id = "getKey", tag = "keys",
    params(("key" = String, Path)),
    responses((status = 200, description = "The key and its servers", body = KeyWithServers)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    key: web::Path<String>,
) -> AdminResult {
    let key = key.into_inner();
    let (found, owner, server_rows) = db::run(&state.pool, move |c| {
        let (found, owner) = owned(c, &key)?;
        let rows = servers::of_key(c, found.id)?;
        Ok((found, owner, rows))
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyWithServers {
        key: KeyView::new(&found, &owner.login),
        server_list: server_rows.iter().map(KeyServerView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub reseller: Login,
    pub product: ProductValue,
    /// Servers the key may hold; 0 = unlimited (default 1).
    #[serde(default)]
    pub limit: Option<ServerLimit>,
    /// Up to 100 characters; longer notes are cut.
    #[serde(default)]
    pub note: Option<Text>,
}

/// Create a key for a reseller. With an `Idempotency-Key`, the same request sent again gets
/// the same answer and creates nothing.
#[utoipa::path(post, path = "/api/admin/v1/keys", operation_id = "createKey", tag = "keys", request_body = NewKey,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Created", body = KeyView)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewKey = body::object(&req, &body)?;
    let type_id = input.product.0;
    idempotency::create(&state, &caller, &req, &body, input, |input| {
        create_key(&state, &caller, input, type_id)
    })
    .await
}

async fn create_key(
    state: &AppState,
    caller: &AdminCaller,
    input: NewKey,
    type_id: i32,
) -> Result<(KeyView, String), AdminError> {
    let acting = ActingFor::Login(input.reseller.0.clone());
    let (created, login) = state
        .act_as(acting, caller.source(), move |c, actor, _| {
            let note = input.note.as_ref().map_or("", |n| n.0.as_str());
            let limit = input.limit.map_or(1, |l| l.0);
            let key = manage::create(c, actor, type_id, limit, note)?;
            Ok((key, actor.reseller.login.clone()))
        })
        .await?;
    let view = KeyView::new(&created, &login);
    let resource = format!("keys/{}", view.key);
    Ok((view, resource))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    /// Servers the key may hold; 0 = unlimited; not below the servers it holds.
    #[serde(default)]
    pub limit: Option<ServerLimit>,
    #[serde(default)]
    pub note: Option<Text>,
    /// KernelCare keys: the CIDR blocks servers may register from; `[]` clears.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub ip_ranges: Option<Vec<BlockValue>>,
    /// KernelCare keys: the sticky tag, `YYYY-MM-DD` from 2018-05-28 to the day before
    /// today; null clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    pub sticky_tag: Option<Option<String>>,
}

/// A field that is present (Some), null included (Some(None)); absent stays None.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Change a key's limit, note or IP ranges; absent fields stay as they are.
#[utoipa::path(patch, path = "/api/admin/v1/keys/{key}", operation_id = "updateKey", tag = "keys", request_body = KeyPatch,
    params(("key" = String, Path)),
    responses((status = 200, description = "The key as changed", body = KeyView)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: KeyPatch = body::object(&req, &body)?;
    let blocks = input
        .ip_ranges
        .as_ref()
        .map(|list| {
            let joined: Vec<&str> = list.iter().map(|b| b.0.as_str()).collect();
            cidr::parse(&joined.join(" ")).map_err(|r| AdminError::invalid(r.message))
        })
        .transpose()?;
    let today = state.clock.now().date_naive();
    let tag = input
        .sticky_tag
        .as_ref()
        .map(|t| t.as_deref().map(|d| sticky::parse(d, today)).transpose())
        .transpose()?;
    let key = key.into_inner();
    let acting = ActingFor::KeyOwner(key.clone());
    let (changed, login) = state
        .act_as(acting, caller.source(), move |c, actor, _| {
            let change = KeyChange {
                limit: input.limit.map(|l| l.0),
                note: input.note.as_ref().map(|n| n.0.clone()),
                ranges: blocks,
            };
            // One transaction: a refused sticky tag leaves the limit and note as they were.
            let changed = db::write_transaction(c, |c| {
                let mut changed = manage::update(c, actor, None, &key, &change)?
                    .ok_or_else(|| DomainError::not_found(NO_SUCH_KEY))?;
                if let Some(tag) = tag {
                    changed = sticky::set(c, actor, &key, tag)?
                        .ok_or_else(|| DomainError::not_found(NO_SUCH_KEY))?;
                }
                Ok(changed)
            })?;
            Ok((changed, actor.reseller.login.clone()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(KeyView::new(&changed, &login)))
}

/// Delete a key with its servers (a default key is refused).
#[utoipa::path(delete, path = "/api/admin/v1/keys/{key}", operation_id = "deleteKey", tag = "keys",
    params(("key" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    key: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let key = key.into_inner();
    let acting = ActingFor::KeyOwner(key.clone());
    state
        .act_as(acting, caller.source(), move |c, actor, _| {
            manage::delete(c, actor, None, &key)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove one server from its key, freeing its slot.
#[utoipa::path(delete, path = "/api/admin/v1/key-servers/{server_id}", operation_id = "removeKeyServer", tag = "keys",
    params(("server_id" = String, Path)),
    responses((status = 204, description = "Removed")))]
pub async fn remove_server(
    state: web::Data<AppState>,
    caller: AdminCaller,
    server_id: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let server_id = server_id.into_inner();
    let now = state.clock.now().naive_utc();
    let source = caller.source().to_string();
    let removed = db::run(&state.pool, move |c| {
        let remover = Remover::Server {
            key: None,
            source: &source,
            now,
        };
        servers::remove(c, None, &server_id, &remover)
    })
    .await?;
    match removed {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(AdminError::not_found("no such key server")),
    }
}

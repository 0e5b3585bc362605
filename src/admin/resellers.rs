//! `/api/admin/v1/resellers`: list, create (secret shown once; `Idempotency-Key`), get,
//! patch, block, unblock, rotate the secret. Every change goes through
//! `domain::resellers`, as the CLI's and the console's do.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::types::{
    BlockReason, BlockValue, IdempotencyKey, LicenseLimit, Login, PageSize, TypeNumber,
};
use super::views::{Page, ResellerView, ResellerWithSecret, SecretView};
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::queries::held_by_reseller;
use crate::domain::resellers::{self, AccountChanges, ChangedBy, Grants, NewAccount};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeGrantInput {
    #[serde(rename = "type")]
    pub type_id: TypeNumber,
    /// Most licenses of the type; null or absent = unlimited.
    #[serde(default)]
    pub limit: Option<LicenseLimit>,
}

/// The grants a list names; a type listed twice takes its last limit.
fn grants_of_input(types: &[TypeGrantInput]) -> Grants {
    let mut grants = Grants::default();
    for t in types {
        grants.limits.insert(t.type_id.0, t.limit.map(|l| l.0));
    }
    grants
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReseller {
    pub login: Login,
    /// Types it may register, with limits; absent = every type, unlimited.
    #[serde(default)]
    pub types: Option<Vec<TypeGrantInput>>,
    /// One trial per product family per IP.
    #[serde(default)]
    pub trial: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResellerPatch {
    /// Replaces the types and limits.
    #[serde(default)]
    pub types: Option<Vec<TypeGrantInput>>,
    #[serde(default)]
    pub trial: Option<bool>,
    /// CIDR blocks (or addresses) API calls must come from; empty = anywhere.
    #[serde(default)]
    #[schema(max_items = 256)]
    // resellers::MAX_ALLOWED_BLOCKS (`the_document_states_the_domain_bounds`)
    pub allow_from: Option<Vec<BlockValue>>,
    #[serde(default)]
    pub api_enabled: Option<bool>,
    #[serde(default)]
    pub legacy_sha1: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    /// Shown to the reseller with every refused change.
    pub reason: BlockReason,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub limit: Option<PageSize>,
    /// `next_cursor` of the previous page (a login).
    pub cursor: Option<Login>,
}

async fn view(state: &AppState, login: String) -> Result<ResellerView, AdminError> {
    let now = state.clock.now().naive_utc();
    let found = db::run(&state.pool, move |c| {
        let Some(r) = resellers::find_by_login(c, &login)? else {
            return Ok(None);
        };
        let grants = resellers::grants_of(c, r.id)?;
        let held = held_by_reseller(c, now)?.get(&r.id).copied().unwrap_or(0);
        Ok(Some(ResellerView::new(&r, &grants, held)))
    })
    .await?;
    found.ok_or_else(|| AdminError::not_found("no such reseller"))
}

/// List resellers, by login.
#[utoipa::path(get, path = "/api/admin/v1/resellers", operation_id = "listResellers", tag = "resellers", params(ListParams),
    responses((status = 200, description = "A page of resellers", body = Page<ResellerView>)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<ListParams>,
) -> AdminResult {
    let limit = PageSize::of(query.limit);
    let after = query.cursor.clone().map(|c| c.0).unwrap_or_default();
    let now = state.clock.now().naive_utc();
    let (items, more) = db::run(&state.pool, move |c| {
        let held = held_by_reseller(c, now)?;
        let mut all: Vec<_> = resellers::list(c)?
            .into_iter()
            .filter(|r| r.login.as_str() > after.as_str())
            .collect();
        all.sort_by(|a, b| a.login.cmp(&b.login));
        let more = all.len() as i64 > limit;
        all.truncate(limit as usize);
        let mut items = Vec::with_capacity(all.len());
        for r in &all {
            let grants = resellers::grants_of(c, r.id)?;
            items.push(ResellerView::new(
                r,
                &grants,
                held.get(&r.id).copied().unwrap_or(0),
            ));
        }
        Ok((items, more))
    })
    .await?;
    let next_cursor = more
        .then(|| items.last().map(|r| r.login.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Create a reseller. The answer holds its secret, once. With an `Idempotency-Key`, the
/// same request sent again gets the same answer (the secret included) and creates nothing.
#[utoipa::path(post, path = "/api/admin/v1/resellers", operation_id = "createReseller", tag = "resellers", request_body = NewReseller,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Created; the secret is shown once", body = ResellerWithSecret)))]
pub async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewReseller = body::object(&req, &body)?;
    let explicit = input.types.as_deref().map(grants_of_input);
    idempotency::create(&state, &caller, &req, &body, input, |input| {
        create_reseller(&state, &caller, input, explicit)
    })
    .await
}

async fn create_reseller(
    state: &AppState,
    caller: &AdminCaller,
    input: NewReseller,
    explicit: Option<Grants>,
) -> Result<(ResellerWithSecret, String), AdminError> {
    let login = input.login.0.clone();
    let secret = resellers::generate_secret()?;
    let secrets = state.secrets.clone();
    let now = state.clock.now().naive_utc();
    let (new_login, new_secret) = (login.clone(), secret.clone());
    let by = caller.source();
    db::run(&state.pool, move |c| {
        let grants = match explicit {
            Some(g) => g,
            None => Grants {
                limits: all_types(c)?.iter().map(|t| (t.id, None)).collect(),
            },
        };
        let account = NewAccount {
            login: &new_login,
            secret: &new_secret,
            trial: input.trial,
            grants: &grants,
            now,
            by: &by,
        };
        resellers::create(c, &account, &secrets)
    })
    .await?;
    let answer = ResellerWithSecret {
        reseller: view(state, login.clone()).await?,
        secret,
    };
    Ok((answer, format!("resellers/{login}")))
}

/// One reseller.
#[utoipa::path(get, path = "/api/admin/v1/resellers/{login}", operation_id = "getReseller", tag = "resellers",
    params(("login" = String, Path)),
    responses((status = 200, description = "The reseller", body = ResellerView)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    Ok(HttpResponse::Ok().json(view(&state, login.into_inner()).await?))
}

async fn apply(
    state: &AppState,
    caller: &AdminCaller,
    login: String,
    changes: AccountChanges,
) -> Result<ResellerView, AdminError> {
    let secrets = state.secrets.clone();
    let target = login.clone();
    let exists = db::run(&state.pool, move |c| resellers::find_by_login(c, &target)).await?;
    if exists.is_none() {
        return Err(AdminError::not_found("no such reseller"));
    }
    let source = caller.source();
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        resellers::update(c, &login, &changes, &secrets, &by)
    })
    .await?;
    let login = exists.map(|r| r.login).unwrap_or_default();
    view(state, login).await
}

/// Change types and limits, trial, allowed sources, API access or legacy sha1.
#[utoipa::path(patch, path = "/api/admin/v1/resellers/{login}", operation_id = "patchReseller", tag = "resellers",
    params(("login" = String, Path)), request_body = ResellerPatch,
    responses((status = 200, description = "The reseller as changed", body = ResellerView)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let body: ResellerPatch = body::object(&req, &body)?;
    let allow_from = body.allow_from.as_ref().map(|blocks| {
        blocks
            .iter()
            .map(|b| b.0.as_str())
            .collect::<Vec<_>>()
            .join(",")
    });
    let changes = AccountChanges {
        grants: body.types.as_deref().map(grants_of_input),
        trial: body.trial,
        api_enabled: body.api_enabled,
        legacy_sha1: body.legacy_sha1,
        allow_from,
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(apply(&state, &caller, login.into_inner(), changes).await?))
}

/// Block: reads keep working, every change is refused with the reason. Its console users
/// are logged out.
#[utoipa::path(post, path = "/api/admin/v1/resellers/{login}/block", operation_id = "blockReseller", tag = "resellers",
    params(("login" = String, Path)), request_body = BlockRequest,
    responses((status = 200, description = "The reseller, blocked", body = ResellerView)))]
pub async fn block(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let body: BlockRequest = body::object(&req, &body)?;
    let changes = AccountChanges {
        blocked_reason: Some(Some(body.reason.0)),
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(apply(&state, &caller, login.into_inner(), changes).await?))
}

/// Lift a block.
#[utoipa::path(post, path = "/api/admin/v1/resellers/{login}/unblock", operation_id = "unblockReseller", tag = "resellers",
    params(("login" = String, Path)),
    responses((status = 200, description = "The reseller, active again", body = ResellerView)))]
pub async fn unblock(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let changes = AccountChanges {
        blocked_reason: Some(None),
        ..Default::default()
    };
    Ok(HttpResponse::Ok().json(apply(&state, &caller, login.into_inner(), changes).await?))
}

/// Replace the secret with a new random one, returned once. Tokens made with the old one
/// stop working within `IPLS_AUTH_CACHE_SECS`.
#[utoipa::path(post, path = "/api/admin/v1/resellers/{login}/rotate-secret", operation_id = "rotateResellerSecret", tag = "resellers",
    params(("login" = String, Path)),
    responses((status = 200, description = "The new secret, shown once", body = SecretView)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: AdminCaller,
    login: web::Path<String>,
) -> AdminResult {
    caller.may_write()?;
    let secret = resellers::generate_secret()?;
    let changes = AccountChanges {
        secret: Some(secret.clone()),
        ..Default::default()
    };
    let reseller = apply(&state, &caller, login.into_inner(), changes).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(SecretView {
            login: reseller.login,
            secret,
        }))
}

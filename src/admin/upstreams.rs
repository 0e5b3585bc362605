//! `/api/admin/v1/upstreams`: the upstreams licenses are carried to (docs/upstream.md): list,
//! add (the secret in the body, never shown again), one with its changes waiting, change its
//! types, remove, test its credentials, and reconcile it. The same domain calls as
//! `ipls upstream`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::types::upstream::{UpstreamName, UpstreamSecret, UpstreamUrl};
use super::types::{Concurrency, IdempotencyKey, Login, Rate, TypeNumber};
use super::views::Page;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::db::models::UpstreamOp;
use crate::domain::upstream::ops::{self, Health, PENDING};
use crate::domain::upstream::reconcile::{Counts, Repair};
use crate::domain::upstream::upstreams::{self, NewUpstream, UpstreamView};
use crate::state::AppState;
use crate::upstream::reconcile::{self, stored_counts, Options};
use crate::wire::iso;

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamSummary {
    pub name: String,
    pub url: String,
    pub login: String,
    /// The license types carried to it.
    pub types: Vec<i32>,
    /// Calls at once, and per second, each instance makes to it.
    pub concurrency: i32,
    pub rate_per_second: i32,
    /// Changes waiting to be carried to it.
    pub pending: i64,
    /// Since when its longest-failing waiting change has been failing; null: none is.
    pub failing_since: Option<String>,
    pub last_error: Option<String>,
    pub last_reconcile_at: Option<String>,
    /// The last reconcile's counts by kind of difference.
    #[schema(value_type = Option<Object>)]
    pub last_reconcile: Option<Counts>,
    pub created_at: String,
}

impl UpstreamSummary {
    fn new(view: UpstreamView, health: Health) -> Self {
        let u = view.upstream;
        let (failing_since, last_error) = match health.failing {
            Some((since, error)) => (Some(iso(since)), Some(error)),
            None => (None, None),
        };
        Self {
            last_reconcile: stored_counts(u.last_reconcile_counts.as_deref()),
            name: u.name,
            url: u.url,
            login: u.login,
            types: view.types,
            concurrency: u.concurrency,
            rate_per_second: u.rate_per_second,
            pending: health.pending,
            failing_since,
            last_error,
            last_reconcile_at: u.last_reconcile_at.map(iso),
            created_at: iso(u.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitingChange {
    pub id: i64,
    pub ip: String,
    /// `register`, `remove`, `update` or `convert`.
    pub change: String,
    #[serde(rename = "type")]
    pub type_id: i32,
    pub type_to: Option<i32>,
    pub els_allowed: Option<bool>,
    pub queued_at: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

impl From<UpstreamOp> for WaitingChange {
    fn from(op: UpstreamOp) -> Self {
        Self {
            id: op.id,
            ip: op.ip,
            change: op.op,
            type_id: op.type_id,
            type_to: op.type_to,
            els_allowed: op.els_allowed,
            queued_at: iso(op.created_at),
            attempts: op.attempts,
            next_attempt_at: op.next_attempt_at.map(iso),
            last_error: op.last_error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamDetail {
    #[serde(flatten)]
    pub upstream: UpstreamSummary,
    /// Its changes still waiting, newest first (at most 100).
    pub waiting: Vec<WaitingChange>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpstreamBody {
    pub name: UpstreamName,
    pub url: UpstreamUrl,
    /// ipls's API login there.
    pub login: Login,
    /// ipls's secret there; sealed with the master key, never shown again.
    pub secret: UpstreamSecret,
    /// The license types carried to it (each type to one upstream at most).
    #[schema(min_items = 1)]
    pub types: Vec<TypeNumber>,
    #[serde(default)]
    pub concurrency: Option<Concurrency>,
    #[serde(default)]
    pub rate_per_second: Option<Rate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamPatch {
    /// Exactly the types carried to it from now on.
    pub types: Vec<TypeNumber>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveParams {
    /// Remove it even though changes wait for it (they are dropped).
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamTest {
    /// True when the upstream accepted the credentials and answered list.json.
    pub ok: bool,
    /// Licenses it holds for ipls's account, and per type.
    pub total: Option<usize>,
    #[schema(value_type = Option<Object>)]
    pub by_type: Option<std::collections::BTreeMap<i32, usize>>,
    /// What went wrong.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReconcileBody {
    /// Repair what is ipls's (queued to the upstream; the server's relay carries it).
    #[serde(default)]
    pub repair: bool,
    /// Take licenses held upstream that were never ipls's in under this reseller.
    #[serde(default)]
    pub adopt_into: Option<Login>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceView {
    /// `upstream-only`, `foreign`, `local-only` or `type-differs`.
    pub kind: &'static str,
    pub ip: String,
    pub upstream_type: Option<i32>,
    pub local_type: Option<i32>,
    pub reseller_id: Option<i64>,
    /// `reported`, `adopted`, what was queued, or why it was left alone.
    pub action: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconcileResult {
    pub differences: Vec<DifferenceView>,
    #[schema(value_type = Object)]
    pub counts: Counts,
    /// Local licenses whose check-in data changed.
    pub checkins_updated: usize,
    /// The one-line summary `ipls upstream reconcile` prints.
    pub summary: String,
}

async fn summary_of(state: &AppState, name: String) -> Result<(UpstreamView, Health), AdminError> {
    Ok(db::run(&state.pool, move |c| {
        let view = upstreams::show(c, &name)?;
        let health = ops::health(c, view.upstream.id)?;
        Ok((view, health))
    })
    .await?)
}

/// List upstreams, by name.
#[utoipa::path(get, path = "/api/admin/v1/upstreams", operation_id = "listUpstreams", tag = "upstreams",
    responses((status = 200, description = "Every upstream (one page)", body = Page<UpstreamSummary>)))]
pub async fn list(state: web::Data<AppState>, _caller: AdminCaller) -> AdminResult {
    let rows = db::run(&state.pool, upstreams::overview).await?;
    let items = rows
        .into_iter()
        .map(|(v, h)| UpstreamSummary::new(v, h))
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
    }))
}

/// Add an upstream and route types to it. With an `Idempotency-Key`, the same request sent
/// again gets the same answer and adds nothing.
#[utoipa::path(post, path = "/api/admin/v1/upstreams", operation_id = "createUpstream", tag = "upstreams", request_body = NewUpstreamBody,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Added (the secret is not shown)", body = UpstreamSummary),
        (status = 404, description = "No such license type", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewUpstreamBody = body::object(&req, &body)?;
    idempotency::create(&state, &caller, &req, &body, input, |input| {
        add_upstream(&state, input)
    })
    .await
}

async fn add_upstream(
    state: &AppState,
    input: NewUpstreamBody,
) -> Result<(UpstreamSummary, String), AdminError> {
    let secrets = state.secrets.clone();
    let now = state.clock.now().naive_utc();
    let name = input.name.0.clone();
    db::run(&state.pool, move |c| {
        let types: Vec<i32> = input.types.iter().map(|t| t.0).collect();
        let new = NewUpstream {
            name: &input.name.0,
            url: &input.url.0,
            login: &input.login.0,
            secret: &input.secret.0,
            types: &types,
            concurrency: input
                .concurrency
                .map_or(upstreams::DEFAULT_CONCURRENCY, |c| c.0),
            rate_per_second: input
                .rate_per_second
                .map_or(upstreams::DEFAULT_RATE, |r| r.0),
            now,
        };
        upstreams::add(c, &new, &secrets)
    })
    .await?;
    let (view, health) = summary_of(state, name).await?;
    let resource = format!("upstreams/{}", view.upstream.name);
    Ok((UpstreamSummary::new(view, health), resource))
}

/// One upstream, with its changes waiting.
#[utoipa::path(get, path = "/api/admin/v1/upstreams/{name}", operation_id = "getUpstream", tag = "upstreams",
    params(("name" = UpstreamName, Path, description = "The upstream's name")),
    responses((status = 200, description = "The upstream", body = UpstreamDetail)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    name: web::Path<UpstreamName>,
) -> AdminResult {
    let name = name.into_inner().0;
    let (view, health) = summary_of(&state, name).await?;
    let id = view.upstream.id;
    let waiting = db::run(&state.pool, move |c| ops::list(c, id, PENDING, 100)).await?;
    Ok(HttpResponse::Ok().json(UpstreamDetail {
        upstream: UpstreamSummary::new(view, health),
        waiting: waiting.into_iter().map(WaitingChange::from).collect(),
    }))
}

/// Route exactly these types to the upstream.
#[utoipa::path(patch, path = "/api/admin/v1/upstreams/{name}", operation_id = "patchUpstream", tag = "upstreams",
    params(("name" = UpstreamName, Path, description = "The upstream's name")), request_body = UpstreamPatch,
    responses((status = 200, description = "The upstream as it is now", body = UpstreamSummary)))]
pub async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    name: web::Path<UpstreamName>,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: UpstreamPatch = body::object(&req, &body)?;
    let name = name.into_inner().0;
    let types: Vec<i32> = input.types.iter().map(|t| t.0).collect();
    let shown = name.clone();
    db::run(&state.pool, move |c| upstreams::set_types(c, &name, &types)).await?;
    let (view, health) = summary_of(&state, shown).await?;
    Ok(HttpResponse::Ok().json(UpstreamSummary::new(view, health)))
}

/// Remove an upstream: its types stay local. Refused (409) while changes wait for it, unless
/// `force=true`.
#[utoipa::path(delete, path = "/api/admin/v1/upstreams/{name}", operation_id = "deleteUpstream", tag = "upstreams",
    params(("name" = UpstreamName, Path, description = "The upstream's name"), RemoveParams),
    responses((status = 204, description = "Removed")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    name: web::Path<UpstreamName>,
    query: web::Query<RemoveParams>,
) -> AdminResult {
    caller.may_write()?;
    let name = name.into_inner().0;
    let force = query.force.unwrap_or(false);
    db::run(&state.pool, move |c| upstreams::remove(c, &name, force)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Call the upstream with its credentials (list.json) and say what it holds.
#[utoipa::path(post, path = "/api/admin/v1/upstreams/{name}/test", operation_id = "testUpstream", tag = "upstreams",
    params(("name" = UpstreamName, Path, description = "The upstream's name")),
    responses((status = 200, description = "What the call found (ok false: why)", body = UpstreamTest)))]
pub async fn test(
    state: web::Data<AppState>,
    caller: AdminCaller,
    name: web::Path<UpstreamName>,
) -> AdminResult {
    caller.may_write()?;
    let name = name.into_inner().0;
    let (view, _) = summary_of(&state, name).await?;
    let answer = match crate::upstream::probe::probe(&state.relay, &view.upstream).await {
        Ok(found) => UpstreamTest {
            ok: true,
            total: Some(found.total),
            by_type: Some(found.by_type),
            error: None,
        },
        Err(e) => UpstreamTest {
            ok: false,
            total: None,
            by_type: None,
            error: Some(e.public_message().to_string()),
        },
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// Compare the upstream's licenses with the local ones; repair what is ipls's or adopt
/// foreign ones when asked. Repairs are queued and carried by the server's relay.
#[utoipa::path(post, path = "/api/admin/v1/upstreams/{name}/reconcile", operation_id = "reconcileUpstream", tag = "upstreams",
    params(("name" = UpstreamName, Path, description = "The upstream's name")), request_body = ReconcileBody,
    responses((status = 200, description = "What differs, and what was done", body = ReconcileResult)))]
pub async fn reconcile_now(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    name: web::Path<UpstreamName>,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: ReconcileBody = body::object(&req, &body)?;
    let name = name.into_inner().0;
    let upstream = db::run(&state.pool, move |c| upstreams::get(c, &name)).await?;
    let options = Options {
        repair: input.repair,
        adopt_into: input.adopt_into.map(|l| l.0),
        source: caller.source(),
        checkins: true,
    };
    let outcome = reconcile::run(&state.relay, &upstream, &options).await?;
    let differences = outcome
        .differences
        .iter()
        .map(|(d, repair)| DifferenceView {
            kind: d.kind.as_str(),
            ip: d.ip.clone(),
            upstream_type: d.upstream_type,
            local_type: d.local_type,
            reseller_id: d.reseller_id,
            action: Repair::describe(repair.as_ref()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ReconcileResult {
        differences,
        summary: outcome.counts.line(&upstream.name),
        counts: outcome.counts,
        checkins_updated: outcome.checkins,
    }))
}

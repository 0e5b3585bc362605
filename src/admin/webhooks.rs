//! `/api/admin/v1/webhooks`: endpoints (list, create with the secret shown once and an
//! `Idempotency-Key`, get, delete, send a test message) and their deliveries (list with
//! each attempt, retry). Every change goes through `domain::webhooks`, as the CLI's does.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::params;
use super::types::{EventName, IdCursor, IdempotencyKey, Login, PageSize, WebhookUrl};
use super::views::Page;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::webhooks::deliveries::{self, Attempt, Delivery};
use crate::domain::webhooks::endpoints::{self, EndpointView};
use crate::problem::Kind;
use crate::state::AppState;
use crate::webhooks::ping::send_test;
use crate::webhooks::subscribe::{add_endpoint, EndpointRequest};
use crate::wire::iso;

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    /// The reseller whose events only it receives; null: every reseller's (the operator's).
    pub reseller: Option<String>,
    /// `["*"]` or the event types it receives.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled (a 410 answer, or the retry schedule used up).
    pub disabled_reason: Option<String>,
    pub created_at: String,
}

impl From<EndpointView> for WebhookEndpoint {
    fn from(v: EndpointView) -> Self {
        Self {
            id: v.endpoint.id,
            url: v.endpoint.url,
            reseller: v.reseller,
            events: v.subscription.names(),
            enabled: v.endpoint.enabled,
            disabled_reason: v.endpoint.disabled_reason,
            created_at: iso(v.endpoint.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The `whsec_` signing secret, shown once.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    pub url: WebhookUrl,
    /// Only this reseller's events; absent: every reseller's.
    #[serde(default)]
    pub reseller: Option<Login>,
    /// `["*"]` (the default) or event types, e.g. `["license.registered"]`; `*` among
    /// names means every event.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub events: Option<Vec<EventName>>,
}

/// A page of a list ordered by id.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdPageParams {
    pub limit: Option<PageSize>,
    pub cursor: Option<IdCursor>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttempt {
    pub at: String,
    /// The HTTP status answered; null when there was no answer.
    pub status: Option<i32>,
    pub duration_ms: i32,
    /// The first 2 KB of the answer's body.
    pub response: Option<String>,
    /// Why there was no answer (connection refused, timeout, refused target).
    pub error: Option<String>,
}

impl From<Attempt> for WebhookAttempt {
    fn from(a: Attempt) -> Self {
        Self {
            at: iso(a.at),
            status: a.status,
            duration_ms: a.duration_ms,
            response: a.response,
            error: a.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub webhook_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub created_at: String,
    /// When the next attempt is due; null when due at once or not pending.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    /// The payload sent, as sent.
    pub payload: serde_json::Value,
    pub log: Vec<WebhookAttempt>,
}

/// A delivery with its every attempt (`failed`: the failed attempts of this and other
/// deliveries, from `attempts_of`).
fn delivery_view(d: Delivery, failed: &[Attempt]) -> WebhookDelivery {
    let log = deliveries::log_of(&d, failed)
        .into_iter()
        .map(WebhookAttempt::from)
        .collect();
    let pending = d.state == deliveries::PENDING;
    WebhookDelivery {
        id: d.id,
        endpoint_id: d.endpoint_id,
        webhook_id: d.message_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
        created_at: iso(d.created_at),
        next_attempt_at: d.next_attempt_at.filter(|_| pending).map(iso),
        delivered_at: d.delivered_at.map(iso),
        payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
        log,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestResult {
    pub webhook_id: String,
    /// True when the endpoint answered 2xx.
    pub delivered: bool,
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub response: Option<String>,
    pub error: Option<String>,
}

async fn endpoint(state: &AppState, id: i64) -> Result<EndpointView, AdminError> {
    db::run(&state.pool, move |c| endpoints::find(c, id))
        .await?
        .ok_or_else(|| AdminError::not_found("no such webhook endpoint"))
}

/// List webhook endpoints, oldest first.
#[utoipa::path(get, path = "/api/admin/v1/webhooks", operation_id = "listWebhooks", tag = "webhooks", params(IdPageParams),
    responses((status = 200, description = "A page of endpoints", body = Page<WebhookEndpoint>)))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    query: web::Query<IdPageParams>,
) -> AdminResult {
    let limit = PageSize::of(query.limit);
    let after = query.cursor.map_or(0, |c| c.0);
    let all = db::run(&state.pool, move |c| endpoints::list(c, None)).await?;
    let mut items: Vec<WebhookEndpoint> = all
        .into_iter()
        .filter(|v| v.endpoint.id > after)
        .map(WebhookEndpoint::from)
        .collect();
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Add an endpoint. The answer holds its signing secret, once. With an `Idempotency-Key`,
/// the same request sent again gets the same answer and adds nothing.
#[utoipa::path(post, path = "/api/admin/v1/webhooks", operation_id = "createWebhook", tag = "webhooks", request_body = NewWebhookEndpoint,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "Added; the secret is shown once", body = WebhookEndpointWithSecret),
        (status = 404, description = "No such reseller", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: NewWebhookEndpoint = body::object(&req, &body)?;
    let events = match &input.events {
        None => "*".to_string(),
        Some(list) if list.is_empty() => {
            return Err(AdminError::invalid(
                "events lists at least one type, or \"*\"",
            ))
        }
        Some(list) => list
            .iter()
            .map(|e| e.0.as_str())
            .collect::<Vec<_>>()
            .join(","),
    };
    idempotency::create(&state, &caller, &req, &body, input, |input| {
        create_endpoint(&state, input, events)
    })
    .await
}

async fn create_endpoint(
    state: &AppState,
    input: NewWebhookEndpoint,
    events: String,
) -> Result<(WebhookEndpointWithSecret, String), AdminError> {
    if let Some(login) = &input.reseller {
        let names = params::logins(state).await?;
        params::reseller_id(&names, Some(&login.0))?;
    }
    let secrets = state.secrets.clone();
    let allow_private = state.config.webhooks.allow_private;
    let now = state.clock.now().naive_utc();
    let (view, secret) = db::run(&state.pool, move |c| {
        let request = EndpointRequest {
            url: &input.url.0,
            reseller: input.reseller.as_ref().map(|l| l.0.as_str()),
            events: &events,
            now,
        };
        add_endpoint(c, &request, &secrets, allow_private)
    })
    .await?;
    let answer = WebhookEndpointWithSecret {
        endpoint: view.into(),
        secret,
    };
    let resource = format!("webhooks/{}", answer.endpoint.id);
    Ok((answer, resource))
}

/// One endpoint.
#[utoipa::path(get, path = "/api/admin/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The endpoint", body = WebhookEndpoint)))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<i64>,
) -> AdminResult {
    let view = endpoint(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::from(view)))
}

/// Remove an endpoint with its queued deliveries and their log.
#[utoipa::path(delete, path = "/api/admin/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Removed")))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<i64>,
) -> AdminResult {
    caller.may_write()?;
    let id = id.into_inner();
    endpoint(&state, id).await?;
    db::run(&state.pool, move |c| endpoints::remove(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a signed `webhook.test` message to the endpoint now (outside its queue) and return
/// what it answered.
#[utoipa::path(post, path = "/api/admin/v1/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, description = "What the endpoint answered", body = WebhookTestResult)))]
pub async fn test(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<i64>,
) -> AdminResult {
    caller.may_write()?;
    let view = endpoint(&state, id.into_inner()).await?;
    let (webhook_id, answer) = send_test(&view.endpoint, &state.secrets, &state.config.webhooks)
        .await
        .map_err(|e| AdminError::new(Kind::Internal, e))?;
    let response = deliveries::logged_answer(&answer.body);
    Ok(HttpResponse::Ok().json(WebhookTestResult {
        webhook_id,
        delivered: answer.succeeded(),
        status: answer.status,
        duration_ms: u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX),
        response: (!response.is_empty()).then_some(response),
        error: answer.error,
    }))
}

/// The endpoint's deliveries, newest first, each with its attempts.
#[utoipa::path(get, path = "/api/admin/v1/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks",
    params(("id" = i64, Path), IdPageParams),
    responses((status = 200, description = "A page of deliveries", body = Page<WebhookDelivery>)))]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _caller: AdminCaller,
    id: web::Path<i64>,
    query: web::Query<IdPageParams>,
) -> AdminResult {
    let id = id.into_inner();
    let limit = PageSize::of(query.limit);
    let before = query.cursor.map(|c| c.0);
    endpoint(&state, id).await?;
    let (rows, log) = db::run(&state.pool, move |c| {
        let rows = deliveries::list(c, id, before, limit + 1)?;
        let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
        Ok((rows, deliveries::attempts_of(c, &ids)?))
    })
    .await?;
    let more = rows.len() as i64 > limit;
    let mut items: Vec<WebhookDelivery> = Vec::with_capacity(rows.len());
    for d in rows.into_iter().take(limit as usize) {
        items.push(delivery_view(d, &log));
    }
    let next_cursor = more
        .then(|| items.last().map(|d| d.id.to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Queue a delivery again, due at once; its endpoint is enabled if it was disabled.
#[utoipa::path(post, path = "/api/admin/v1/webhook-deliveries/{id}/retry", operation_id = "retryWebhookDelivery", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The delivery, queued again", body = WebhookDelivery)))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<i64>,
) -> AdminResult {
    caller.may_write()?;
    let id = id.into_inner();
    let found = db::run(&state.pool, move |c| deliveries::find(c, id)).await?;
    if found.is_none() {
        return Err(AdminError::not_found("no such webhook delivery"));
    }
    let (delivery, log) = db::run(&state.pool, move |c| {
        let delivery = deliveries::retry(c, id)?;
        let log = deliveries::attempts_of(c, &[id])?;
        Ok((delivery, log))
    })
    .await?;
    crate::domain::webhooks::outbox::DELIVERIES_QUEUED.raise();
    Ok(HttpResponse::Ok().json(delivery_view(delivery, &log)))
}

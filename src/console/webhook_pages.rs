//! The operator's Webhooks pages: endpoints (add with the secret shown once, remove, send a
//! test message) and one endpoint's deliveries with their last answer and a retry button.
//! The same domain calls as `ipls webhook` and the admin API.

use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::dates;
use super::form_pairs::Pairs;
use super::guard;
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::domain::webhooks::deliveries;
use crate::domain::webhooks::endpoints;
use crate::domain::webhooks::EventType;
use crate::error::DomainError;
use crate::state::AppState;
use crate::webhooks::ping::send_test;
use crate::webhooks::subscribe::{add_endpoint, EndpointRequest};

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    notice: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "removed" => Some("Endpoint removed."),
        "retried" => Some("Delivery queued again."),
        _ => None,
    }
}

pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<Shown>,
) -> PageResult {
    guard::operator_read(&who)?;
    let all = db::run(&state.pool, |c| endpoints::list(c, None)).await?;
    let body = html! {
        (notice(notice_text(&query.notice)))
        @if all.is_empty() {
            p.empty { "No webhook endpoint yet." }
        } @else {
            table #webhooks {
                thead { tr { th scope="col" { "URL" } th scope="col" { "Reseller" } th scope="col" { "Events" } th scope="col" { "State" } th scope="col" { "Actions" } } }
                tbody {
                    @for v in &all {
                        tr {
                            td { a href={"/console/operator/webhooks/" (v.endpoint.id)} { (v.endpoint.url) } }
                            td { (v.reseller.as_deref().unwrap_or("all resellers")) }
                            td { (v.subscription.display()) }
                            td {
                                @if v.endpoint.enabled { "enabled" }
                                @else { "disabled: " (v.endpoint.disabled_reason.as_deref().unwrap_or("")) }
                            }
                            td.actions {
                                form method="post" action={"/console/operator/webhooks/" (v.endpoint.id) "/test"} {
                                    (csrf_field(&who))
                                    button type="submit" { "Send test" }
                                }
                                form method="post" action={"/console/operator/webhooks/" (v.endpoint.id) "/remove"} {
                                    (csrf_field(&who))
                                    button.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an endpoint" }
        form.create method="post" action="/console/operator/webhooks" {
            (csrf_field(&who))
            label for="hook-url" { "URL (https:// recommended; public addresses only)" }
            input #hook-url name="url" type="url" required maxlength="2000" size="40" placeholder="https://billing.example.com/ipls";
            label for="hook-reseller" { "Only this reseller's events (login; empty = every reseller)" }
            input #hook-reseller name="reseller";
            fieldset.events {
                legend { "Events (none ticked = all)" }
                @for t in EventType::ALL {
                    span {
                        input id={"ev-" (t.as_str())} type="checkbox" name="event" value=(t.as_str());
                        label for={"ev-" (t.as_str())} { (t.as_str()) }
                    }
                }
            }
            button type="submit" { "Add endpoint" }
        }
    };
    Ok(html_response(shell(
        "Webhooks",
        Some(&who),
        Section::Webhooks,
        body,
    )))
}

pub async fn add(state: web::Data<AppState>, who: Console, body: web::Bytes) -> PageResult {
    let pairs = Pairs::parse(&body)?;
    guard::operator_write(&who, pairs.get("csrf"))?;
    let url = pairs.get("url").trim().to_string();
    let reseller = Some(pairs.get("reseller").trim().to_string()).filter(|r| !r.is_empty());
    let ticked: Vec<&str> = pairs.all("event").collect();
    let events = if ticked.is_empty() {
        "*".to_string()
    } else {
        ticked.join(",")
    };
    let secrets = state.secrets.clone();
    let allow_private = state.config.webhooks.allow_private;
    let now = state.clock.now().naive_utc();
    let (view, secret) = db::run(&state.pool, move |c| {
        let request = EndpointRequest {
            url: &url,
            reseller: reseller.as_deref(),
            events: &events,
            now,
        };
        add_endpoint(c, &request, &secrets, allow_private)
    })
    .await?;
    let body = html! {
        section.reveal {
            p { "Endpoint: " code { (view.endpoint.url) } }
            p { "Signing secret: " code #revealed { (secret) } }
            p.muted { "Shown once: the receiver verifies the webhook-signature header with it (Standard Webhooks)." }
            p { a href={"/console/operator/webhooks/" (view.endpoint.id)} { "Go to the endpoint" } }
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(shell("Endpoint added", Some(&who), Section::Webhooks, body).into_string()))
}

pub async fn show(
    state: web::Data<AppState>,
    who: Console,
    id: web::Path<i64>,
    query: web::Query<Shown>,
) -> PageResult {
    guard::operator_read(&who)?;
    let id = id.into_inner();
    let found = db::run(&state.pool, move |c| {
        let Some(view) = endpoints::find(c, id)? else {
            return Ok(None);
        };
        Ok(Some((view, deliveries::list(c, id, None, 100)?)))
    })
    .await?;
    let (view, list) = found.ok_or(ConsoleError::NotFound)?;
    let body = html! {
        (notice(notice_text(&query.notice)))
        dl {
            dt { "URL" } dd { (view.endpoint.url) }
            dt { "Reseller" } dd { (view.reseller.as_deref().unwrap_or("all resellers")) }
            dt { "Events" } dd { (view.subscription.display()) }
            dt { "State" } dd #endpoint-state {
                @if view.endpoint.enabled { "enabled" }
                @else { "disabled: " (view.endpoint.disabled_reason.as_deref().unwrap_or("")) }
            }
        }
        h2 { "Latest deliveries" }
        @if list.is_empty() {
            p.empty { "Nothing delivered yet." }
        } @else {
            table #deliveries {
                thead { tr { th scope="col" { "Event" } th scope="col" { "webhook-id" } th scope="col" { "Queued (UTC)" } th scope="col" { "State" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "Retry" } } }
                tbody {
                    @for d in &list {
                        tr {
                            td { (d.event_type) }
                            td { code { (d.message_id) } }
                            td { (dates::time(d.created_at)) }
                            td { (d.state) }
                            td { (d.attempts) }
                            td {
                                @if let Some(status) = d.last_status { "HTTP " (status) ", " (d.last_duration_ms.unwrap_or_default()) " ms" }
                                @else if let Some(error) = &d.last_error { (error) }
                                @else { "-" }
                            }
                            td {
                                form method="post" action={"/console/operator/webhooks/deliveries/" (d.id) "/retry"} {
                                    (csrf_field(&who))
                                    button type="submit" aria-label={"Retry delivery " (d.id)} { "Retry" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(shell(
        "Webhook endpoint",
        Some(&who),
        Section::Webhooks,
        body,
    )))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn remove(
    state: web::Data<AppState>,
    who: Console,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let id = id.into_inner();
    db::run(&state.pool, move |c| endpoints::remove(c, id)).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("location", "/console/operator/webhooks?notice=removed"))
        .finish())
}

pub async fn test(
    state: web::Data<AppState>,
    who: Console,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let id = id.into_inner();
    let view = db::run(&state.pool, move |c| endpoints::get(c, id)).await?;
    let (message_id, answer) = send_test(&view.endpoint, &state.secrets, &state.config.webhooks)
        .await
        .map_err(DomainError::Internal)?;
    let said = match (answer.status, &answer.error) {
        (Some(status), _) => format!("HTTP {status} in {} ms", answer.elapsed.as_millis()),
        (None, Some(error)) => format!("no answer: {error}"),
        (None, None) => "no answer".to_string(),
    };
    let body = html! {
        p #test-result role="status" {
            "Test message " code { (message_id) } " to " (view.endpoint.url) ": " (said)
        }
        p { a href="/console/operator/webhooks" { "Back to webhooks" } }
    };
    Ok(html_response(shell(
        "Webhook test",
        Some(&who),
        Section::Webhooks,
        body,
    )))
}

pub async fn retry(
    state: web::Data<AppState>,
    who: Console,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let id = id.into_inner();
    let delivery = db::run(&state.pool, move |c| deliveries::retry(c, id)).await?;
    crate::domain::webhooks::outbox::DELIVERIES_QUEUED.raise();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            "location",
            format!(
                "/console/operator/webhooks/{}?notice=retried",
                delivery.endpoint_id
            ),
        ))
        .finish())
}

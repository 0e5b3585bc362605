//! The operator's Upstreams pages (docs/upstream.md): the upstreams with what waits for each
//! and their last reconcile; add one (its secret is sealed and never shown); one upstream's
//! waiting changes; test its credentials; reconcile it (report, or repair what is ipls's);
//! remove it. The same domain calls as `ipls upstream` and the admin API.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::dates;
use super::guard;
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::domain::upstream::ops::{self, PENDING};
use crate::domain::upstream::reconcile::Repair;
use crate::domain::upstream::upstreams::{self, NewUpstream, DEFAULT_CONCURRENCY, DEFAULT_RATE};
use crate::error::DomainError;
use crate::state::AppState;
use crate::upstream::reconcile::{self, stored_counts, Options};

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    notice: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "added" => Some("Upstream added. Test it, then reconcile it."),
        "removed" => Some("Upstream removed: its types stay local."),
        _ => None,
    }
}

fn types_text(types: &[i32]) -> String {
    types
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<Shown>,
) -> PageResult {
    guard::operator_read(&who)?;
    let rows = db::run(&state.pool, upstreams::overview).await?;
    let body = html! {
        (notice(notice_text(&query.notice)))
        p.muted { "Licenses of the types routed to an upstream are registered there before a reseller hears success; removals and changes follow from a queue. Reconcile compares both sides." }
        @if rows.is_empty() {
            p.empty { "No upstream: every type is kept here." }
        } @else {
            table.stack #upstreams {
                thead { tr { th scope="col" { "Name" } th scope="col" { "URL" } th scope="col" { "Types" } th scope="col" { "Waiting" } th scope="col" { "Last reconcile (UTC)" } th scope="col" { "Actions" } } }
                tbody {
                    @for (view, health) in &rows {
                        @let u = &view.upstream;
                        tr {
                            td data-label="Name" { a href={"/console/operator/upstreams/" (u.name)} { (u.name) } }
                            td data-label="URL" { (u.url) " " span.muted { "as " (u.login) } }
                            td data-label="Types" { (types_text(&view.types)) }
                            td data-label="Waiting" {
                                (health.pending)
                                @if let Some((since, error)) = &health.failing {
                                    br; span.failing { "failing since " (dates::time(*since)) ": " (error) }
                                }
                            }
                            td data-label="Last reconcile" {
                                (dates::time_or(u.last_reconcile_at, "never"))
                                @if let Some(counts) = stored_counts(u.last_reconcile_counts.as_deref()) {
                                    br; span.muted {
                                        (counts.differences()) " difference(s)"
                                        @if counts.repaired + counts.adopted > 0 { ", " (counts.repaired + counts.adopted) " repaired" }
                                    }
                                }
                            }
                            td.actions data-label="Actions" { (actions(&who, &u.name)) }
                        }
                    }
                }
            }
        }
        h2 { "Add an upstream" }
        form.create method="post" action="/console/operator/upstreams" autocomplete="off" {
            (csrf_field(&who))
            label for="up-name" { "Name (letters, digits, . _ -)" }
            input #up-name name="name" required maxlength="40" pattern="[A-Za-z0-9._\\-]{1,40}" placeholder="cln";
            label for="up-url" { "URL" }
            input #up-url name="url" type="url" required maxlength="2000" size="40" placeholder="https://cln.cloudlinux.com";
            label for="up-login" { "Login there" }
            input #up-login name="login" required maxlength="64";
            label for="up-secret" { "Secret there (sealed, never shown again)" }
            input #up-secret name="secret" type="password" required maxlength="1000" autocomplete="new-password";
            label for="up-types" { "Types carried there (comma-separated)" }
            input #up-types name="types" required placeholder="1, 16, 41";
            label for="up-concurrency" { "Calls at once" }
            input #up-concurrency name="concurrency" type="number" min="1" max="256" value=(DEFAULT_CONCURRENCY);
            label for="up-rate" { "Calls per second" }
            input #up-rate name="rate" type="number" min="1" max="10000" value=(DEFAULT_RATE);
            button type="submit" { "Add upstream" }
        }
    };
    Ok(html_response(shell(
        "Upstreams",
        Some(&who),
        Section::Upstreams,
        body,
    )))
}

fn actions(who: &Console, name: &str) -> Markup {
    let action = |what: &str| format!("/console/operator/upstreams/{name}/{what}");
    html! {
        form method="post" action=(action("test")) {
            (csrf_field(who))
            button type="submit" aria-label={"Test " (name)} { "Test" }
        }
        form method="post" action=(action("reconcile")) {
            (csrf_field(who))
            button type="submit" aria-label={"Reconcile " (name)} { "Reconcile" }
        }
        form method="post" action=(action("reconcile")) {
            (csrf_field(who))
            input type="hidden" name="repair" value="true";
            button type="submit" aria-label={"Reconcile and repair " (name)} { "Reconcile and repair" }
        }
        form method="post" action=(action("remove")) {
            (csrf_field(who))
            button.danger type="submit" aria-label={"Remove " (name)} { "Remove" }
        }
    }
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    types: String,
    #[serde(default)]
    concurrency: String,
    #[serde(default)]
    rate: String,
}

fn number(text: &str, default: i32, what: &str) -> Result<i32, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse()
        .map_err(|_| DomainError::invalid(format!("{what} is a whole number (got {text:?})")))
}

pub async fn add(state: web::Data<AppState>, who: Console, form: web::Form<AddForm>) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let form = form.into_inner();
    let types = form
        .types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i32>()
                .map_err(|_| DomainError::invalid(format!("{t:?} is not a type number")))
        })
        .collect::<Result<Vec<i32>, _>>()?;
    let concurrency = number(&form.concurrency, DEFAULT_CONCURRENCY, "calls at once")?;
    let rate = number(&form.rate, DEFAULT_RATE, "calls per second")?;
    let (secrets, now) = (state.secrets.clone(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        let new = NewUpstream {
            name: form.name.trim(),
            url: form.url.trim(),
            login: form.login.trim(),
            secret: &form.secret,
            types: &types,
            concurrency,
            rate_per_second: rate,
            now,
        };
        upstreams::add(c, &new, &secrets)
    })
    .await?;
    Ok(see_other("/console/operator/upstreams?notice=added"))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("location", location.to_string()))
        .finish()
}

pub async fn show(state: web::Data<AppState>, who: Console, name: web::Path<String>) -> PageResult {
    guard::operator_read(&who)?;
    let name = name.into_inner();
    let (view, waiting) = db::run(&state.pool, move |c| {
        let Some(found) = upstreams::find(c, &name)? else {
            return Ok(None);
        };
        let view = upstreams::show(c, &found.name)?;
        let waiting = ops::list(c, found.id, PENDING, 100)?;
        Ok(Some((view, waiting)))
    })
    .await?
    .ok_or(ConsoleError::NotFound)?;
    let u = &view.upstream;
    let body = html! {
        dl {
            dt { "URL" } dd { (u.url) }
            dt { "Login" } dd { (u.login) }
            dt { "Types" } dd { (types_text(&view.types)) }
            dt { "Limits" } dd { (u.concurrency) " calls at once, " (u.rate_per_second) " a second, per instance" }
            dt { "Last reconcile" } dd #last-reconcile {
                @match stored_counts(u.last_reconcile_counts.as_deref()) {
                    Some(counts) => { (dates::time_or(u.last_reconcile_at, "never")) ": " (counts.line(&u.name)) }
                    None => { "never" }
                }
            }
        }
        (actions(&who, &u.name))
        h2 { "Changes waiting" }
        @if waiting.is_empty() {
            p.empty { "Nothing waits: every change has reached " (u.name) "." }
        } @else {
            table.stack #waiting {
                thead { tr { th scope="col" { "IP" } th scope="col" { "Change" } th scope="col" { "Type" } th scope="col" { "Queued (UTC)" } th scope="col" { "Attempts" } th scope="col" { "Last error" } } }
                tbody {
                    @for op in &waiting {
                        tr {
                            td.ip data-label="IP" { (op.ip) }
                            td data-label="Change" { (op.op) }
                            td data-label="Type" { (op.type_id) @if let Some(to) = op.type_to { " → " (to) } }
                            td data-label="Queued" { (dates::time(op.created_at)) }
                            td data-label="Attempts" { (op.attempts) }
                            td data-label="Last error" { (op.last_error.as_deref().unwrap_or("-")) }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(shell(
        &format!("Upstream {}", u.name),
        Some(&who),
        Section::Upstreams,
        body,
    )))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    repair: String,
}

pub async fn test(
    state: web::Data<AppState>,
    who: Console,
    name: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let name = name.into_inner();
    let upstream = db::run(&state.pool, move |c| upstreams::get(c, &name)).await?;
    let said = match crate::upstream::probe::probe(&state.relay, &upstream).await {
        Ok(found) => format!(
            "the credentials of {} are accepted; it holds {} license(s) ({})",
            upstream.login,
            found.total,
            found.by_type_text()
        ),
        Err(e) => format!("failed: {}", e.public_message()),
    };
    let body = html! {
        p #test-result role="status" { "Upstream " (upstream.name) " at " (upstream.url) ": " (said) }
        p { a href="/console/operator/upstreams" { "Back to upstreams" } }
    };
    Ok(html_response(shell(
        "Upstream test",
        Some(&who),
        Section::Upstreams,
        body,
    )))
}

pub async fn reconcile_now(
    state: web::Data<AppState>,
    who: Console,
    name: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let name = name.into_inner();
    let upstream = db::run(&state.pool, move |c| upstreams::get(c, &name)).await?;
    let options = Options {
        repair: form.repair == "true",
        adopt_into: None,
        source: who.source(),
        checkins: true,
    };
    let outcome = reconcile::run(&state.relay, &upstream, &options).await?;
    let body = html! {
        p #reconcile-summary role="status" { (outcome.counts.line(&upstream.name)) }
        @if outcome.differences.is_empty() {
            p.empty { "Both sides hold the same licenses." }
        } @else {
            table.stack #differences {
                thead { tr { th scope="col" { "Kind" } th scope="col" { "IP" } th scope="col" { "Upstream type" } th scope="col" { "Local type" } th scope="col" { "Done" } } }
                tbody {
                    @for (d, repair) in &outcome.differences {
                        tr {
                            td data-label="Kind" { (d.kind.as_str()) }
                            td.ip data-label="IP" { (d.ip) }
                            td data-label="Upstream type" { (d.upstream_type.map_or("-".into(), |t| t.to_string())) }
                            td data-label="Local type" { (d.local_type.map_or("-".into(), |t| t.to_string())) }
                            td data-label="Done" { (Repair::describe(repair.as_ref())) }
                        }
                    }
                }
            }
            p.muted { "Foreign licenses (held upstream, never through ipls) are left alone: adopt them with ipls upstream reconcile " (upstream.name) " --adopt RESELLER." }
        }
        p { a href={"/console/operator/upstreams/" (upstream.name)} { "Back to " (upstream.name) } }
    };
    Ok(html_response(shell(
        "Reconcile",
        Some(&who),
        Section::Upstreams,
        body,
    )))
}

pub async fn remove(
    state: web::Data<AppState>,
    who: Console,
    name: web::Path<String>,
    form: web::Form<ActionForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let name = name.into_inner();
    db::run(&state.pool, move |c| upstreams::remove(c, &name, false)).await?;
    Ok(see_other("/console/operator/upstreams?notice=removed"))
}

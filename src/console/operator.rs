//! The operator's Resellers pages: the list (license counts, state, search), creating one
//! (its secret shown once), and one reseller's page: types and limits, trial, allowlist,
//! API access, legacy sha1, block with a reason, unblock, rotate the secret.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::dates;
use super::form_pairs::Pairs;
use super::guard;
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::catalogue::{all_types, LicenseType};
use crate::domain::queries::held_by_reseller;
use crate::domain::resellers::{self, AccountChanges, ChangedBy, Grants, NewAccount};
use crate::error::DomainError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    notice: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => "Saved.",
        "blocked" => "Reseller blocked; its console users were logged out.",
        "unblocked" => "Reseller unblocked.",
        "password" => "Password changed; your other sessions have ended.",
        _ => return None,
    })
}

fn state_word(r: &Reseller) -> &'static str {
    match (&r.blocked_reason, r.api_enabled) {
        (Some(_), _) => "blocked",
        (None, false) => "no API access",
        (None, true) => "active",
    }
}

pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ListQuery>,
) -> PageResult {
    guard::operator_read(&who)?;
    let now = state.clock.now().naive_utc();
    let (all, counts, types) = db::run(&state.pool, move |c| {
        Ok((
            resellers::list(c)?,
            held_by_reseller(c, now)?,
            all_types(c)?,
        ))
    })
    .await?;
    let needle = query.q.trim().to_lowercase();
    let shown: Vec<&Reseller> = all
        .iter()
        .filter(|r| needle.is_empty() || r.login.to_lowercase().contains(&needle))
        .collect();
    let body = html! {
        (notice(notice_text(&query.notice)))
        form.filter method="get" action="/console/operator/resellers" role="search" {
            label for="r-q" { "Login contains" }
            input #r-q type="search" name="q" value=(query.q);
            button type="submit" { "Search" }
        }
        table.resellers {
            thead { tr { th scope="col" { "Login" } th scope="col" { "State" } th scope="col" { "Licenses" } th scope="col" { "Trial" } th scope="col" { "Created" } } }
            tbody {
                @for r in &shown {
                    tr {
                        td { a href={"/console/operator/resellers/" (r.login)} { (r.login) } }
                        td { (state_word(r)) }
                        td.count { (counts.get(&r.id).copied().unwrap_or(0)) }
                        td { @if r.trial { "yes" } @else { "no" } }
                        td { (dates::day(r.created_at)) }
                    }
                }
            }
        }
        h2 { "New reseller" }
        form.create method="post" action="/console/operator/resellers" {
            (csrf_field(&who))
            label for="new-login" { "Login" }
            input #new-login name="login" required pattern="[A-Za-z0-9._@-]+";
            (type_fields(&types, &Grants { limits: types.iter().map(|t| (t.id, None)).collect() }))
            input #new-trial type="checkbox" name="trial" value="on";
            label for="new-trial" { "Trial account" }
            button type="submit" { "Create reseller" }
        }
    };
    Ok(html_response(shell(
        "Resellers",
        Some(&who),
        Section::Resellers,
        body,
    )))
}

/// A checkbox and a limit field per type, set from `grants`.
fn type_fields(types: &[LicenseType], grants: &Grants) -> Markup {
    html! {
        fieldset.types {
            legend { "Types it may register (limit empty = unlimited)" }
            @for t in types {
                @let granted = grants.limits.get(&t.id);
                div.type-row {
                    input id={"type-" (t.id)} type="checkbox" name="types" value=(t.id) checked[granted.is_some()];
                    label for={"type-" (t.id)} { (t.name) " (" (t.id) ")" }
                    label.visually-hidden for={"limit-" (t.id)} { "Limit for " (t.name) }
                    input id={"limit-" (t.id)} type="number" min="0" name={"limit-" (t.id)}
                        value=[granted.copied().flatten()] placeholder="unlimited";
                }
            }
        }
    }
}

/// The grants a types form asks for.
fn grants_from(pairs: &Pairs) -> Result<Grants, DomainError> {
    let mut limits = BTreeMap::new();
    for text in pairs.all("types") {
        let id: i32 = text
            .parse()
            .map_err(|_| DomainError::invalid(format!("{text:?} is not a license type")))?;
        let limit_key = format!("limit-{id}");
        let limit = match pairs.get(&limit_key).trim() {
            "" => None,
            n => Some(n.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                DomainError::invalid(format!("the limit for type {id} must be a whole number"))
            })?),
        };
        limits.insert(id, limit);
    }
    Ok(Grants { limits })
}

fn secret_page(who: &Console, title: &str, login: &str, secret: &str) -> HttpResponse {
    let body = html! {
        section.reveal {
            p { "API login: " code { (login) } }
            p { "IP secret key: " code #revealed { (secret) } }
            p.muted { "Shown once: give it to the reseller. It is not put in any URL or log." }
            p { a href={"/console/operator/resellers/" (login)} { "Go to " (login) } }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(shell(title, Some(who), Section::Resellers, body).into_string())
}

pub async fn create(state: web::Data<AppState>, who: Console, body: web::Bytes) -> PageResult {
    let pairs = Pairs::parse(&body)?;
    guard::operator_write(&who, pairs.get("csrf"))?;
    let login = pairs.get("login").trim().to_string();
    let grants = grants_from(&pairs)?;
    let trial = pairs.get("trial") == "on";
    let secret = resellers::generate_secret()?;
    let now = state.clock.now().naive_utc();
    let secrets = state.secrets.clone();
    let (new_login, new_secret) = (login.clone(), secret.clone());
    let by = who.source();
    db::run(&state.pool, move |c| {
        let account = NewAccount {
            login: &new_login,
            secret: &new_secret,
            trial,
            grants: &grants,
            now,
            by: &by,
        };
        resellers::create(c, &account, &secrets)
    })
    .await?;
    Ok(secret_page(&who, "Reseller created", &login, &secret))
}

pub async fn show(
    state: web::Data<AppState>,
    who: Console,
    login: web::Path<String>,
    query: web::Query<ListQuery>,
) -> PageResult {
    guard::operator_read(&who)?;
    let login = login.into_inner();
    let now = state.clock.now().naive_utc();
    let found = db::run(&state.pool, move |c| {
        let Some(r) = resellers::find_by_login(c, &login)? else {
            return Ok(None);
        };
        let grants = resellers::grants_of(c, r.id)?;
        let held = held_by_reseller(c, now)?.get(&r.id).copied().unwrap_or(0);
        Ok(Some((r, grants, held, all_types(c)?)))
    })
    .await?;
    let (r, grants, held, types) = found.ok_or(ConsoleError::NotFound)?;
    let action = |verb: &str| format!("/console/operator/resellers/{}/{verb}", r.login);
    let body = html! {
        (notice(notice_text(&query.notice)))
        dl {
            dt { "State" } dd #reseller-state { (state_word(&r)) }
            @if let Some(reason) = &r.blocked_reason { dt { "Blocked for" } dd { (reason) } }
            dt { "Licenses held" } dd { (held) }
            dt { "Allowed sources" } dd { (r.allow_from.as_deref().unwrap_or("anywhere")) }
        }
        form method="post" action=(action("settings")) {
            (csrf_field(&who))
            (type_fields(&types, &grants))
            fieldset {
                legend { "Account" }
                input #s-trial type="checkbox" name="trial" value="on" checked[r.trial];
                label for="s-trial" { "Trial account" }
                input #s-api type="checkbox" name="api" value="on" checked[r.api_enabled];
                label for="s-api" { "API access" }
                input #s-sha1 type="checkbox" name="legacy_sha1" value="on" checked[r.legacy_sha1];
                label for="s-sha1" { "Accept legacy sha1 tokens" }
                label for="s-allow" { "Allowed sources (CIDR, comma-separated; empty = anywhere)" }
                input #s-allow name="allow_from" value=(r.allow_from.as_deref().unwrap_or(""));
            }
            button type="submit" { "Save" }
        }
        @if r.blocked_reason.is_some() {
            form method="post" action=(action("unblock")) {
                (csrf_field(&who))
                button type="submit" { "Unblock" }
            }
        } @else {
            form method="post" action=(action("block")) {
                (csrf_field(&who))
                label for="block-reason" { "Reason" }
                input #block-reason name="reason" required maxlength="500";
                button.danger type="submit" { "Block" }
            }
        }
        form method="post" action=(action("rotate")) {
            (csrf_field(&who))
            input #rotate-confirm type="checkbox" name="confirm" value="yes" required;
            label for="rotate-confirm" { "Tokens made with the current secret stop working." }
            button.danger type="submit" { "Rotate the secret" }
        }
    };
    Ok(html_response(shell(
        &format!("Reseller {}", r.login),
        Some(&who),
        Section::Resellers,
        body,
    )))
}

/// Applies `changes` to the reseller `login` (the operator's pages and a reseller's own
/// Account page).
pub async fn change(
    state: &AppState,
    who: &Console,
    login: String,
    changes: AccountChanges,
) -> Result<(), ConsoleError> {
    let secrets = state.secrets.clone();
    let source = who.source();
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        resellers::update(c, &login, &changes, &secrets, &by)
    })
    .await?;
    Ok(())
}

/// `change`, then back to the reseller's page with a notice.
async fn change_then_back(
    state: &AppState,
    who: &Console,
    login: String,
    changes: AccountChanges,
    notice: &str,
) -> PageResult {
    change(state, who, login.clone(), changes).await?;
    Ok(back_to(&login, notice))
}

fn back_to(login: &str, notice: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            "location",
            format!("/console/operator/resellers/{login}?notice={notice}"),
        ))
        .finish()
}

pub async fn settings(
    state: web::Data<AppState>,
    who: Console,
    login: web::Path<String>,
    body: web::Bytes,
) -> PageResult {
    let pairs = Pairs::parse(&body)?;
    guard::operator_write(&who, pairs.get("csrf"))?;
    let login = login.into_inner();
    let changes = AccountChanges {
        grants: Some(grants_from(&pairs)?),
        trial: Some(pairs.get("trial") == "on"),
        api_enabled: Some(pairs.get("api") == "on"),
        legacy_sha1: Some(pairs.get("legacy_sha1") == "on"),
        allow_from: Some(pairs.get("allow_from").to_string()),
        ..Default::default()
    };
    change_then_back(&state, &who, login, changes, "saved").await
}

#[derive(Deserialize)]
pub struct BlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

pub async fn block(
    state: web::Data<AppState>,
    who: Console,
    login: web::Path<String>,
    form: web::Form<BlockForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let login = login.into_inner();
    let changes = AccountChanges {
        blocked_reason: Some(Some(form.reason.clone())),
        ..Default::default()
    };
    change_then_back(&state, &who, login, changes, "blocked").await
}

pub async fn unblock(
    state: web::Data<AppState>,
    who: Console,
    login: web::Path<String>,
    form: web::Form<BlockForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    let login = login.into_inner();
    let changes = AccountChanges {
        blocked_reason: Some(None),
        ..Default::default()
    };
    change_then_back(&state, &who, login, changes, "unblocked").await
}

pub async fn rotate(
    state: web::Data<AppState>,
    who: Console,
    login: web::Path<String>,
    form: web::Form<BlockForm>,
) -> PageResult {
    guard::operator_write(&who, &form.csrf)?;
    if form.confirm != "yes" {
        return Err(DomainError::invalid("Tick the box to confirm the rotation.").into());
    }
    let login = login.into_inner();
    let secret = resellers::generate_secret()?;
    let changes = AccountChanges {
        secret: Some(secret.clone()),
        ..Default::default()
    };
    change(&state, &who, login.clone(), changes).await?;
    Ok(secret_page(&who, "Secret rotated", &login, &secret))
}

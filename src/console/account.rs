//! The reseller's Account page: API login, the IP secret key (revealed after the password
//! is entered again, or rotated), source allowlist, legacy sha1, API secrets
//! (`account_secrets`), reports (`account_reports`), sub-logins, password.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::dates;
use super::guard;
use super::page::{csrf_field, notice, shell, PageResult, Section};
use crate::auth::client_address;
use crate::auth::password;
use crate::auth::session::{self, Console};
use crate::db;
use crate::db::models::ConsoleUser;
use crate::domain::resellers::{self, AccountChanges, ChangedBy};
use crate::domain::roles::Permission;
use crate::domain::roles::{self, Role};
use crate::domain::users::{self, NewUser};
use crate::error::DomainError;
use crate::state::AppState;

/// A page that shows a secret must not be kept by any cache.
fn no_store(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(markup.into_string())
}

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    notice: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "allowlist" => "Allowed sources saved.",
        "legacy" => "Legacy sha1 setting saved.",
        "password" => "Password changed; your other sessions have ended.",
        "user-removed" => "Login removed.",
        "secret-revoked" => "The secret was revoked: tokens made with it are refused now.",
        "reports" => "Report mailing saved.",
        "monitoring-revoked" => "The monitoring token was revoked.",
        _ => return None,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<Shown>,
) -> PageResult {
    page(&state, &who, notice_text(&query.notice), None, None).await
}

/// The Account page, with `reveal` (a title and a secret or password shown once) on top, and
/// the report mailing that could not be saved (`typed`) in its form.
pub(super) async fn page(
    state: &AppState,
    who: &Console,
    message: Option<&str>,
    reveal: Option<(&str, &str)>,
    typed: Option<&super::account_reports::Typed>,
) -> PageResult {
    let reseller = guard::reseller_user(who)?.clone();
    let id = reseller.id;
    let logins: Vec<ConsoleUser> = db::run(&state.pool, move |c| users::list(c, Some(id))).await?;
    let api_secrets = super::account_secrets::load(state, reseller.login.clone()).await?;
    let reports = super::account_reports::load(state, reseller.id).await?;
    let monitoring = super::account_monitoring::load(state, reseller.id).await?;
    let full = who.role().may(Permission::ManageAccount);
    // A blocked account's key can still be revealed and its users may change their own
    // passwords; the account's settings and logins cannot change.
    let writable = full && reseller.blocked_reason.is_none();
    let body = html! {
        (notice(message))
        @if let Some((title, value)) = reveal {
            section.reveal aria-label=(title) {
                h2 { (title) }
                p { code #revealed { (value) } }
                p.muted { "It is not put in any URL or log, and this page is not cached." }
            }
        }
        section {
            h2 { "API access" }
            dl {
                dt { "API login" } dd #api-login { (reseller.login) }
                dt { "API access" } dd { @if reseller.api_enabled { "on" } @else { "off (set by the operator)" } }
                dt { "Legacy sha1 tokens" } dd { @if reseller.legacy_sha1 { "accepted" } @else { "refused" } }
                dt { "Allowed sources" } dd { (reseller.allow_from.as_deref().unwrap_or("anywhere")) }
            }
            @if full {
                form method="post" action="/console/account/reveal" {
                    (csrf_field(who))
                    label for="reveal-password" { "Your password" }
                    input #reveal-password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Reveal the IP secret key" }
                }
            }
            @if writable {
                form method="post" action="/console/account/rotate" {
                    (csrf_field(who))
                    input #rotate-confirm type="checkbox" name="confirm" value="yes" required;
                    label for="rotate-confirm" { "I understand that tokens made with the current key stop working." }
                    button.danger type="submit" { "Rotate the IP secret key" }
                }
                form method="post" action="/console/account/allowlist" {
                    (csrf_field(who))
                    label for="allow-from" { "Accept API calls only from (CIDR blocks, comma-separated; empty = anywhere)" }
                    input #allow-from name="allow_from" value=(reseller.allow_from.as_deref().unwrap_or(""));
                    button type="submit" { "Save" }
                }
                form method="post" action="/console/account/legacy" {
                    (csrf_field(who))
                    input type="hidden" name="on" value=(if reseller.legacy_sha1 { "off" } else { "on" });
                    button type="submit" { @if reseller.legacy_sha1 { "Refuse legacy sha1 tokens" } @else { "Accept legacy sha1 tokens" } }
                }
            }
        }
        (super::account_secrets::section(who, &api_secrets, writable))
        (super::account_reports::section(who, &reports, writable, typed))
        (super::account_monitoring::section(who, &reseller.login, monitoring, writable))
        section {
            h2 { "Console logins" }
            table {
                thead { tr { th scope="col" { "E-mail" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for user in &logins {
                        tr {
                            td { (user.email) }
                            td { (user.role().title()) }
                            td { (dates::day(user.created_at)) }
                            td {
                                @if writable && user.id != who.user.id {
                                    form method="post" action="/console/account/users/remove" {
                                        (csrf_field(who))
                                        input type="hidden" name="email" value=(user.email);
                                        button type="submit" aria-label={"Remove login " (user.email)} { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if writable {
                form method="post" action="/console/account/users" {
                    (csrf_field(who))
                    label for="new-email" { "E-mail" }
                    input #new-email type="email" name="email" required;
                    label for="new-role" { "Role" }
                    select #new-role name="role" {
                        @for (role, _) in roles::PERMISSIONS {
                            option value=(role.as_str()) selected[role == Role::ServersReadOnly] { (role.title()) }
                        }
                    }
                    p.muted { "What each role may do: docs/console.md, “Roles”." }
                    button type="submit" { "Add login" }
                }
            }
        }
        section {
            h2 { "Your password" }
            form method="post" action="/console/account/password" {
                (csrf_field(who))
                label for="current-password" { "Current password" }
                input #current-password type="password" name="current" autocomplete="current-password" required;
                label for="new-password" { "New password (at least " (password::MIN_PASSWORD_CHARS) " characters)" }
                input #new-password type="password" name="new" autocomplete="new-password" required;
                button type="submit" { "Change password" }
            }
        }
    };
    let mut page = no_store(shell("Account", Some(who), Section::Account, body));
    if typed.is_some() {
        // The form's error, shown in the page: the request was not carried out.
        *page.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(page)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

pub async fn reveal(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Console,
    form: web::Form<PasswordForm>,
) -> PageResult {
    // Revealing changes nothing, but it is only the business of who manages the account.
    guard::csrf_matches(&who, &form.csrf)?;
    let reseller = guard::reseller_read(&who, Permission::ManageAccount)?.clone();
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    session::confirm_password(&state.auth, &who, &form.password, source).await?;
    let secrets = state.secrets.clone();
    let secret = resellers::clear_secret(&reseller, &secrets)?;
    page(&state, &who, None, Some(("IP secret key", &secret)), None).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn rotate(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<ConfirmForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    if form.confirm != "yes" {
        return Err(DomainError::invalid("Tick the box to confirm the rotation.").into());
    }
    let secret = resellers::generate_secret()?;
    let changes = AccountChanges {
        secret: Some(secret.clone()),
        ..Default::default()
    };
    super::operator::change(&state, &who, reseller.login.clone(), changes).await?;
    page(
        &state,
        &who,
        Some("The IP secret key was rotated."),
        Some(("New IP secret key", &secret)),
        None,
    )
    .await
}

fn redirect(notice: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("location", format!("/console/account?notice={notice}")))
        .finish()
}

#[derive(Deserialize)]
pub struct AllowForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    allow_from: String,
}

pub async fn allowlist(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<AllowForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let changes = AccountChanges {
        allow_from: Some(form.allow_from.clone()),
        ..Default::default()
    };
    super::operator::change(&state, &who, reseller.login.clone(), changes).await?;
    Ok(redirect("allowlist"))
}

#[derive(Deserialize)]
pub struct OnOffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
}

pub async fn legacy(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<OnOffForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let changes = AccountChanges {
        legacy_sha1: Some(form.on == "on"),
        ..Default::default()
    };
    super::operator::change(&state, &who, reseller.login.clone(), changes).await?;
    Ok(redirect("legacy"))
}

#[derive(Deserialize)]
pub struct NewLoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add_user(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<NewLoginForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let role = Role::parse(&form.role)
        .filter(|role| *role != Role::Operator)
        .ok_or_else(|| {
            let names: Vec<&str> = roles::PERMISSIONS.iter().map(|(r, _)| r.as_str()).collect();
            DomainError::invalid(format!("a login's role is one of {}", names.join(", ")))
        })?;
    // 24 hex characters (96 bits), shown once like a new reseller's secret.
    let initial: String = resellers::generate_secret()?.chars().take(24).collect();
    let hash = password::hash_off_thread(initial.clone()).await?;
    let email = form.email.clone();
    let now = state.clock.now().naive_utc();
    let source = who.source();
    let created = db::run(&state.pool, move |c| {
        users::create(
            c,
            &NewUser {
                email: &email,
                password_hash: &hash,
                role,
                reseller_id: Some(reseller.id),
            },
            &ChangedBy {
                source: &source,
                now,
            },
        )
    })
    .await?;
    let title = format!("Password of {}", created.email);
    page(
        &state,
        &who,
        Some("Login added."),
        Some((&title, &initial)),
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

pub async fn remove_user(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<EmailForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let email = form.email.clone();
    let me = who.user.id;
    let source = who.source();
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |c| {
        let user = users::get(c, &email)?;
        // Only this reseller's own logins, and not the one doing it.
        if user.reseller_id != Some(reseller.id) {
            return Err(DomainError::not_found(format!(
                "no login {email} in this account"
            )));
        }
        if user.id == me {
            return Err(DomainError::refused("you cannot remove your own login"));
        }
        users::remove(
            c,
            user.id,
            &ChangedBy {
                source: &source,
                now,
            },
        )
    })
    .await?;
    Ok(redirect("user-removed"))
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// Any user may change their own password (a read-only login included).
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Console,
    form: web::Form<ChangePasswordForm>,
) -> PageResult {
    guard::csrf_matches(&who, &form.csrf)?;
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    session::confirm_password(&state.auth, &who, &form.current, source).await?;
    let hash = password::hash_off_thread(form.new.clone()).await?;
    let (id, keep) = (who.user.id, who.session_hash().to_string());
    let source = who.source();
    let now = state.clock.now().naive_utc();
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        users::set_password(c, id, &hash, Some(&keep), &by)
    })
    .await?;
    if who.role() == Role::Operator {
        return Ok(HttpResponse::SeeOther()
            .insert_header(("location", "/console/operator/resellers?notice=password"))
            .finish());
    }
    Ok(redirect("password"))
}

/// Adds a secret and shows it once, on the Account page.
pub async fn add_secret(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<super::account_secrets::NameForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let (box_, source, now) = (
        state.secrets.clone(),
        who.source(),
        state.clock.now().naive_utc(),
    );
    let (login, name) = (reseller.login.clone(), form.name.trim().to_string());
    let given = name.clone();
    let secret = db::run(&state.pool, move |c| {
        let by = resellers::ChangedBy {
            source: &source,
            now,
        };
        resellers::secrets::add(c, &login, &given, &box_, &by)
    })
    .await?;
    let title = format!("New API secret {name}");
    page(
        &state,
        &who,
        Some("The secret was added."),
        Some((&title, &secret)),
        None,
    )
    .await
}

/// Saves one product family's report mailing (`account_reports`): back to the page with a
/// notice, or the page with the form's error and what was typed.
pub async fn reports(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<super::account_reports::ReportsForm>,
) -> PageResult {
    match super::account_reports::store(&state, &who, form.into_inner()).await? {
        None => Ok(redirect("reports")),
        Some(typed) => page(&state, &who, None, None, Some(&typed)).await,
    }
}

/// A new KernelCare monitoring token (`account_monitoring`), shown once on this page.
pub async fn monitoring_token(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<super::account_monitoring::MonitoringForm>,
) -> PageResult {
    let token = super::account_monitoring::make(&state, &who, &form).await?;
    page(
        &state,
        &who,
        Some("A new monitoring token was made; the old one no longer works."),
        Some(("New monitoring token", &token)),
        None,
    )
    .await
}

/// The KernelCare monitoring token ends.
pub async fn revoke_monitoring_token(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<super::account_monitoring::MonitoringForm>,
) -> PageResult {
    super::account_monitoring::end(&state, &who, &form).await?;
    Ok(redirect("monitoring-revoked"))
}

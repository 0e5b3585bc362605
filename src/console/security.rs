//! `/console/security`, for every console user (operators too): two-factor login. Setting it
//! up shows a new secret (base32, and the `otpauth://` address apps read), then asks for a
//! code made from it; only a right code turns it on, and the ten recovery codes are shown
//! then, once. Turning it off asks for the password and a code. When the operator requires
//! it (`IPLS_CONSOLE_REQUIRE_2FA`), a user without it is sent here first and cannot turn it
//! off.

use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::page::{csrf_field, html_response, notice, shell, PageResult, Section};
use crate::auth::client_address;
use crate::auth::session::{self, Console};
use crate::db;
use crate::domain::resellers::ChangedBy;
use crate::domain::two_factor;
use crate::error::DomainError;
use crate::state::AppState;

/// A page of this section. (It shows secrets; the console's `Cache-Control: no-store`, on
/// every answer, keeps them out of caches.)
fn page(title: &str, who: &Console, body: Markup) -> HttpResponse {
    html_response(shell(title, Some(who), Section::None, body))
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    notice: String,
}

pub async fn show(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ShowQuery>,
) -> PageResult {
    let on = two_factor::is_enabled(&who.user);
    let required = state.config.console_require_2fa;
    let id = who.user.id;
    let left = if on {
        db::run(&state.pool, move |c| two_factor::recovery_codes_left(c, id)).await?
    } else {
        0
    };
    let said = match query.notice.as_str() {
        "off" => Some("Two-factor login is off."),
        _ => None,
    };
    let body = html! {
        (notice(said))
        @if query.required.is_some() && !on {
            p.warning role="alert" { "The operator requires two-factor login: set it up to go on." }
        }
        @if on {
            p { "Two-factor login is " strong #state { "on" } ". Recovery codes left: " strong #left { (left) } "." }
            @if required {
                p.muted { "The operator requires it, so it cannot be turned off here." }
            } @else {
                form method="post" action="/console/security/disable" {
                    (csrf_field(&who))
                    label for="off-password" { "Your password" }
                    input #off-password type="password" name="password" autocomplete="current-password" required;
                    label for="off-code" { "A code from the app" }
                    input #off-code name="code" autocomplete="one-time-code" inputmode="numeric" required;
                    button.danger type="submit" { "Turn two-factor login off" }
                }
            }
        } @else {
            p { "Two-factor login is " strong #state { "off" } ": a password alone logs in as you." }
            p { "With it on, logging in also asks for a 6-digit code from an authenticator app (any app that follows RFC 6238: Google Authenticator, Aegis, 1Password, ...)." }
            form method="post" action="/console/security/begin" {
                (csrf_field(&who))
                button type="submit" { "Set up two-factor login" }
            }
        }
    };
    Ok(page("Two-factor login", &who, body))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn begin(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<CsrfForm>,
) -> PageResult {
    guard::csrf_matches(&who, &form.csrf)?;
    let (user, secrets) = (who.user.clone(), state.secrets.clone());
    let enrolment = db::run(&state.pool, move |c| two_factor::begin(c, &user, &secrets)).await?;
    Ok(page(
        "Set up two-factor login",
        &who,
        enrolment_page(&who, &enrolment, None),
    ))
}

fn enrolment_page(who: &Console, enrolment: &two_factor::Enrolment, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p.error role="alert" { (error) } }
        ol {
            li {
                "In your authenticator app, add an account by hand with this key (time-based, 6 digits, every 30 seconds):"
                p { code #totp-secret { (enrolment.secret) } }
                "or open this address on the phone that has the app:"
                p { code #totp-uri { (enrolment.uri) } }
            }
            li {
                "Type the code the app shows now:"
                form method="post" action="/console/security/enable" {
                    (csrf_field(who))
                    label for="enable-code" { "Code" }
                    input #enable-code name="code" autocomplete="one-time-code" inputmode="numeric" required autofocus;
                    button type="submit" { "Turn two-factor login on" }
                }
            }
        }
        p.muted { "Until a right code is typed, nothing changes: you log in as before." }
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

pub async fn enable(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<CodeForm>,
) -> PageResult {
    guard::csrf_matches(&who, &form.csrf)?;
    let (id, code, secrets) = (who.user.id, form.code.clone(), state.secrets.clone());
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    let codes = db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        two_factor::enable(c, id, &code, &secrets, &by)
    })
    .await?;
    let body = html! {
        p.notice role="status" { "Two-factor login is on. Logging in now asks for a code from the app." }
        section.reveal aria-label="Recovery codes" {
            h2 { "Recovery codes" }
            p { "Each logs in once in place of a code, if the phone is lost. They are shown only now: keep them somewhere safe." }
            ul #recovery-codes {
                @for code in &codes { li { code { (code) } } }
            }
        }
        p { a href="/console/" { "Go on to the console" } }
    };
    Ok(page("Two-factor login is on", &who, body))
}

pub async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Console,
    form: web::Form<CodeForm>,
) -> PageResult {
    guard::csrf_matches(&who, &form.csrf)?;
    if state.config.console_require_2fa {
        return Err(DomainError::refused("the operator requires two-factor login").into());
    }
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    session::confirm_password(&state.auth, &who, &form.password, source).await?;
    let (id, code, secrets) = (who.user.id, form.code.clone(), state.secrets.clone());
    let (by_source, now) = (who.source(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        if !two_factor::verify(c, id, &code, &secrets, now)? {
            return Err(DomainError::invalid(
                "that code is not right (or was used already): nothing changed",
            ));
        }
        let by = ChangedBy {
            source: &by_source,
            now,
        };
        two_factor::disable(c, id, &by)
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("location", "/console/security?notice=off"))
        .finish())
}

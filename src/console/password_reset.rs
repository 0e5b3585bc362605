//! `/console/reset?token=...`: the page a one-time reset link leads to (`ipls user
//! reset-link`). It names the user and asks for a new password; setting it uses the link up
//! and ends the user's sessions, then the user logs in as usual (with the second factor, if
//! they have one).

use actix_web::{web, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::page::{shell, ConsoleError, PageResult, Section};
use crate::auth::password;
use crate::db;
use crate::domain::password_resets;
use crate::error::DomainError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct ResetQuery {
    #[serde(default)]
    token: String,
}

/// No session. (The console's `Referrer-Policy: same-origin` keeps the token in the address
/// from leaving for another site; `no-referrer` would make the browser send `Origin: null`
/// with the form, which `transport` refuses.)
fn page(title: &str, body: maud::Markup, status: actix_web::http::StatusCode) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(shell(title, None, Section::None, body).into_string())
}

fn gone() -> ConsoleError {
    DomainError::not_found("this reset link was used already, replaced, or ran out").into()
}

pub async fn form(state: web::Data<AppState>, query: web::Query<ResetQuery>) -> PageResult {
    let (token, now) = (query.token.clone(), state.clock.now().naive_utc());
    let user = db::run(&state.pool, move |c| password_resets::find(c, &token, now))
        .await?
        .ok_or_else(gone)?;
    let body = html! {
        p { "A new password for " strong #reset-email { (user.email) } "." }
        form.login method="post" action="/console/reset" {
            input type="hidden" name="token" value=(query.token);
            label for="reset-password" { "New password (at least " (password::MIN_PASSWORD_CHARS) " characters)" }
            input #reset-password type="password" name="password" autocomplete="new-password" required autofocus;
            button type="submit" { "Set the password" }
        }
    };
    Ok(page(
        "Choose a new password",
        body,
        actix_web::http::StatusCode::OK,
    ))
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(state: web::Data<AppState>, form: web::Form<ResetForm>) -> PageResult {
    password::validate(&form.password)?;
    let hash = password::hash_off_thread(form.password.clone()).await?;
    let (token, now) = (form.token.clone(), state.clock.now().naive_utc());
    let user = db::run(&state.pool, move |c| {
        password_resets::redeem(c, &token, &hash, now)
    })
    .await?;
    let body = html! {
        p.notice role="status" { "The password of " (user.email) " is set; its other sessions have ended." }
        p { a href="/console/login" { "Log in" } }
    };
    Ok(page("Password set", body, actix_web::http::StatusCode::OK))
}

/// The form of "Forgot your password?": an e-mail address.
pub async fn request_form(state: web::Data<AppState>) -> PageResult {
    Ok(page(
        "Reset your password",
        request_body(&state, None),
        actix_web::http::StatusCode::OK,
    ))
}

/// Whether links can be mailed: mail is on and the console's address is known.
fn mail_ready(state: &AppState) -> Option<String> {
    state.config.mail.as_ref()?;
    state.config.mail_reports.public_url.clone()
}

fn request_body(state: &AppState, sent: Option<&str>) -> maud::Markup {
    html! {
        @if let Some(message) = sent {
            p.notice role="status" { (message) }
        }
        @if mail_ready(state).is_some() {
            p { "Give your login's e-mail address: a link to choose a new password is mailed to it." }
            form.login method="post" action="/console/reset/request" {
                label for="reset-email" { "E-mail" }
                input #reset-email type="email" name="email" autocomplete="username" required autofocus;
                button type="submit" { "Mail me a reset link" }
            }
        } @else {
            p { "This console does not send mail. Ask your provider for a reset link (" code { "ipls user reset-link" } ")." }
        }
        p { a href="/console/login" { "Back to the login" } }
    }
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

pub async fn request_submit(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    form: web::Form<RequestForm>,
) -> PageResult {
    if let Some(public_url) = mail_ready(&state) {
        let email = form.email.clone();
        let from = crate::auth::client_address::of_request(&req, &state.config.trusted_proxies);
        let source = crate::domain::Source::Address(
            from.map_or_else(|| "unknown".to_string(), |ip| ip.to_string()),
        );
        let now = state.clock.now().naive_utc();
        db::run(&state.pool, move |c| {
            let by = crate::domain::resellers::ChangedBy {
                source: &source,
                now,
            };
            password_resets::mail_link(c, &email, &public_url, &by)
        })
        .await?;
    }
    let said = format!(
        "If a login has this address, a link is on its way to it; it works once, for {} minutes.",
        password_resets::MAILED_LINK_MINUTES
    );
    Ok(page(
        "Reset your password",
        request_body(&state, Some(&said)),
        actix_web::http::StatusCode::OK,
    ))
}

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

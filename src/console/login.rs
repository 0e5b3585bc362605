//! Logging in and out, with the second step for a user with two-factor login (a code from
//! the authenticator app or a recovery code, within a few minutes of the password). The
//! login forms are protected against cross-site posts by a double-submit token (a cookie and
//! a hidden field that must match), as there is no session yet to hold one.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::page::{shell, ConsoleError, PageResult, Section};
use crate::auth::client_address;
use crate::auth::session::{self, is_https, random_token, tokens_match, Console, LoggedIn};
use crate::auth::AuthError;
use crate::domain::two_factor;
use crate::domain::users::Role;
use crate::state::AppState;

const LOGIN_TOKEN_COOKIE: &str = "ipls_login";
/// The cookie holding a login's second step (`session::LoggedIn::AwaitingCode`).
const STEP_COOKIE: &str = "ipls_login_step";

#[derive(Deserialize)]
pub struct ExpiredQuery {
    #[serde(default)]
    expired: Option<String>,
}

pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ExpiredQuery>,
) -> PageResult {
    let message = query
        .expired
        .is_some()
        .then_some("Your session ended; please log in again.");
    login_page(&state, &req, message, actix_web::http::StatusCode::OK)
}

fn login_page(
    state: &AppState,
    req: &HttpRequest,
    message: Option<&str>,
    status: actix_web::http::StatusCode,
) -> PageResult {
    let fields = html! {
        label for="email" { "E-mail" }
        input #email type="email" name="email" autocomplete="username" required autofocus;
        label for="password" { "Password" }
        input #password type="password" name="password" autocomplete="current-password" required;
        button type="submit" { "Log in" }
    };
    step_page(
        state,
        req,
        ("Log in", "/console/login"),
        message,
        status,
        fields,
    )
}

/// The second step's page: the code from the authenticator app, or a recovery code.
fn code_page(
    state: &AppState,
    req: &HttpRequest,
    message: Option<&str>,
    status: actix_web::http::StatusCode,
) -> PageResult {
    let fields = html! {
        label for="code" { "Code from your authenticator app (or a recovery code)" }
        input #code name="code" autocomplete="one-time-code" inputmode="numeric" required autofocus;
        button type="submit" { "Continue" }
    };
    step_page(
        state,
        req,
        ("Two-factor login", "/console/login/code"),
        message,
        status,
        fields,
    )
}

/// A page of the login (`title`, its form posting to `action`): the message, the form with
/// a fresh double-submit token, and that token's cookie (under /console/login for both).
fn step_page(
    state: &AppState,
    req: &HttpRequest,
    (title, action): (&str, &str),
    message: Option<&str>,
    status: actix_web::http::StatusCode,
    fields: Markup,
) -> PageResult {
    let token = random_token()?;
    let body = html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form.login method="post" action=(action) {
            input type="hidden" name="login_token" value=(token);
            (fields)
        }
        @if action != "/console/login" { p { a href="/console/login" { "Start again" } } }
        @else { p { a href="/console/reset/request" { "Forgot your password?" } } }
    };
    let cookie = Cookie::build(LOGIN_TOKEN_COOKIE, token)
        .path("/console/login")
        .http_only(true)
        .secure(is_https(req, &state.auth))
        .same_site(SameSite::Strict)
        .finish();
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(cookie)
        .body(shell(title, None, Section::None, body).into_string()))
}

/// The cookie that holds a login's second step, for a few minutes.
fn step_cookie(id: &str, https: bool) -> Cookie<'static> {
    Cookie::build(STEP_COOKIE, id.to_string())
        .path("/console/login")
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::minutes(
            two_factor::LOGIN_STEP_MINUTES,
        ))
        .finish()
}

/// A removal of the cookie `name` under /console/login.
fn spent(name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, "").path("/console/login").finish();
    cookie.make_removal();
    cookie
}

/// The double-submit token of the login forms matches its cookie.
fn token_matches(req: &HttpRequest, sent: &str) -> Result<(), ConsoleError> {
    let cookie_token = req
        .cookie(LOGIN_TOKEN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if tokens_match(&cookie_token, sent) {
        Ok(())
    } else {
        Err(ConsoleError::BadCsrf)
    }
}

pub async fn code_form(state: web::Data<AppState>, req: HttpRequest) -> PageResult {
    code_page(&state, &req, None, actix_web::http::StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    login_token: String,
}

pub async fn code_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> PageResult {
    token_matches(&req, &form.login_token)?;
    let step = req
        .cookie(STEP_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    match session::second_factor(&state.auth, &step, &form.code, source).await {
        Ok(id) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/"))
            .cookie(session::session_cookie(&id, is_https(&req, &state.auth)))
            .cookie(spent(LOGIN_TOKEN_COOKIE))
            .cookie(spent(STEP_COOKIE))
            .finish()),
        Err(AuthError::Unauthorized) if step.is_empty() => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/login?expired=1"))
            .finish()),
        Err(AuthError::Unauthorized) => code_page(
            &state,
            &req,
            Some("That code is not right, was used already, or the login took too long (then start again)."),
            actix_web::http::StatusCode::UNAUTHORIZED,
        ),
        Err(AuthError::TooManyFailures(secs)) => code_page(
            &state,
            &req,
            Some(&format!("Too many failed attempts; try again in {secs} seconds.")),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    login_token: String,
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> PageResult {
    token_matches(&req, &form.login_token)?;
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    let unauthorized = actix_web::http::StatusCode::UNAUTHORIZED;
    let https = is_https(&req, &state.auth);
    match session::log_in(&state.auth, &form.email, &form.password, source).await {
        Ok(LoggedIn::Session(id)) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/"))
            .cookie(session::session_cookie(&id, https))
            .cookie(spent(LOGIN_TOKEN_COOKIE))
            .finish()),
        Ok(LoggedIn::AwaitingCode(step)) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/login/code"))
            .cookie(step_cookie(&step, https))
            .finish()),
        Err(AuthError::Unauthorized) => login_page(
            &state,
            &req,
            Some("That e-mail address and password do not match a user."),
            unauthorized,
        ),
        Err(AuthError::TooManyFailures(secs)) => login_page(
            &state,
            &req,
            Some(&format!(
                "Too many failed logins; try again in {secs} seconds."
            )),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Console,
    form: web::Form<CsrfOnly>,
) -> PageResult {
    guard::csrf_matches(&who, &form.csrf)?;
    session::log_out(&state.auth, &req).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .cookie(session::removal_cookie(is_https(&req, &state.auth)))
        .finish())
}

/// `/console/`: each role's home.
pub async fn home(who: Console) -> HttpResponse {
    let target = if who.role() == Role::Operator {
        "/console/operator/resellers"
    } else {
        "/console/dashboard"
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish()
}

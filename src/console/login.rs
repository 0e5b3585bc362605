//! Logging in and out. The login form is protected against cross-site posts by a
//! double-submit token (a cookie and a hidden field that must match), as there is no
//! session yet to hold one.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::guard;
use super::page::{shell, ConsoleError, PageResult, Section};
use crate::auth::client_address;
use crate::auth::session::{self, is_https, random_token, tokens_match, Console};
use crate::auth::AuthError;
use crate::domain::users::Role;
use crate::state::AppState;

const LOGIN_TOKEN_COOKIE: &str = "ipls_login";

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
    let token = random_token()?;
    let body = html! {
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form.login method="post" action="/console/login" {
            input type="hidden" name="login_token" value=(token);
            label for="email" { "E-mail" }
            input #email type="email" name="email" autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
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
        .body(shell("Log in", None, Section::None, body).into_string()))
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
    let cookie_token = req
        .cookie(LOGIN_TOKEN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !tokens_match(&cookie_token, &form.login_token) {
        return Err(ConsoleError::BadCsrf);
    }
    let source = client_address::of_request(&req, &state.config.trusted_proxies);
    let unauthorized = actix_web::http::StatusCode::UNAUTHORIZED;
    match session::log_in(&state.auth, &form.email, &form.password, source).await {
        Ok(id) => {
            let https = is_https(&req, &state.auth);
            let mut used = Cookie::build(LOGIN_TOKEN_COOKIE, "")
                .path("/console/login")
                .finish();
            used.make_removal();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/"))
                .cookie(session::session_cookie(&id, https))
                .cookie(used)
                .finish())
        }
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

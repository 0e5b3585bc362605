//! The page shell every console page shares (head, navigation, banners), the CSRF field,
//! and how a refused or failed action is shown.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use maud::{html, Markup, DOCTYPE};

use crate::auth::session::Console;
use crate::auth::AuthError;
use crate::domain::roles::{Permission, Role};
use crate::error::DomainError;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Dashboard,
    Licenses,
    Keys,
    Stale,
    Usage,
    History,
    Account,
    Resellers,
    AllLicenses,
    AllKeys,
    Prices,
    Audit,
    Webhooks,
    Upstreams,
    None,
}

const RESELLER_NAV: &[(Section, &str, &str)] = &[
    (Section::Dashboard, "/console/dashboard", "Dashboard"),
    (Section::Licenses, "/console/licenses", "IP Licenses"),
    (Section::Keys, "/console/keys", "Keys"),
    (Section::Stale, "/console/stale", "Not checking in"),
    (Section::Usage, "/console/usage", "Usage"),
    (Section::History, "/console/history", "History"),
    (Section::Account, "/console/account", "Account"),
];

const OPERATOR_NAV: &[(Section, &str, &str)] = &[
    (
        Section::Resellers,
        "/console/operator/resellers",
        "Resellers",
    ),
    (
        Section::AllLicenses,
        "/console/operator/licenses",
        "Licenses",
    ),
    (Section::AllKeys, "/console/operator/keys", "Keys"),
    (Section::Stale, "/console/operator/stale", "Not checking in"),
    (Section::Usage, "/console/operator/usage", "Usage"),
    (Section::Prices, "/console/operator/prices", "Prices"),
    (Section::Audit, "/console/operator/audit", "Audit log"),
    (Section::Webhooks, "/console/operator/webhooks", "Webhooks"),
    (
        Section::Upstreams,
        "/console/operator/upstreams",
        "Upstreams",
    ),
];

/// A whole page: `body` inside the shell, with navigation when someone is logged in.
pub fn shell(title: &str, who: Option<&Console>, current: Section, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ipls" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/console/" { "ipls" }
                    @if let Some(who) = who {
                        nav aria-label="Main" {
                            ul {
                                @for (section, href, label) in nav_of(who).iter().filter(|(s, _, _)| shown_to(who, *s)) {
                                    li {
                                        @if *section == current {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            (csrf_field(who))
                            span.who {
                                a href="/console/security" title="Two-factor login" { (who.user.email) }
                                " (" (role_word(who)) ")"
                            }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main id="main" {
                    @if let Some(reason) = who.and_then(|w| w.reseller.as_ref()).and_then(|r| r.blocked_reason.as_ref()) {
                        div.banner.blocked role="alert" {
                            strong { "This account is blocked: " } (reason)
                            " Everything can be read; nothing can be changed."
                        }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn nav_of(who: &Console) -> &'static [(Section, &'static str, &'static str)] {
    if who.role() == Role::Operator {
        OPERATOR_NAV
    } else {
        RESELLER_NAV
    }
}

/// Whether the navigation offers `section` to this user: a reseller's login sees the pages
/// its role may open (`guard`'s permissions), an operator all of its own.
fn shown_to(who: &Console, section: Section) -> bool {
    let needs = match section {
        Section::Licenses | Section::Keys | Section::Stale | Section::History => {
            Permission::ViewLicenses
        }
        Section::Usage => Permission::ViewBilling,
        _ => return true,
    };
    who.role() == Role::Operator || who.role().may(needs)
}

fn role_word(who: &Console) -> String {
    match (&who.reseller, who.role()) {
        (Some(r), role) => format!("{}, {}", r.login, role.title()),
        (None, role) => role.title().to_string(),
    }
}

/// The hidden field every state-changing form carries.
pub fn csrf_field(who: &Console) -> Markup {
    html! { input type="hidden" name="csrf" value=(who.csrf); }
}

/// A one-line notice above a page's content (after an action).
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p.notice role="status" { (text) }
        }
    }
}

pub fn html_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// Why a console request did not do what it asked; shown as a page with a way back.
#[derive(Debug)]
pub enum ConsoleError {
    /// The user's role does not allow this.
    Forbidden(&'static str),
    /// The form's CSRF token is missing or wrong: nothing was done.
    BadCsrf,
    NotFound,
    /// A domain rule, the database, or a password check (`error::FACES`).
    Failed(AuthError),
}

impl ConsoleError {
    /// The user's own input is wrong (shown with what to change).
    pub fn invalid(message: impl Into<String>) -> Self {
        ConsoleError::Failed(DomainError::Invalid(message.into()).into())
    }
}

impl From<DomainError> for ConsoleError {
    fn from(e: DomainError) -> Self {
        ConsoleError::Failed(e.into())
    }
}

impl From<AuthError> for ConsoleError {
    fn from(e: AuthError) -> Self {
        ConsoleError::Failed(e)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::Forbidden(why) => f.write_str(why),
            ConsoleError::BadCsrf => f.write_str(
                "This form has expired or did not come from this console; nothing was changed. \
                 Go back, reload the page and try again.",
            ),
            ConsoleError::NotFound => f.write_str("There is no such page."),
            ConsoleError::Failed(AuthError::Failed(
                DomainError::Unavailable(_) | DomainError::Busy(_),
            )) => f.write_str(
                "The database is unavailable right now; nothing was changed. Try again shortly.",
            ),
            ConsoleError::Failed(AuthError::Failed(DomainError::Internal(_))) => {
                f.write_str("Something went wrong; nothing was changed. It has been logged.")
            }
            ConsoleError::Failed(AuthError::TooManyFailures(secs)) => {
                write!(f, "Too many failed attempts; try again in {secs} seconds.")
            }
            ConsoleError::Failed(other) => f.write_str(&other.public_message()),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Forbidden(_) | ConsoleError::BadCsrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Failed(e) => StatusCode::from_u16(e.kind().answers().console_status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ConsoleError::Failed(AuthError::Failed(DomainError::Internal(detail))) = self {
            log::error!("console: {detail}");
        }
        let body = html! {
            p.error role="alert" { (self.to_string()) }
            p { a href="/console/" { "Back to the console" } }
        };
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(shell("Not done", None, Section::None, body).into_string())
    }
}

pub type PageResult = Result<HttpResponse, ConsoleError>;

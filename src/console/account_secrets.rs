//! The Account page's "API secrets" section: the account's named secrets beside its first
//! one (the IP secret key above), each added (shown once, by `account::add_secret`, which
//! renders the page) and revoked on its own.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::dates;
use super::guard;
use super::page::{csrf_field, PageResult};
use crate::auth::session::Console;
use crate::db;
use crate::domain::resellers::secrets::{self, SecretInfo, DEFAULT_NAME, MAX_SECRETS};
use crate::domain::resellers::ChangedBy;
use crate::domain::roles::Permission;
use crate::state::AppState;

/// The section, for the Account page.
pub fn section(who: &Console, all: &[SecretInfo], writable: bool) -> Markup {
    let when = |t: Option<chrono::NaiveDateTime>| dates::time_or(t, "never");
    html! {
        section #api-secrets {
            h2 { "API secrets" }
            p.muted {
                "A token made with any of these is accepted, so each integration can have its own "
                "and one can be replaced without breaking the others (at most " (MAX_SECRETS) ")."
            }
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Created (UTC)" }
                    th scope="col" { "Last used (UTC)" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for s in all {
                        tr {
                            td { (s.name) @if s.name == DEFAULT_NAME { " " span.muted { "(the IP secret key)" } } }
                            td { (dates::time(s.created_at)) }
                            td { (when(s.last_used_at)) }
                            td {
                                @if writable && s.name != DEFAULT_NAME {
                                    form method="post" action="/console/account/secrets/revoke" {
                                        (csrf_field(who))
                                        input type="hidden" name="name" value=(s.name);
                                        button.danger type="submit" aria-label={"Revoke secret " (s.name)} { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if writable && all.len() < MAX_SECRETS {
                form method="post" action="/console/account/secrets" {
                    (csrf_field(who))
                    label for="secret-name" { "Name of a new secret" }
                    input #secret-name name="name" required maxlength="40" pattern="[A-Za-z0-9._-]{1,40}" placeholder="billing";
                    button type="submit" { "Add a secret" }
                }
            }
        }
    }
}

/// The account's secrets, for the page.
pub async fn load(
    state: &AppState,
    login: String,
) -> Result<Vec<SecretInfo>, crate::error::DomainError> {
    db::run(&state.pool, move |c| secrets::list(c, &login)).await
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// Revokes a named secret.
pub async fn revoke(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<NameForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    let (login, name) = (reseller.login.clone(), form.name.clone());
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        secrets::revoke(c, &login, &name, &by)
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("location", "/console/account?notice=secret-revoked"))
        .finish())
}

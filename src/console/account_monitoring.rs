//! The Account page's "KernelCare monitoring" section: the read-only monitoring token of the
//! Nagios reseller form (keys.md), made or rotated (shown once) and revoked here, as the
//! CLI and the admin API do it.

use actix_web::web;
use maud::{html, Markup};
use serde::Deserialize;

use super::page::{csrf_field, PageResult};
use super::{dates, guard};
use crate::auth::session::Console;
use crate::db;
use crate::domain::keys::monitoring_tokens;
use crate::domain::resellers::ChangedBy;
use crate::domain::roles::Permission;
use crate::state::AppState;

/// When the reseller's token was made; None when it has none.
pub async fn load(
    state: &AppState,
    reseller_id: i64,
) -> Result<Option<chrono::NaiveDateTime>, super::page::ConsoleError> {
    Ok(db::run(&state.pool, move |c| {
        monitoring_tokens::made_at(c, reseller_id)
    })
    .await?)
}

pub fn section(
    who: &Console,
    login: &str,
    made: Option<chrono::NaiveDateTime>,
    writable: bool,
) -> Markup {
    html! {
        section #monitoring {
            h2 { "KernelCare monitoring" }
            p {
                "Nagios and Datadog read the state of all your KernelCare servers from "
                code { "/api/kcare/nagios-res/" (login) "/TOKEN" }
                " with a monitoring token: it reads that state and nothing else."
            }
            p #monitoring-state {
                @match made {
                    Some(at) => { "A monitoring token was made on " (dates::time(at)) " (UTC)." }
                    None => { "No monitoring token yet." }
                }
            }
            @if writable {
                form method="post" action="/console/account/monitoring" {
                    (csrf_field(who))
                    button type="submit" {
                        @if made.is_some() { "Rotate the monitoring token" } @else { "Make a monitoring token" }
                    }
                }
                @if made.is_some() {
                    form method="post" action="/console/account/monitoring/revoke" {
                        (csrf_field(who))
                        button.danger type="submit" { "Revoke the monitoring token" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct MonitoringForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/account/monitoring`: a new token, shown once on the Account page.
pub async fn rotate(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<MonitoringForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    let token = db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::rotate(c, reseller.id, &by)
    })
    .await?;
    super::account::page(
        &state,
        &who,
        Some("A new monitoring token was made; the old one no longer works."),
        Some(("New monitoring token", &token)),
        None,
    )
    .await
}

/// `POST /console/account/monitoring/revoke`.
pub async fn revoke(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<MonitoringForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageAccount)?.clone();
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::revoke(c, reseller.id, &by)
    })
    .await?;
    Ok(super::account::redirect("monitoring-revoked"))
}

//! The Account page's "KernelCare monitoring" section: the read-only monitoring token of the
//! Nagios reseller form (keys.md), made or rotated (shown once) and revoked here, as the
//! CLI and the admin API do it.

use maud::{html, Markup};
use serde::Deserialize;

use super::page::{csrf_field, ConsoleError};
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
) -> Result<Option<chrono::NaiveDateTime>, ConsoleError> {
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

/// A new token for the console user's reseller (`POST /console/account/monitoring`; the
/// Account page shows it once).
pub async fn make(
    state: &AppState,
    who: &Console,
    form: &MonitoringForm,
) -> Result<String, ConsoleError> {
    let reseller = guard::reseller_write(who, &form.csrf, Permission::ManageAccount)?.clone();
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    Ok(db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::rotate(c, reseller.id, &by)
    })
    .await?)
}

/// Ends the reseller's token (`POST /console/account/monitoring/revoke`).
pub async fn end(
    state: &AppState,
    who: &Console,
    form: &MonitoringForm,
) -> Result<(), ConsoleError> {
    let reseller = guard::reseller_write(who, &form.csrf, Permission::ManageAccount)?.clone();
    let (source, now) = (who.source(), state.clock.now().naive_utc());
    db::run(&state.pool, move |c| {
        let by = ChangedBy {
            source: &source,
            now,
        };
        monitoring_tokens::revoke(c, reseller.id, &by)
    })
    .await?;
    Ok(())
}

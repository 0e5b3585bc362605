//! The Account page's "Reports" section, CLN's "report mailing": per product family whether
//! its reports (Systems Not Checking In, trials ending, the monthly statement) are mailed and
//! to whom, with the addresses the mail server refused shown as failing. Saved one family at a
//! time (`account::reports` posts here); an error shows in the family's form with what was typed.

use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::page::{csrf_field, ConsoleError};
use crate::auth::session::Console;
use crate::db;
use crate::domain::mail::outbox;
use crate::domain::report_mailing::{self, ReportMailing, MAX_ADDRESSES};
use crate::domain::resellers::ChangedBy;
use crate::domain::roles::Permission;
use crate::error::DomainError;
use crate::state::AppState;

/// A family's setting with its failing addresses (address, the server's words).
pub struct Shown {
    pub setting: ReportMailing,
    pub failing: Vec<(String, String)>,
}

/// What was typed in a family's form that could not be saved, and why.
pub struct Typed {
    pub family: String,
    pub active: bool,
    pub addresses: String,
    pub error: String,
}

pub async fn load(state: &AppState, reseller_id: i64) -> Result<Vec<Shown>, DomainError> {
    db::run(&state.pool, move |c| {
        report_mailing::for_reseller(c, reseller_id)?
            .into_iter()
            .map(|setting| {
                let failing = outbox::failing(c, &setting.addresses)?;
                Ok(Shown { setting, failing })
            })
            .collect()
    })
    .await
}

/// How a family is named on the page.
fn family_title(family: &str) -> &str {
    match family {
        "cloudlinux" => "CloudLinux OS",
        "els" => "Extended Lifecycle Support (ELS)",
        "imunify" => "Imunify",
        "kernelcare" => "KernelCare",
        other => other,
    }
}

pub fn section(who: &Console, all: &[Shown], writable: bool, typed: Option<&Typed>) -> Markup {
    html! {
        section #reports {
            h2 { "Reports" }
            p.muted {
                "Mailed per product: “Systems Not Checking In” once a day when servers stop "
                "checking in, trials ending within 3 days, and the statement of each month on the 1st "
                "(up to " (MAX_ADDRESSES) " addresses each)."
            }
            @for shown in all {
                @let family = shown.setting.family.as_str();
                @let typed = typed.filter(|t| t.family == family);
                @let active = typed.map_or(shown.setting.active, |t| t.active);
                @let addresses = typed.map_or_else(|| shown.setting.addresses.join(", "), |t| t.addresses.clone());
                @let id = format!("reports-{family}");
                @if writable {
                    form.reports method="post" action="/console/account/reports" {
                        (csrf_field(who))
                        input type="hidden" name="family" value=(family);
                        fieldset {
                            legend { (family_title(family)) }
                            @if let Some(t) = typed {
                                p.error role="alert" { (t.error) }
                            }
                            div.check {
                                input id={(id) "-active"} type="checkbox" name="active" value="on" checked[active];
                                label for={(id) "-active"} { "Mail " (family_title(family)) " reports" }
                            }
                            label for={(id) "-to"} { "Addresses (comma-separated)" }
                            input id={(id) "-to"} type="text" name="addresses" value=(addresses) autocomplete="email";
                            (failing(&shown.failing))
                            button type="submit" { "Save " (family_title(family)) " reports" }
                        }
                    }
                } @else {
                    h3 { (family_title(family)) }
                    p {
                        @if shown.setting.sends() { "Mailed to " (shown.setting.addresses.join(", ")) }
                        @else { "Not mailed." }
                    }
                    (failing(&shown.failing))
                }
            }
        }
    }
}

fn failing(failing: &[(String, String)]) -> Markup {
    html! {
        @if !failing.is_empty() {
            ul.failing {
                @for (address, error) in failing {
                    li { strong { (address) } " is failing: the mail server refused it (" (error) ")." }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ReportsForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    addresses: String,
}

/// Saves one family's mailing from its form: None when saved, else what was typed and why it
/// was refused (`account::reports` shows it in the page).
pub async fn store(
    state: &AppState,
    who: &Console,
    form: ReportsForm,
) -> Result<Option<Typed>, ConsoleError> {
    let reseller = guard::reseller_write(who, &form.csrf, Permission::ManageAccount)?.clone();
    let active = form.active == "on";
    let (family, text) = (form.family.clone(), form.addresses.clone());
    let source = who.source();
    let now = state.clock.now().naive_utc();
    let saved = db::run(&state.pool, move |c| {
        let setting = ReportMailing {
            family,
            active,
            addresses: report_mailing::parse_addresses(&text)?,
        };
        let by = ChangedBy {
            source: &source,
            now,
        };
        report_mailing::set(c, reseller.id, &setting, &by)
    })
    .await;
    match saved {
        Ok(()) => Ok(None),
        Err(DomainError::Invalid(why) | DomainError::NotFound(why) | DomainError::Refused(why)) => {
            Ok(Some(Typed {
                family: form.family,
                active,
                addresses: form.addresses,
                error: why,
            }))
        }
        Err(e) => Err(e.into()),
    }
}

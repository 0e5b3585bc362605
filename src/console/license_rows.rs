//! One row of the IP Licenses page: its cells (labelled, so that a phone shows each row as a
//! card) and its actions behind one "Actions" disclosure, each offered only to a role that
//! may use it. Every form carries the list's filter (`back`), so the list comes back as it
//! was; a remove first asks (`license_actions::confirm_remove`).

use std::collections::{HashMap, HashSet};

use maud::{html, Markup};

use super::dates;
use super::page::csrf_field;
use crate::auth::session::Console;
use crate::db::models::License;
use crate::domain::catalogue::EnabledType;
use crate::domain::licenses::Suspension;
use crate::domain::upstream::RelayStatus;

/// What the user may do to the rows (its role, on an account that is not blocked).
#[derive(Debug, Clone, Copy)]
pub struct Rights {
    /// Remove, ELS, convert (and the bulk forms).
    pub licenses: bool,
    /// Note, suspend and resume, move.
    pub servers: bool,
}

/// The page's rows' standing: with their upstream, and suspended ones.
pub struct RowMarks {
    pub relay: HashSet<(String, i32)>,
    pub suspended: HashMap<i64, Suspension>,
}

/// What the Hostname column shows: the first line of the last check-in's text.
fn hostname(license: &License) -> String {
    let info = license.server_info.as_deref().unwrap_or("");
    info.lines().next().unwrap_or("").chars().take(80).collect()
}

pub fn row(
    who: &Console,
    license: &License,
    names: &HashMap<i32, &str>,
    types: &[EnabledType],
    may: Rights,
    marks: &RowMarks,
    back: &str,
) -> Markup {
    let pick = format!("{}|{}", license.ip, license.type_id);
    let name = names.get(&license.type_id).copied().unwrap_or("");
    let suspension = marks.suspended.get(&license.id);
    html! {
        tr {
            @if may.licenses {
                td { input type="checkbox" name="pick" value=(pick) form="bulk" aria-label={"Select " (license.ip) " type " (license.type_id)}; }
            }
            td.ip data-label="IP" { (license.ip) }
            td data-label="Hostname" {
                (hostname(license))
                @if let Some(id) = &license.external_id { div.muted { "ID " (id) } }
                @if let Some(note) = &license.note { div.note.muted { (note) } }
            }
            td data-label="Added" { (dates::day(license.created_at)) }
            td data-label="Last check-in" { (dates::time_or(license.last_checkin, "never")) }
            td data-label="Type" {
                (name) " (" (license.type_id) ")" (relay_badge(RelayStatus::of(license, &marks.relay)))
                @if let Some(s) = suspension {
                    " " span.badge.suspended title={"Suspended " (dates::time(s.suspended_at)) " UTC"} { "suspended: " (s.reason) }
                }
                " " span.muted { @if license.els_allowed { "· ELS on" } @else { "· ELS off" } }
            }
            td.actions {
                @if may.licenses || may.servers {
                    details.row-actions {
                        summary aria-label={"Actions for " (license.ip) " type " (license.type_id)} { "Actions" }
                        @if may.licenses { (license_forms(who, license, types, back)) }
                        @if may.servers { (server_forms(who, license, suspension, back)) }
                    }
                }
            }
        }
    }
}

/// The hidden fields naming the row's license and the list to come back to.
fn this_license(who: &Console, license: &License, back: &str) -> Markup {
    html! {
        (csrf_field(who))
        input type="hidden" name="ip" value=(license.ip);
        input type="hidden" name="type" value=(license.type_id);
        input type="hidden" name="back" value=(back);
    }
}

/// Remove (after a confirmation), ELS, convert.
fn license_forms(who: &Console, license: &License, types: &[EnabledType], back: &str) -> Markup {
    let family = types
        .iter()
        .find(|t| t.license_type.id == license.type_id)
        .map(|t| &t.license_type);
    let convert_to: Vec<&EnabledType> = match family {
        Some(f) if f.convertible => types
            .iter()
            .filter(|t| t.license_type.family == f.family && t.license_type.id != f.id)
            .collect(),
        _ => Vec::new(),
    };
    let confirm = serde_urlencoded::to_string([
        ("ip", license.ip.as_str()),
        ("type", &license.type_id.to_string()),
        ("back", back),
    ])
    .unwrap_or_default();
    html! {
        a.button.danger href={"/console/licenses/remove?" (confirm)} aria-label={"Remove " (license.ip) " type " (license.type_id) "…"} { "Remove…" }
        form method="post" action="/console/licenses/els" {
            (this_license(who, license, back))
            input type="hidden" name="els" value=(if license.els_allowed { "off" } else { "on" });
            button type="submit" { @if license.els_allowed { "ELS: on → off" } @else { "ELS: off → on" } }
        }
        @if !convert_to.is_empty() {
            form method="post" action="/console/licenses/convert" {
                (csrf_field(who))
                input type="hidden" name="ip" value=(license.ip);
                input type="hidden" name="from" value=(license.type_id);
                input type="hidden" name="back" value=(back);
                select name="to" aria-label={"Convert " (license.ip) " to"} {
                    @for t in &convert_to {
                        option value=(t.license_type.id) { (t.license_type.name) }
                    }
                }
                button type="submit" { "Convert" }
            }
        }
    }
}

/// Note and external id, suspend or resume, move.
fn server_forms(
    who: &Console,
    license: &License,
    suspension: Option<&Suspension>,
    back: &str,
) -> Markup {
    html! {
        form.note method="post" action="/console/licenses/note" {
            (this_license(who, license, back))
            label { "Note " textarea name="note" maxlength="500" rows="2" { (license.note.as_deref().unwrap_or("")) } }
            label { "External id " input type="text" name="external_id" maxlength="100" value=(license.external_id.as_deref().unwrap_or("")); }
            button type="submit" { "Save note" }
        }
        @if suspension.is_some() {
            form method="post" action="/console/licenses/resume" {
                (this_license(who, license, back))
                button type="submit" { "Resume" }
            }
        } @else {
            form.suspend method="post" action="/console/licenses/suspend" {
                (this_license(who, license, back))
                input type="text" name="reason" required maxlength="200" placeholder="reason" aria-label={"Reason to suspend " (license.ip) " type " (license.type_id)};
                button type="submit" { "Suspend" }
            }
        }
        form.move method="post" action="/console/licenses/move" {
            (this_license(who, license, back))
            input type="text" name="new_ip" required size="15" placeholder="new IP" aria-label={"New IP for " (license.ip) " type " (license.type_id)};
            button type="submit" { "Move" }
        }
    }
}

/// "pending upstream" (or registering, withdrawing) beside a license whose type is carried
/// to an upstream and is not yet in step with it.
pub fn relay_badge(relay: Option<RelayStatus>) -> Markup {
    html! {
        @if let Some(status) = relay {
            " " span.badge title="The change has not reached the upstream yet" {
                @match status {
                    RelayStatus::Pending => "pending upstream",
                    RelayStatus::Registering => "registering upstream",
                    RelayStatus::Withdrawing => "withdrawing upstream",
                }
            }
        }
    }
}

//! The IP Licenses page (CLN's columns): filter by type and by IP or CIDR, free-text search,
//! sort by column, keyset pages, and a form per row for remove, note, move, ELS and Imunify
//! conversion.
//! The actions themselves are in `license_actions`.

use std::collections::HashMap;

use actix_web::web;
use chrono::NaiveDateTime;
use maud::{html, Markup};

use super::filter::ListQuery;
use super::guard;
use super::page::{csrf_field, html_response, notice, shell, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::db::models::License;
use crate::domain::catalogue::{enabled_types, EnabledType};
use crate::domain::license_search;
use crate::domain::licenses::{self, Suspension};
use crate::domain::upstream::{ops, RelayStatus};
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;

/// Notices an action may ask the page to show (only these: a URL cannot inject text).
pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "added" => "License added.",
        "removed" => "License removed.",
        "removed-some" => "The selected licenses were removed.",
        "removed-part" => {
            "Some of the selected licenses were removed; the others were not yours or already gone."
        }
        "removed-none" => "Nothing was removed: none of the selected licenses is yours any more.",
        "not-held" => "Nothing changed: you hold no license of that type on that IP.",
        "nothing" => "Nothing was selected.",
        "els" => "ELS setting saved.",
        "converted" => "License converted.",
        "moved" => "License moved to its new IP.",
        "noted" => "Note and external id saved.",
        "suspended" => "License suspended: it keeps its IP; its server is told.",
        "resumed" => "License resumed.",
        "not-suspended" => "Nothing changed: that license was not suspended.",
        "already-suspended" => "Nothing changed: that license was already suspended.",
        "not-converted" => {
            "That conversion is not possible (limit, type or a license already there)."
        }
        _ => return None,
    })
}

pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ListQuery>,
) -> PageResult {
    let reseller = guard::reseller_read(&who)?.clone();
    let query = query.into_inner();
    let filter = query.filter()?;
    let sort = query.sort();
    let after = query.after()?;
    let now = state.clock.now().naive_utc();
    let id = reseller.id;
    let (types, rows, pending) = db::run(&state.pool, move |c| {
        let types = enabled_types(c, id)?;
        let rows = license_search::page(
            c,
            Some(id),
            &filter,
            sort,
            after.as_ref(),
            PAGE_SIZE + 1,
            now,
        )?;
        let ips: Vec<String> = rows.iter().map(|l| l.ip.clone()).collect();
        let ids: Vec<i64> = rows.iter().map(|l| l.id).collect();
        let pending = (
            ops::pending_among(c, Some(&ips))?,
            licenses::suspensions_of(c, &ids)?,
        );
        Ok((types, rows, pending))
    })
    .await?;
    let (pending, suspended) = pending;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = &rows[..rows.len().min(PAGE_SIZE as usize)];
    let names: HashMap<i32, &str> = types
        .iter()
        .map(|t| (t.license_type.id, t.license_type.name.as_str()))
        .collect();
    let writable = who.can_write() && reseller.blocked_reason.is_none();
    let body = html! {
        (notice(notice_text(&query.notice)))
        @if writable { (add_form(&who, &types)) }
        (filter_form(&query, &types))
        @if writable {
            form #bulk method="post" action="/console/licenses/bulk-remove" {
                (csrf_field(&who))
                button type="submit" { "Remove selected" }
                " "
                a.button href={"/console/licenses/remove-matching?" (query.to_query())} {
                    @if query.is_filtered() { "Remove every license matching the filter…" } @else { "Remove every license…" }
                }
            }
        }
        p {
            a href={"/console/licenses.csv?" (query.to_query())} download { "Export these as CSV" }
        }
        table.licenses {
            caption.visually-hidden { "IP licenses" }
            thead {
                tr {
                    @if writable { th scope="col" { input #select-all type="checkbox" aria-label="Select every row on this page"; } }
                    th scope="col" { a href={"?" (query.sorted_by("ip"))} { "IP" } }
                    th scope="col" { "Hostname" }
                    th scope="col" { a href={"?" (query.sorted_by("added"))} { "Added" } }
                    th scope="col" { "Last check-in" }
                    th scope="col" { a href={"?" (query.sorted_by("type"))} { "Type" } }
                    th scope="col" { "Actions" }
                }
            }
            tbody {
                @for license in rows {
                    @let state = RowState {
                        relay: RelayStatus::of(license, &pending),
                        suspension: suspended.get(&license.id),
                    };
                    (row(&who, license, &names, &types, writable, state))
                }
            }
        }
        @if rows.is_empty() {
            p.empty { "No license matches." }
        }
        nav.pages aria-label="Pages" {
            @if !query.after.is_empty() {
                a href={"?" (query.to_query())} { "First page" }
                " "
            }
            @if more {
                @if let Some(last) = rows.last() {
                    a rel="next" href={"?" (query.next_after(last))} { "Next page" }
                }
            }
        }
    };
    Ok(html_response(shell(
        "IP Licenses",
        Some(&who),
        Section::Licenses,
        body,
    )))
}

fn add_form(who: &Console, types: &[EnabledType]) -> Markup {
    html! {
        form.add method="post" action="/console/licenses/add" {
            (csrf_field(who))
            label for="add-ip" { "IP address" }
            input #add-ip name="ip" required inputmode="decimal" placeholder="203.0.113.10";
            label for="add-type" { "Type" }
            select #add-type name="type" {
                @for t in types {
                    option value=(t.license_type.id) { (t.license_type.name) " (" (t.license_type.id) ")" }
                }
            }
            label for="add-note" { "Note" }
            input #add-note name="note" maxlength="500" placeholder="optional";
            button type="submit" { "Add IP" }
        }
    }
}

fn filter_form(query: &ListQuery, types: &[EnabledType]) -> Markup {
    html! {
        form.filter method="get" action="/console/licenses" role="search" {
            label for="f-type" { "Type" }
            select #f-type name="type" {
                option value="" { "any" }
                @for t in types {
                    @let id = t.license_type.id.to_string();
                    option value=(id) selected[query.type_id.trim() == id] { (t.license_type.name) }
                }
            }
            label for="f-ip" { "IP or CIDR" }
            input #f-ip name="ip" value=(query.ip) placeholder="203.0.113.0/24";
            label for="f-q" { "Search" }
            input #f-q type="search" name="q" value=(query.q) placeholder="IP, hostname, note or id";
            input type="hidden" name="sort" value=(query.sort);
            input type="hidden" name="dir" value=(query.dir);
            button type="submit" { "Filter" }
            @if query.is_filtered() { " " a href="/console/licenses" { "Clear" } }
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

fn when(at: Option<NaiveDateTime>) -> String {
    at.map_or_else(
        || "never".to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// What the Hostname column shows: the first line of the last check-in's text.
fn hostname(license: &License) -> String {
    let info = license.server_info.as_deref().unwrap_or("");
    info.lines().next().unwrap_or("").chars().take(80).collect()
}

/// Where a row's license stands: with its upstream, and whether it is suspended.
struct RowState<'a> {
    relay: Option<RelayStatus>,
    suspension: Option<&'a Suspension>,
}

fn row(
    who: &Console,
    license: &License,
    names: &HashMap<i32, &str>,
    types: &[EnabledType],
    writable: bool,
    state: RowState<'_>,
) -> Markup {
    let RowState { relay, suspension } = state;
    let pick = format!("{}|{}", license.ip, license.type_id);
    let name = names.get(&license.type_id).copied().unwrap_or("");
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
    html! {
        tr {
            @if writable {
                td { input type="checkbox" name="pick" value=(pick) form="bulk" aria-label={"Select " (license.ip) " type " (license.type_id)}; }
            }
            td.ip { (license.ip) }
            td {
                (hostname(license))
                @if let Some(id) = &license.external_id { div.muted { "ID " (id) } }
                @if let Some(note) = &license.note { div.note.muted { (note) } }
            }
            td { (license.created_at.format("%Y-%m-%d")) }
            td { (when(license.last_checkin)) }
            td {
                (name) " (" (license.type_id) ")" (relay_badge(relay))
                @if let Some(s) = suspension {
                    " " span.badge.suspended title={"Suspended " (s.suspended_at.format("%Y-%m-%d %H:%M")) " UTC"} { "suspended: " (s.reason) }
                }
            }
            td.actions {
                @if writable {
                    form method="post" action="/console/licenses/remove" {
                        (csrf_field(who))
                        input type="hidden" name="ip" value=(license.ip);
                        input type="hidden" name="type" value=(license.type_id);
                        button type="submit" aria-label={"Remove " (license.ip) " type " (license.type_id)} { "Remove" }
                    }
                    form method="post" action="/console/licenses/els" {
                        (csrf_field(who))
                        input type="hidden" name="ip" value=(license.ip);
                        input type="hidden" name="type" value=(license.type_id);
                        input type="hidden" name="els" value=(if license.els_allowed { "off" } else { "on" });
                        button type="submit" { @if license.els_allowed { "ELS: on → off" } @else { "ELS: off → on" } }
                    }
                    details.note {
                        summary { "Note" }
                        form method="post" action="/console/licenses/note" {
                            (csrf_field(who))
                            input type="hidden" name="ip" value=(license.ip);
                            input type="hidden" name="type" value=(license.type_id);
                            label { "Note " textarea name="note" maxlength="500" rows="2" { (license.note.as_deref().unwrap_or("")) } }
                            label { "External id " input type="text" name="external_id" maxlength="100" value=(license.external_id.as_deref().unwrap_or("")); }
                            button type="submit" { "Save" }
                        }
                    }
                    @if suspension.is_some() {
                        form method="post" action="/console/licenses/resume" {
                            (csrf_field(who))
                            input type="hidden" name="ip" value=(license.ip);
                            input type="hidden" name="type" value=(license.type_id);
                            button type="submit" { "Resume" }
                        }
                    } @else {
                        form.suspend method="post" action="/console/licenses/suspend" {
                            (csrf_field(who))
                            input type="hidden" name="ip" value=(license.ip);
                            input type="hidden" name="type" value=(license.type_id);
                            input type="text" name="reason" required maxlength="200" placeholder="reason" aria-label={"Reason to suspend " (license.ip) " type " (license.type_id)};
                            button type="submit" { "Suspend" }
                        }
                    }
                    form.move method="post" action="/console/licenses/move" {
                        (csrf_field(who))
                        input type="hidden" name="ip" value=(license.ip);
                        input type="hidden" name="type" value=(license.type_id);
                        input type="text" name="new_ip" required size="15" placeholder="new IP" aria-label={"New IP for " (license.ip) " type " (license.type_id)};
                        button type="submit" { "Move" }
                    }
                    @if !convert_to.is_empty() {
                        form method="post" action="/console/licenses/convert" {
                            (csrf_field(who))
                            input type="hidden" name="ip" value=(license.ip);
                            input type="hidden" name="from" value=(license.type_id);
                            select name="to" aria-label={"Convert " (license.ip) " to"} {
                                @for t in &convert_to {
                                    option value=(t.license_type.id) { (t.license_type.name) }
                                }
                            }
                            button type="submit" { "Convert" }
                        }
                    }
                } @else {
                    span.muted { @if license.els_allowed { "ELS on" } @else { "ELS off" } }
                }
            }
        }
    }
}

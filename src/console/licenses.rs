//! The IP Licenses page (CLN's columns): filter by type and by IP or CIDR, free-text search,
//! sort by column (IP in numeric order), the total and page numbers, rows per page, keyset
//! pages both ways; each row's actions are in `license_rows`, what they do in
//! `license_actions`. An add that fails is shown on this page with what was typed.

use std::collections::HashMap;

use actix_web::web;
use maud::{html, Markup};

use super::filter::ListQuery;
use super::guard;
use super::license_rows::{self, Rights, RowMarks};
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use super::paging;
use crate::auth::session::Console;
use crate::db;
use crate::domain::catalogue::{enabled_types, EnabledType};
use crate::domain::licenses;
use crate::domain::roles::Permission;
use crate::domain::upstream::ops;
use crate::state::AppState;

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

/// An action on this page that a rule refused: why, and for an add what was typed.
pub struct Failure {
    pub typed: Option<Typed>,
    pub error: ConsoleError,
}

/// What the add form held.
pub struct Typed {
    pub ip: String,
    pub type_id: String,
    pub note: String,
}

pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<ListQuery>,
) -> PageResult {
    Ok(html_response(
        render(&state, &who, query.into_inner(), None).await?,
    ))
}

/// The page for `query`, with a failed add's form and error on top when there is one.
pub async fn render(
    state: &AppState,
    who: &Console,
    query: ListQuery,
    failed: Option<&Failure>,
) -> Result<Markup, ConsoleError> {
    let reseller = guard::reseller_read(who, Permission::ViewLicenses)?.clone();
    let filter = query.filter()?;
    let now = state.clock.now().naive_utc();
    let id = reseller.id;
    let list = query.clone();
    let (types, paged, marks) = db::run(&state.pool, move |c| {
        let types = enabled_types(c, id)?;
        let paged = paging::read(c, Some(id), &filter, &list, now)?;
        let ips: Vec<String> = paged.rows.iter().map(|l| l.ip.clone()).collect();
        let ids: Vec<i64> = paged.rows.iter().map(|l| l.id).collect();
        let marks = RowMarks {
            relay: ops::pending_among(c, Some(&ips))?,
            suspended: licenses::suspensions_of(c, &ids)?,
        };
        Ok((types, paged, marks))
    })
    .await?;
    let active = reseller.blocked_reason.is_none();
    let may = Rights {
        licenses: active && who.role().may(Permission::ManageLicenses),
        servers: active && who.role().may(Permission::ManageServers),
    };
    let names: HashMap<i32, &str> = types
        .iter()
        .map(|t| (t.license_type.id, t.license_type.name.as_str()))
        .collect();
    let back = query.to_query();
    let body = html! {
        (notice(notice_text(&query.notice)))
        @if let Some(failed) = failed {
            p.error role="alert" { "Not done: " (failed.error.to_string()) }
        }
        @if may.licenses { (add_form(who, &types, failed.and_then(|f| f.typed.as_ref()), &back)) }
        (filter_form(&query, &types))
        p.summary {
            strong #total { (paged.total) } " licenses" @if query.is_filtered() { " match the filter" }
            " · " (paging::page_of(&query, &paged))
            " · " a href={"/console/licenses.csv?" (query.to_query())} download { "Export these as CSV" }
        }
        @if may.licenses {
            form #bulk method="post" action="/console/licenses/bulk-remove" {
                (csrf_field(who))
                input type="hidden" name="back" value=(back);
                button type="submit" { "Remove selected" }
                " "
                a.button href={"/console/licenses/remove-matching?" (query.to_query())} {
                    @if query.is_filtered() { "Remove every license matching the filter…" } @else { "Remove every license…" }
                }
            }
        }
        table.licenses.stack {
            caption.visually-hidden { "IP licenses" }
            thead {
                tr {
                    @if may.licenses { th scope="col" { input #select-all type="checkbox" aria-label="Select every row on this page"; } }
                    th scope="col" { a href={"?" (query.sorted_by("ip"))} { "IP" } }
                    th scope="col" { "Hostname" }
                    th scope="col" { a href={"?" (query.sorted_by("added"))} { "Added" } }
                    th scope="col" { "Last check-in (UTC)" }
                    th scope="col" { a href={"?" (query.sorted_by("type"))} { "Type" } }
                    th scope="col" { "Actions" }
                }
            }
            tbody {
                @for license in &paged.rows {
                    (license_rows::row(who, license, &names, &types, may, &marks, &back))
                }
            }
        }
        @if paged.rows.is_empty() {
            p.empty { "No license matches." }
        }
        (paging::pager(&query, "", &paged))
    };
    Ok(shell("IP Licenses", Some(who), Section::Licenses, body))
}

fn add_form(who: &Console, types: &[EnabledType], typed: Option<&Typed>, back: &str) -> Markup {
    let typed = |f: fn(&Typed) -> &str| typed.map(f).unwrap_or("");
    html! {
        form.add method="post" action="/console/licenses/add" {
            (csrf_field(who))
            input type="hidden" name="back" value=(back);
            label for="add-ip" { "IP address" }
            input #add-ip name="ip" required inputmode="decimal" placeholder="203.0.113.10" value=(typed(|f| &f.ip));
            label for="add-type" { "Type" }
            select #add-type name="type" {
                @for t in types {
                    @let id = t.license_type.id.to_string();
                    option value=(id) selected[typed(|f| &f.type_id) == id] { (t.license_type.name) " (" (id) ")" }
                }
            }
            label for="add-note" { "Note" }
            input #add-note name="note" maxlength="500" placeholder="optional" value=(typed(|f| &f.note));
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

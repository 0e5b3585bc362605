//! The Keys pages (keys.md): a reseller's keys per product (KernelCare, Imunify, CloudLinux
//! OS, ELS) with use, note, IP ranges and sticky tags, and the product's server groups; one
//! key with its servers (their groups, and what KernelCare servers report); and the
//! operator's view of every reseller's keys. The forms post to `key_actions` and
//! `key_groups`.

use std::collections::HashMap;

use actix_web::web;
use maud::{html, Markup};
use serde::Deserialize;

use super::key_groups::{self, Groups};
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use super::{dates, guard};
use crate::auth::session::Console;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::catalogue::{all_types, enabled_types};
use crate::domain::keys::manage::MAX_NOTE;
use crate::domain::keys::monitoring::{self, Status};
use crate::domain::keys::products::product_name;
use crate::domain::keys::{self, servers, sticky, Product};
use crate::domain::resellers;
use crate::domain::roles::Permission;
use crate::error::DomainError;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct KeysQuery {
    #[serde(default)]
    product: String,
    #[serde(default)]
    notice: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "created" => Some("Key created."),
        "deleted" => Some("Key deleted with its servers."),
        "updated" => Some("Key updated."),
        "ranges" => Some("IP ranges saved."),
        "server-removed" => Some("Server removed; its slot is free."),
        "sticky" => Some("Sticky tag saved."),
        "group-created" => Some("Group created."),
        "group-set" => Some("The server's group is saved."),
        _ => None,
    }
}

/// `?product=imunify` (`cloudlinux`, `els`) shows that product's keys; anything else the
/// KernelCare keys.
fn product_of(text: &str) -> Product {
    Product::from_slug(text).unwrap_or(Product::KernelCare)
}

/// "2 / 5", with CLN's words when the key is full.
fn use_of(key: &ActivationKey) -> String {
    if key.server_limit == 0 {
        format!("{} / unlimited", key.servers)
    } else if key.servers >= key.server_limit {
        format!(
            "{} / {} · Maximum usage count of {} reached",
            key.servers, key.server_limit, key.server_limit
        )
    } else {
        format!("{} / {}", key.servers, key.server_limit)
    }
}

fn product_tabs(base: &str, current: Product) -> Markup {
    html! {
        nav.tabs aria-label="Products" {
            ul {
                @for (product, slug) in Product::ALL.map(|p| (p, p.slug())) {
                    li {
                        @if product == current {
                            a href={(base) "?product=" (slug)} aria-current="page" { (product.name()) " keys" }
                        } @else {
                            a href={(base) "?product=" (slug)} { (product.name()) " keys" }
                        }
                    }
                }
            }
        }
    }
}

/// The product names of the catalogue, by type.
type Names = HashMap<i32, String>;

fn names_of(conn: &mut db::DbConnection) -> Result<Names, DomainError> {
    Ok(all_types(conn)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect())
}

/// A key's product as people name it (the catalogue's name; the code if it has none).
fn product_title(names: &Names, type_id: i32) -> String {
    names
        .get(&type_id)
        .cloned()
        .unwrap_or_else(|| product_name(type_id).to_string())
}

/// The keys table; `owner` adds the reseller column (the operator's view). KernelCare keys
/// show their sticky tag.
fn keys_table(
    found: &[ActivationKey],
    names: &Names,
    link: &str,
    owner: Option<&dyn Fn(i64) -> String>,
) -> Markup {
    let sticky = found.iter().any(is_kernelcare);
    html! {
        @if found.is_empty() {
            p.empty { "No key of this product." }
        } @else {
            table.stack #keys {
                thead { tr {
                    th scope="col" { "Key" }
                    @if owner.is_some() { th scope="col" { "Reseller" } }
                    th scope="col" { "Product" } th scope="col" { "Servers" } th scope="col" { "Note" }
                    th scope="col" { "IP ranges" } th scope="col" { "Created (UTC)" }
                    @if sticky { th scope="col" { "Sticky tag" } }
                } }
                tbody {
                    @for k in found {
                        tr {
                            td data-label="Key" { a.key href={(link) (k.key_text)} { code { (k.key_text) } } @if k.is_default { " (default)" } }
                            @if let Some(owner) = owner { td data-label="Reseller" { (owner(k.reseller_id)) } }
                            td data-label="Product" { (product_title(names, k.type_id)) }
                            td data-label="Servers" { (use_of(k)) }
                            td data-label="Note" { (k.note) }
                            td data-label="IP ranges" { (k.cidrs.as_deref().unwrap_or("any")) }
                            td data-label="Created" { (dates::day(k.created_at)) }
                            @if sticky { td data-label="Sticky tag" { (sticky_text(k)) } }
                        }
                    }
                }
            }
        }
    }
}

fn is_kernelcare(key: &ActivationKey) -> bool {
    Product::of_type(key.type_id) == Some(Product::KernelCare)
}

fn sticky_text(key: &ActivationKey) -> String {
    key.sticky_tag
        .map_or_else(|| "none".to_string(), |d| d.to_string())
}

/// `/console/keys?product=kcare|imunify|cloudlinux|els`: the reseller's keys of one
/// product, a form to make one, and the product's server groups.
pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<KeysQuery>,
) -> PageResult {
    let reseller = guard::reseller_read(&who, Permission::ViewLicenses)?.clone();
    let product = product_of(&query.product);
    let id = reseller.id;
    let (found, enabled, names, groups) = db::run(&state.pool, move |c| {
        Ok((
            keys::manage::list(c, Some(id), Some(product))?,
            enabled_types(c, id)?,
            names_of(c)?,
            key_groups::load(c, id, product)?,
        ))
    })
    .await?;
    let may_group = reseller.blocked_reason.is_none() && who.role().may(Permission::ManageServers);
    // The create form only for a role that may make keys, on an account that may change.
    let creatable: Vec<(i32, String)> = enabled
        .into_iter()
        .filter(|e| Product::of_type(e.license_type.id) == Some(product))
        .map(|e| (e.license_type.id, e.license_type.name))
        .filter(|_| who.role().may(Permission::ManageLicenses) && reseller.blocked_reason.is_none())
        .collect();
    let body = html! {
        (notice(notice_text(&query.notice)))
        (product_tabs("/console/keys", product))
        (keys_table(&found, &names, "/console/keys/", None))
        @if !creatable.is_empty() {
            h2 { "Create a " (product.name()) " key" }
            form.create method="post" action="/console/keys" {
                (csrf_field(&who))
                label for="key-type" { "Product" }
                select #key-type name="type" {
                    @for (t, name) in &creatable {
                        option value=(t) { (name) }
                    }
                }
                label for="key-limit" { "Servers (0 = unlimited)" }
                input #key-limit name="limit" type="number" min="0" value="1" required;
                label for="key-note" { "Note" }
                input #key-note name="note" maxlength=(MAX_NOTE) size="30";
                button type="submit" { "Create key" }
            }
        }
        (key_groups::section(&who, product, &groups, may_group))
    };
    Ok(html_response(shell(
        "Keys",
        Some(&who),
        Section::Keys,
        body,
    )))
}

/// What a key's servers table shows besides the servers: the way to remove them, their
/// groups (and the way to move them), and, for KernelCare, what they report.
struct ServerColumns<'a> {
    remove: Option<(&'a Console, &'a str)>,
    groups: Option<(&'a Console, &'a str, &'a Groups, bool)>,
    kernelcare: bool,
    now: chrono::NaiveDateTime,
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::UpToDate => "up to date",
        Status::OutOfDate => "out of date",
        Status::Unsupported => "unsupported",
        Status::Inactive => "inactive",
    }
}

fn servers_table(rows: &[KeyServer], columns: &ServerColumns<'_>) -> Markup {
    let remove = columns.remove;
    html! {
        @if rows.is_empty() {
            p.empty { "No server has registered with this key." }
        } @else {
            table.stack #servers {
                thead { tr {
                    th scope="col" { "Server id" } th scope="col" { "IP" } th scope="col" { "Hostname" }
                    th scope="col" { "Registered (UTC)" } th scope="col" { "Last check-in (UTC)" }
                    @if columns.kernelcare {
                        th scope="col" { "Kernel" } th scope="col" { "Patch level" } th scope="col" { "Status" }
                    }
                    @if columns.groups.is_some() { th scope="col" { "Group" } }
                    @if remove.is_some() { th scope="col" { "Actions" } }
                } }
                tbody {
                    @for s in rows {
                        tr {
                            td data-label="Server id" { code { (s.server_id) } }
                            td data-label="IP" { (s.ip) }
                            td data-label="Hostname" { (s.hostname.as_deref().unwrap_or("")) }
                            td data-label="Registered" { (dates::time(s.created_at)) }
                            td data-label="Last check-in" { (dates::time_or(s.last_checkin, "never")) }
                            @if columns.kernelcare {
                                td data-label="Kernel" { (s.kernel_id.as_deref().unwrap_or("")) }
                                td data-label="Patch level" {
                                    (s.patch_level.map(|l| l.to_string()).unwrap_or_default())
                                    @if let Some(latest) = s.latest_patch_level { " of " (latest) }
                                }
                                td data-label="Status" { (status_text(monitoring::status(s, columns.now))) }
                            }
                            @if let Some((who, key, groups, may)) = columns.groups {
                                td data-label="Group" { (key_groups::cell(who, key, (s.id, &s.server_id), groups, may)) }
                            }
                            @if let Some((who, key)) = remove {
                                td.actions {
                                    form method="post" action={"/console/keys/" (key) "/servers/remove"} {
                                        (csrf_field(who))
                                        input type="hidden" name="server_id" value=(s.server_id);
                                        button.danger type="submit" aria-label={"Remove server " (s.server_id)} { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/console/keys/{key}`: one of the reseller's keys, its servers and its settings.
pub async fn show(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
    query: web::Query<KeysQuery>,
) -> PageResult {
    let reseller = guard::reseller_read(&who, Permission::ViewLicenses)?.clone();
    let key = key.into_inner();
    let id = reseller.id;
    let found = db::run(&state.pool, move |c| {
        let Some(found) = keys::find_own(c, id, None, &key)? else {
            return Ok(None);
        };
        let rows = servers::of_key(c, found.id)?;
        let product = Product::of_type(found.type_id).unwrap_or(Product::KernelCare);
        let groups = key_groups::load(c, id, product)?;
        Ok(Some((found, rows, names_of(c)?, groups)))
    })
    .await?;
    let (found, rows, names, groups) = found.ok_or(ConsoleError::NotFound)?;
    let k = &found.key_text;
    let active = reseller.blocked_reason.is_none();
    let manage_keys = active && who.role().may(Permission::ManageLicenses);
    let manage_servers = active && who.role().may(Permission::ManageServers);
    let columns = ServerColumns {
        remove: manage_servers.then_some((&who, k.as_str())),
        groups: Some((&who, k.as_str(), &groups, manage_servers)),
        kernelcare: is_kernelcare(&found),
        now: state.clock.now().naive_utc(),
    };
    let today = state.clock.now().date_naive();
    let body = html! {
        (notice(notice_text(&query.notice)))
        (key_facts(&found, &names))
        h2 { "Servers" }
        (servers_table(&rows, &columns))
        @if manage_keys { (key_settings(&who, &found, today)) }
    };
    Ok(html_response(shell(
        &format!("Key {k}"),
        Some(&who),
        Section::Keys,
        body,
    )))
}

/// A key's settings forms: limit and note, IP ranges and sticky tag (KernelCare), and the
/// way to delete it.
fn key_settings(who: &Console, found: &ActivationKey, today: chrono::NaiveDate) -> Markup {
    let last_day = today - chrono::Duration::days(1);
    let k = &found.key_text;
    html! {
        h2 { "Settings" }
        form.create method="post" action={"/console/keys/" (k) "/update"} {
            (csrf_field(who))
            label for="key-limit" { "Servers (0 = unlimited)" }
            input #key-limit name="limit" type="number" min="0" value=(found.server_limit) required;
            label for="key-note" { "Note" }
            input #key-note name="note" maxlength=(MAX_NOTE) size="30" value=(found.note);
            button type="submit" { "Save" }
        }
        @if Product::of_type(found.type_id) == Some(Product::KernelCare) {
            form.create method="post" action={"/console/keys/" (k) "/ranges"} {
                (csrf_field(who))
                label for="key-ranges" { "IP ranges servers may register from (CIDRs; empty = anywhere)" }
                input #key-ranges name="cidr" size="40" value=(found.cidrs.as_deref().unwrap_or("")) placeholder="203.0.113.0/24 2001:db8::/32";
                button type="submit" { "Save ranges" }
            }
            form.create method="post" action={"/console/keys/" (k) "/sticky"} {
                (csrf_field(who))
                label for="key-sticky" { "Sticky tag: servers take patches released before (empty = none)" }
                input #key-sticky name="sticky_tag" type="date" min=(sticky::first_day()) max=(last_day)
                    value=(found.sticky_tag.map(|d| d.to_string()).unwrap_or_default());
                button type="submit" { "Save sticky tag" }
            }
        }
        @if !found.is_default {
            p { a.button.danger href={"/console/keys/" (k) "/delete"} { "Delete this key and its servers…" } }
        }
    }
}

/// `/console/keys/{key}/delete`: what deleting the key takes with it, and the button that
/// does it.
pub async fn confirm_delete(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
) -> PageResult {
    let reseller = guard::reseller_read(&who, Permission::ManageLicenses)?.clone();
    let key = key.into_inner();
    let (found, names) = db::run(&state.pool, move |c| {
        Ok((keys::find_own(c, reseller.id, None, &key)?, names_of(c)?))
    })
    .await?;
    let found = found.ok_or(ConsoleError::NotFound)?;
    let k = &found.key_text;
    let body = html! {
        (key_facts(&found, &names))
        p.warning role="alert" {
            "Deleting this key removes its " strong.count { (found.servers) } " server(s): they stop being licensed. It cannot be undone."
        }
        form method="post" action={"/console/keys/" (k) "/delete"} {
            (csrf_field(&who))
            button.danger type="submit" { "Delete the key and its servers" }
            " "
            a href={"/console/keys/" (k)} { "Cancel" }
        }
    };
    Ok(html_response(shell(
        &format!("Delete key {k}"),
        Some(&who),
        Section::Keys,
        body,
    )))
}

fn key_facts(k: &ActivationKey, names: &Names) -> Markup {
    html! {
        dl.facts {
            dt { "Key" } dd { code { (k.key_text) } @if k.is_default { " (default key: cannot be deleted)" } }
            dt { "Product" } dd { (product_title(names, k.type_id)) }
            dt { "Servers" } dd { (use_of(k)) }
            dt { "Note" } dd { (k.note) }
            dt { "IP ranges" } dd { (k.cidrs.as_deref().unwrap_or("any address")) }
            @if is_kernelcare(k) { dt { "Sticky tag" } dd { (sticky_text(k)) } }
            dt { "Created (UTC)" } dd { (dates::time(k.created_at)) }
        }
    }
}

/// `/console/operator/keys?product=...`: every reseller's keys of one product.
pub async fn operator_list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<KeysQuery>,
) -> PageResult {
    guard::operator_read(&who)?;
    let product = product_of(&query.product);
    let (found, logins, names) = db::run(&state.pool, move |c| {
        Ok((
            keys::manage::list(c, None, Some(product))?,
            resellers::logins_by_id(c)?,
            names_of(c)?,
        ))
    })
    .await?;
    let owner = |id: i64| logins.get(&id).cloned().unwrap_or_default();
    let body = html! {
        (product_tabs("/console/operator/keys", product))
        (keys_table(&found, &names, "/console/operator/keys/", Some(&owner)))
    };
    Ok(html_response(shell(
        "Keys",
        Some(&who),
        Section::AllKeys,
        body,
    )))
}

/// `/console/operator/keys/{key}`: any reseller's key and its servers (read only).
pub async fn operator_show(
    state: web::Data<AppState>,
    who: Console,
    key: web::Path<String>,
) -> PageResult {
    guard::operator_read(&who)?;
    let key = key.into_inner();
    let (found, rows, login, names) = db::run(&state.pool, move |c| {
        let names = names_of(c)?;
        let Some(found) = keys::find(c, &key)? else {
            return Ok((None, Vec::new(), String::new(), names));
        };
        let rows = servers::of_key(c, found.id)?;
        let login = resellers::login_of(c, found.reseller_id)?;
        Ok((Some(found), rows, login, names))
    })
    .await?;
    let found = found.ok_or(ConsoleError::NotFound)?;
    let body = html! {
        p { "Reseller: " a href={"/console/operator/resellers/" (login)} { (login) } }
        (key_facts(&found, &names))
        h2 { "Servers" }
        (servers_table(&rows, &ServerColumns {
            remove: None,
            groups: None,
            kernelcare: is_kernelcare(&found),
            now: state.clock.now().naive_utc(),
        }))
    };
    Ok(html_response(shell(
        &format!("Key {}", found.key_text),
        Some(&who),
        Section::AllKeys,
        body,
    )))
}

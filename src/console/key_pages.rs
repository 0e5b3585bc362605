//! The Keys pages (keys.md): a reseller's keys per product (KernelCare, Imunify) with use,
//! note and IP ranges, one key with its servers; and the operator's view of every
//! reseller's keys. The forms post to `key_actions`.

use actix_web::web;
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::page::{csrf_field, html_response, notice, shell, ConsoleError, PageResult, Section};
use crate::auth::session::Console;
use crate::db;
use crate::db::models::{ActivationKey, KeyServer};
use crate::domain::catalogue::enabled_types;
use crate::domain::keys::manage::MAX_NOTE;
use crate::domain::keys::products::{imunify_code, product_name};
use crate::domain::keys::{self, servers, Product};
use crate::domain::resellers;
use crate::state::AppState;
use crate::wire::format_date;

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
        _ => None,
    }
}

/// `?product=imunify` shows the Imunify keys; anything else the KernelCare keys.
fn product_of(text: &str) -> Product {
    if text == "imunify" {
        Product::Imunify
    } else {
        Product::KernelCare
    }
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
                @for (product, slug) in [(Product::KernelCare, "kcare"), (Product::Imunify, "imunify")] {
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

/// The keys table; `owner` adds the reseller column (the operator's view).
fn keys_table(
    found: &[ActivationKey],
    link: &str,
    owner: Option<&dyn Fn(i64) -> String>,
) -> Markup {
    html! {
        @if found.is_empty() {
            p.empty { "No key of this product." }
        } @else {
            table #keys {
                thead { tr {
                    th scope="col" { "Key" }
                    @if owner.is_some() { th scope="col" { "Reseller" } }
                    th scope="col" { "Product" } th scope="col" { "Servers" } th scope="col" { "Note" }
                    th scope="col" { "IP ranges" } th scope="col" { "Created" }
                } }
                tbody {
                    @for k in found {
                        tr {
                            td { a.key href={(link) (k.key_text)} { code { (k.key_text) } } @if k.is_default { " (default)" } }
                            @if let Some(owner) = owner { td { (owner(k.reseller_id)) } }
                            td { (product_name(k.type_id)) }
                            td { (use_of(k)) }
                            td { (k.note) }
                            td { (k.cidrs.as_deref().unwrap_or("any")) }
                            td { (format_date(k.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// `/console/keys?product=kcare|imunify`: the reseller's keys of one product and a form to
/// make one.
pub async fn list(
    state: web::Data<AppState>,
    who: Console,
    query: web::Query<KeysQuery>,
) -> PageResult {
    let reseller = guard::reseller_read(&who)?.clone();
    let product = product_of(&query.product);
    let id = reseller.id;
    let (found, enabled) = db::run(&state.pool, move |c| {
        Ok((
            keys::manage::list(c, Some(id), Some(product))?,
            enabled_types(c, id)?,
        ))
    })
    .await?;
    let creatable: Vec<i32> = enabled
        .iter()
        .map(|e| e.license_type.id)
        .filter(|t| Product::of_type(*t) == Some(product))
        .collect();
    let body = html! {
        (notice(notice_text(&query.notice)))
        (product_tabs("/console/keys", product))
        (keys_table(&found, "/console/keys/", None))
        @if !creatable.is_empty() {
            h2 { "Create a " (product.name()) " key" }
            form.create method="post" action="/console/keys" {
                (csrf_field(&who))
                label for="key-type" { "Product" }
                select #key-type name="type" {
                    @for t in &creatable {
                        option value=(t) { (imunify_code(*t).map_or("KernelCare".to_string(), |c| format!("Imunify {c}"))) }
                    }
                }
                label for="key-limit" { "Servers (0 = unlimited)" }
                input #key-limit name="limit" type="number" min="0" value="1" required;
                label for="key-note" { "Note" }
                input #key-note name="note" maxlength=(MAX_NOTE) size="30";
                button type="submit" { "Create key" }
            }
        }
    };
    Ok(html_response(shell(
        "Keys",
        Some(&who),
        Section::Keys,
        body,
    )))
}

fn servers_table(rows: &[KeyServer], remove: Option<(&Console, &str)>) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No server has registered with this key." }
        } @else {
            table #servers {
                thead { tr {
                    th scope="col" { "Server id" } th scope="col" { "IP" } th scope="col" { "Hostname" }
                    th scope="col" { "Registered" } th scope="col" { "Last check-in" }
                    @if remove.is_some() { th scope="col" { "Actions" } }
                } }
                tbody {
                    @for s in rows {
                        tr {
                            td { code { (s.server_id) } }
                            td { (s.ip) }
                            td { (s.hostname.as_deref().unwrap_or("")) }
                            td { (format_date(s.created_at)) }
                            td { (s.last_checkin.map(format_date).unwrap_or_else(|| "never".into())) }
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
    let reseller = guard::reseller_read(&who)?.clone();
    let key = key.into_inner();
    let (found, rows) = db::run(&state.pool, move |c| {
        let found = keys::find_own(c, reseller.id, None, &key)?;
        let rows = match &found {
            Some(k) => servers::of_key(c, k.id)?,
            None => Vec::new(),
        };
        Ok((found, rows))
    })
    .await?;
    let found = found.ok_or(ConsoleError::NotFound)?;
    let k = &found.key_text;
    let body = html! {
        (notice(notice_text(&query.notice)))
        (key_facts(&found))
        h2 { "Servers" }
        (servers_table(&rows, Some((&who, k))))
        h2 { "Settings" }
        form.create method="post" action={"/console/keys/" (k) "/update"} {
            (csrf_field(&who))
            label for="key-limit" { "Servers (0 = unlimited)" }
            input #key-limit name="limit" type="number" min="0" value=(found.server_limit) required;
            label for="key-note" { "Note" }
            input #key-note name="note" maxlength=(MAX_NOTE) size="30" value=(found.note);
            button type="submit" { "Save" }
        }
        @if Product::of_type(found.type_id) == Some(Product::KernelCare) {
            form.create method="post" action={"/console/keys/" (k) "/ranges"} {
                (csrf_field(&who))
                label for="key-ranges" { "IP ranges servers may register from (CIDRs; empty = anywhere)" }
                input #key-ranges name="cidr" size="40" value=(found.cidrs.as_deref().unwrap_or("")) placeholder="203.0.113.0/24 2001:db8::/32";
                button type="submit" { "Save ranges" }
            }
        }
        @if !found.is_default {
            form method="post" action={"/console/keys/" (k) "/delete"} {
                (csrf_field(&who))
                button.danger type="submit" { "Delete this key and its servers" }
            }
        }
    };
    Ok(html_response(shell(
        &format!("Key {k}"),
        Some(&who),
        Section::Keys,
        body,
    )))
}

fn key_facts(k: &ActivationKey) -> Markup {
    html! {
        dl.facts {
            dt { "Key" } dd { code { (k.key_text) } @if k.is_default { " (default key: cannot be deleted)" } }
            dt { "Product" } dd { (Product::of_type(k.type_id).map_or("", Product::name)) " (" (product_name(k.type_id)) ")" }
            dt { "Servers" } dd { (use_of(k)) }
            dt { "Note" } dd { (k.note) }
            dt { "IP ranges" } dd { (k.cidrs.as_deref().unwrap_or("any address")) }
            dt { "Created" } dd { (format_date(k.created_at)) }
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
    let (found, logins) = db::run(&state.pool, move |c| {
        Ok((
            keys::manage::list(c, None, Some(product))?,
            resellers::logins_by_id(c)?,
        ))
    })
    .await?;
    let owner = |id: i64| logins.get(&id).cloned().unwrap_or_default();
    let body = html! {
        (product_tabs("/console/operator/keys", product))
        (keys_table(&found, "/console/operator/keys/", Some(&owner)))
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
    let (found, rows, login) = db::run(&state.pool, move |c| {
        let Some(found) = keys::find(c, &key)? else {
            return Ok((None, Vec::new(), String::new()));
        };
        let rows = servers::of_key(c, found.id)?;
        let login = resellers::login_of(c, found.reseller_id)?;
        Ok((Some(found), rows, login))
    })
    .await?;
    let found = found.ok_or(ConsoleError::NotFound)?;
    let body = html! {
        p { "Reseller: " a href={"/console/operator/resellers/" (login)} { (login) } }
        (key_facts(&found))
        h2 { "Servers" }
        (servers_table(&rows, None))
    };
    Ok(html_response(shell(
        &format!("Key {}", found.key_text),
        Some(&who),
        Section::AllKeys,
        body,
    )))
}

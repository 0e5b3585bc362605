//! Server groups on the Keys pages (keys.md, "Server groups"): the product's groups with
//! their servers counted, a form to make one, and, on a key's page, which group each server
//! is in and a form to move it. Through the same domain calls as `/api/group/...`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use super::guard;
use super::license_actions::as_actor;
use super::page::{csrf_field, ConsoleError, PageResult};
use crate::auth::session::Console;
use crate::db::models::ServerGroup;
use crate::db::DbConnection;
use crate::domain::keys::groups::{self, group_type, MAX_DESCRIPTION, MAX_NAME};
use crate::domain::keys::Product;
use crate::domain::roles::Permission;
use crate::error::DomainError;
use crate::state::AppState;

/// A product's groups, and each group's server count.
pub struct Groups {
    pub of_product: Vec<ServerGroup>,
    pub counts: HashMap<String, usize>,
    /// Server row → group name, for the reseller's servers in any group.
    pub of_server: HashMap<i64, String>,
}

pub fn load(
    conn: &mut DbConnection,
    reseller_id: i64,
    product: Product,
) -> Result<Groups, DomainError> {
    let of_product: Vec<ServerGroup> = groups::list(conn, reseller_id)?
        .into_iter()
        .filter(|g| g.product == group_type(product))
        .collect();
    let of_server: HashMap<i64, String> =
        groups::membership(conn, reseller_id)?.into_iter().collect();
    let mut counts = HashMap::new();
    for name in of_server.values() {
        *counts.entry(name.clone()).or_insert(0) += 1;
    }
    Ok(Groups {
        of_product,
        counts,
        of_server,
    })
}

/// The Keys page's section: the product's groups and the form to make one.
pub fn section(who: &Console, product: Product, found: &Groups, may_change: bool) -> Markup {
    html! {
        h2 #groups { "Server groups" }
        @if found.of_product.is_empty() {
            p.empty { "No " (product.name()) " server group yet." }
        } @else {
            table.stack #server-groups {
                thead { tr { th scope="col" { "Group" } th scope="col" { "Description" } th scope="col" { "Servers" } } }
                tbody {
                    @for g in &found.of_product {
                        tr {
                            td data-label="Group" { (g.name) }
                            td data-label="Description" { (g.description) }
                            td data-label="Servers" { (found.counts.get(&g.name).copied().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
        @if may_change {
            form.create method="post" action="/console/key-groups" {
                (csrf_field(who))
                input type="hidden" name="product" value=(product.slug());
                label for="group-name" { "Group name" }
                input #group-name name="name" maxlength=(MAX_NAME) required;
                label for="group-description" { "Description" }
                input #group-description name="description" maxlength=(MAX_DESCRIPTION) size="30";
                button type="submit" { "Create group" }
            }
        }
    }
}

/// A server row's group cell: its group, and for a role that may, a form to move it.
pub fn cell(
    who: &Console,
    key: &str,
    server: (i64, &str),
    found: &Groups,
    may_change: bool,
) -> Markup {
    let (row, server_id) = server;
    let current = found.of_server.get(&row);
    html! {
        @if may_change && !found.of_product.is_empty() {
            form.inline method="post" action="/console/key-groups/servers" {
                (csrf_field(who))
                input type="hidden" name="key" value=(key);
                input type="hidden" name="server_id" value=(server_id);
                select name="group" aria-label={"Group of server " (server_id)} {
                    option value="" selected[current.is_none()] { "(none)" }
                    @for g in &found.of_product {
                        option value=(g.name) selected[current == Some(&g.name)] { (g.name) }
                    }
                }
                " "
                button type="submit" { "Set" }
            }
        } @else {
            (current.map_or("", String::as_str))
        }
    }
}

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    server_id: String,
    #[serde(default)]
    group: String,
}

fn to(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `POST /console/key-groups`: a new group of the product.
pub async fn create(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<GroupForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageServers)?;
    let product = Product::from_slug(&form.product)
        .ok_or_else(|| ConsoleError::invalid("choose a product".to_string()))?;
    let (name, description) = (form.name.clone(), form.description.clone());
    as_actor(&state, &who, reseller, move |c, actor| {
        groups::create(c, actor, product, &name, &description)
    })
    .await?;
    Ok(to(format!(
        "/console/keys?product={}&notice=group-created",
        product.slug()
    )))
}

/// `POST /console/key-groups/servers`: a server into a group (or out of all).
pub async fn set(
    state: web::Data<AppState>,
    who: Console,
    form: web::Form<GroupForm>,
) -> PageResult {
    let reseller = guard::reseller_write(&who, &form.csrf, Permission::ManageServers)?;
    let (server_id, group) = (form.server_id.clone(), form.group.clone());
    let moved = as_actor(&state, &who, reseller, move |c, actor| {
        let name = Some(group.as_str()).filter(|g| !g.is_empty());
        groups::set_group(c, actor, &server_id, name)
    })
    .await?;
    if !moved {
        return Err(ConsoleError::NotFound);
    }
    let key = percent_encoding::utf8_percent_encode(&form.key, percent_encoding::NON_ALPHANUMERIC);
    Ok(to(format!("/console/keys/{key}?notice=group-set")))
}

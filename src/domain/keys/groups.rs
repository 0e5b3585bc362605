//! Server groups (keys.md, "Server groups"): a reseller's named groups, each for one
//! product; a key server is in at most one group (the membership's key is the server's row,
//! and a server has one product).

use diesel::prelude::*;

use super::products::Product;
use super::with_retries;
use crate::db::models::{KeyServer, ServerGroup};
use crate::db::schema::{activation_keys, key_servers, server_group_members, server_groups};
use crate::db::DbConnection;
use crate::domain::{ensure_active, refuse_nul, Actor};
use crate::error::DomainError;

pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 255;
/// The most servers one put or remove names.
pub const MAX_SERVERS_PER_CALL: usize = 1000;

/// The product's name in the group calls (`type` of a group's server rows).
pub fn group_type(product: Product) -> &'static str {
    match product {
        Product::KernelCare => "KERNELCARE",
        Product::Imunify => "IMUNIFY",
        Product::CloudLinux => "CLOUDLINUX",
        Product::Els => "ELS",
    }
}

/// A group type as sent, any case.
pub fn parse_group_type(text: &str) -> Option<Product> {
    Product::ALL
        .into_iter()
        .find(|p| group_type(*p).eq_ignore_ascii_case(text.trim()))
}

fn product_of(group: &ServerGroup) -> Option<Product> {
    parse_group_type(&group.product)
}

/// A new group of the caller's for `product`; a name already used is refused.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    product: Product,
    name: &str,
    description: &str,
) -> Result<ServerGroup, DomainError> {
    ensure_active(actor.reseller)?;
    let name = name.trim();
    refuse_nul("name", name)?;
    refuse_nul("description", description)?;
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(DomainError::invalid(format!(
            "a group name has 1 to {MAX_NAME} characters"
        )));
    }
    let description: String = description.chars().take(MAX_DESCRIPTION).collect();
    with_retries(conn, |c| {
        if find(c, actor.reseller.id, name)?.is_some() {
            return Err(DomainError::refused(format!(
                "A group named {name} exists already"
            )));
        }
        diesel::insert_into(server_groups::table)
            .values((
                server_groups::reseller_id.eq(actor.reseller.id),
                server_groups::product.eq(group_type(product)),
                server_groups::name.eq(name),
                server_groups::description.eq(&description),
                server_groups::created_at.eq(actor.now),
            ))
            .execute(c)?;
        find(c, actor.reseller.id, name)?
            .ok_or_else(|| DomainError::Internal("a new group was not found".into()))
    })
}

/// The reseller's group by its name.
pub fn find(
    conn: &mut DbConnection,
    reseller_id: i64,
    name: &str,
) -> Result<Option<ServerGroup>, DomainError> {
    Ok(server_groups::table
        .filter(server_groups::reseller_id.eq(reseller_id))
        .filter(server_groups::name.eq(name.trim()))
        .select(ServerGroup::as_select())
        .first(conn)
        .optional()?)
}

/// The reseller's groups, by name.
pub fn list(conn: &mut DbConnection, reseller_id: i64) -> Result<Vec<ServerGroup>, DomainError> {
    Ok(server_groups::table
        .filter(server_groups::reseller_id.eq(reseller_id))
        .order(server_groups::name)
        .select(ServerGroup::as_select())
        .load(conn)?)
}

/// A group's servers (oldest first) with their product.
pub fn servers(
    conn: &mut DbConnection,
    group: &ServerGroup,
) -> Result<Vec<KeyServer>, DomainError> {
    Ok(key_servers::table
        .inner_join(server_group_members::table)
        .filter(server_group_members::group_id.eq(group.id))
        .order(key_servers::id)
        .select(KeyServer::as_select())
        .load(conn)?)
}

/// The servers of the reseller's group named `name`, with its product (None: no such group).
pub fn servers_named(
    conn: &mut DbConnection,
    reseller_id: i64,
    name: &str,
) -> Result<Option<Changed>, DomainError> {
    let Some((group, product)) = own_group(conn, reseller_id, name)? else {
        return Ok(None);
    };
    Ok(Some((servers(conn, &group)?, product)))
}

/// The group each of the reseller's servers is in: server row → group name.
pub fn membership(
    conn: &mut DbConnection,
    reseller_id: i64,
) -> Result<Vec<(i64, String)>, DomainError> {
    Ok(server_group_members::table
        .inner_join(server_groups::table)
        .filter(server_groups::reseller_id.eq(reseller_id))
        .select((server_group_members::server_row, server_groups::name))
        .load(conn)?)
}

/// One of the reseller's servers of `product` by its server id (or, for CloudLinux OS and
/// ELS servers, the number their API shows).
fn own_server(
    conn: &mut DbConnection,
    reseller_id: i64,
    product: Product,
    id: &str,
) -> Result<Option<KeyServer>, DomainError> {
    let mut query = key_servers::table
        .inner_join(activation_keys::table)
        .filter(activation_keys::reseller_id.eq(reseller_id))
        .filter(activation_keys::type_id.eq_any(product.types()))
        .select(KeyServer::as_select())
        .into_boxed();
    query = match id.parse::<i64>() {
        Ok(number) if matches!(product, Product::CloudLinux | Product::Els) => {
            query.filter(key_servers::id.eq(number))
        }
        _ => query.filter(key_servers::server_id.eq(id)),
    };
    Ok(query.first(conn).optional()?)
}

/// The server ids of a `server_ids` list: separated by commas (or spaces), none empty.
pub fn split_ids(text: &str) -> Result<Vec<String>, DomainError> {
    let ids: Vec<String> = text
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(DomainError::invalid("server_ids names no server"));
    }
    if ids.len() > MAX_SERVERS_PER_CALL {
        return Err(DomainError::invalid(format!(
            "server_ids names {} servers; at most {MAX_SERVERS_PER_CALL} in one call",
            ids.len()
        )));
    }
    Ok(ids)
}

/// The caller's group by its name, with its product (None: no such group).
fn own_group(
    conn: &mut DbConnection,
    reseller_id: i64,
    name: &str,
) -> Result<Option<(ServerGroup, Product)>, DomainError> {
    let Some(group) = find(conn, reseller_id, name)? else {
        return Ok(None);
    };
    let product = product_of(&group)
        .ok_or_else(|| DomainError::Internal(format!("group {} has no product", group.name)))?;
    Ok(Some((group, product)))
}

/// A group's servers as `put` and `remove` answer them, with the group's product.
pub type Changed = (Vec<KeyServer>, Product);

/// Puts the caller's servers into its group, all or none: a server that is not the
/// caller's, not of the group's product, or in another group refuses the whole call. A
/// server already in this group stays (and is answered again).
pub fn put(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    name: &str,
    ids: &[String],
) -> Result<Option<Changed>, DomainError> {
    ensure_active(actor.reseller)?;
    let me = actor.reseller.id;
    with_retries(conn, |c| {
        let Some((group, product)) = own_group(c, me, name)? else {
            return Ok(None);
        };
        let mut added = Vec::new();
        for id in ids {
            let server = own_server(c, me, product, id)?.ok_or_else(|| {
                DomainError::refused(format!(
                    "No {} server {id} of yours; nothing was put in group {}",
                    product.name(),
                    group.name
                ))
            })?;
            let current: Option<i64> = server_group_members::table
                .find(server.id)
                .select(server_group_members::group_id)
                .first(c)
                .optional()?;
            match current {
                Some(g) if g == group.id => {}
                Some(other) => {
                    let other_name: String = server_groups::table
                        .find(other)
                        .select(server_groups::name)
                        .first(c)?;
                    return Err(DomainError::refused(format!(
                        "Server {id} is in group {other_name} already (a server is in at \
                         most one group); nothing was put in group {}",
                        group.name
                    )));
                }
                None => {
                    diesel::insert_into(server_group_members::table)
                        .values((
                            server_group_members::server_row.eq(server.id),
                            server_group_members::group_id.eq(group.id),
                        ))
                        .execute(c)?;
                }
            }
            added.push(server);
        }
        Ok(Some((added, product)))
    })
}

/// Takes the named servers out of the caller's group; those not in it are skipped. The
/// servers taken out are answered.
pub fn remove(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    name: &str,
    ids: &[String],
) -> Result<Option<Changed>, DomainError> {
    ensure_active(actor.reseller)?;
    let me = actor.reseller.id;
    with_retries(conn, |c| {
        let Some((group, product)) = own_group(c, me, name)? else {
            return Ok(None);
        };
        let mut removed = Vec::new();
        for id in ids {
            let Some(server) = own_server(c, me, product, id)? else {
                continue;
            };
            let row = server_group_members::table
                .filter(server_group_members::server_row.eq(server.id))
                .filter(server_group_members::group_id.eq(group.id));
            if diesel::delete(row).execute(c)? > 0 {
                removed.push(server);
            }
        }
        Ok(Some((removed, product)))
    })
}

/// Moves the caller's server into the named group of its product, out of any other (None:
/// into no group), in one transaction; Ok(false) when the server is not the caller's.
pub fn set_group(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    server_id: &str,
    name: Option<&str>,
) -> Result<bool, DomainError> {
    ensure_active(actor.reseller)?;
    let me = actor.reseller.id;
    with_retries(conn, |c| {
        let found: Option<(KeyServer, i32)> = key_servers::table
            .inner_join(activation_keys::table)
            .filter(activation_keys::reseller_id.eq(me))
            .filter(key_servers::server_id.eq(server_id))
            .select((KeyServer::as_select(), activation_keys::type_id))
            .first(c)
            .optional()?;
        let Some((server, type_id)) = found else {
            return Ok(false);
        };
        diesel::delete(server_group_members::table.find(server.id)).execute(c)?;
        if let Some(name) = name {
            let (group, product) = own_group(c, me, name)?
                .ok_or_else(|| DomainError::not_found(format!("Group {name} not found")))?;
            if Some(product) != Product::of_type(type_id) {
                return Err(DomainError::refused(format!(
                    "Group {name} holds {} servers; server {server_id} is not one",
                    group.product
                )));
            }
            diesel::insert_into(server_group_members::table)
                .values((
                    server_group_members::server_row.eq(server.id),
                    server_group_members::group_id.eq(group.id),
                ))
                .execute(c)?;
        }
        Ok(true)
    })
}

/// Deletes the caller's group (its servers stay on their keys); false when there is none.
pub fn delete(conn: &mut DbConnection, actor: &Actor<'_>, name: &str) -> Result<bool, DomainError> {
    ensure_active(actor.reseller)?;
    let me = actor.reseller.id;
    with_retries(conn, |c| {
        let Some(group) = find(c, me, name)? else {
            return Ok(false);
        };
        diesel::delete(
            server_group_members::table.filter(server_group_members::group_id.eq(group.id)),
        )
        .execute(c)?;
        Ok(diesel::delete(server_groups::table.find(group.id)).execute(c)? > 0)
    })
}

//! Servers on keys: listing, removal by the server or the key's reseller, moving a server to
//! another of the reseller's keys, and check-in by server id. Registration: `registration.rs`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::monitoring::KernelReport;
use super::products::{is_server_id_shaped, Product};
use super::{context, find_own, type_label, with_retries};
use crate::db::models::{ActivationKey, KeyServer, Reseller};
use crate::db::schema::{activation_keys, key_servers, resellers};
use crate::db::DbConnection;
use crate::domain::catalogue::grant;
use crate::domain::events::{self, Action, KeySubject};
use crate::domain::type_limits::{count_owned, lock_reseller};
use crate::domain::{ensure_active, Actor};
use crate::error::DomainError;

pub(super) fn server_subject<'a>(key: &'a ActivationKey, server: &'a KeyServer) -> KeySubject<'a> {
    KeySubject {
        key: &key.key_text,
        type_id: key.type_id,
        server: Some((&server.server_id, &server.ip)),
    }
}

pub fn find_server(
    conn: &mut DbConnection,
    server_id: &str,
) -> Result<Option<KeyServer>, DomainError> {
    if !is_server_id_shaped(server_id) {
        return Ok(None);
    }
    Ok(key_servers::table
        .filter(key_servers::server_id.eq(server_id))
        .select(KeyServer::as_select())
        .first(conn)
        .optional()?)
}

/// A key server by its row number (the `id` CloudLinux OS and ELS answers show).
pub fn find_row(conn: &mut DbConnection, id: i64) -> Result<Option<KeyServer>, DomainError> {
    Ok(key_servers::table
        .find(id)
        .select(KeyServer::as_select())
        .first(conn)
        .optional()?)
}

/// Every server on the reseller's keys of the given types, with its key, oldest first.
pub fn of_reseller(
    conn: &mut DbConnection,
    reseller_id: i64,
    types: &[i32],
) -> Result<Vec<(KeyServer, ActivationKey)>, DomainError> {
    Ok(key_servers::table
        .inner_join(activation_keys::table)
        .filter(activation_keys::reseller_id.eq(reseller_id))
        .filter(activation_keys::type_id.eq_any(types))
        .order(key_servers::id)
        .select((KeyServer::as_select(), ActivationKey::as_select()))
        .load(conn)?)
}

/// The servers of one key, oldest first.
pub fn of_key(conn: &mut DbConnection, key_id: i64) -> Result<Vec<KeyServer>, DomainError> {
    Ok(key_servers::table
        .filter(key_servers::key_id.eq(key_id))
        .order(key_servers::id)
        .select(KeyServer::as_select())
        .load(conn)?)
}

/// The servers of the caller's key; empty for a key that is unknown or another reseller's.
pub fn list(
    conn: &mut DbConnection,
    reseller_id: i64,
    product: Option<Product>,
    key_text: &str,
) -> Result<Vec<KeyServer>, DomainError> {
    match find_own(conn, reseller_id, product, key_text)? {
        Some(key) => of_key(conn, key.id),
        None => Ok(Vec::new()),
    }
}

/// Who is removing a server: the server itself (by its id, optionally with its key) or the
/// key's reseller.
pub enum Remover<'a> {
    Server {
        key: Option<&'a str>,
        source: &'a str,
        now: NaiveDateTime,
    },
    Reseller(&'a Actor<'a>),
}

/// Removes a server from its key; Ok(None) when there is no such server for this remover.
pub fn remove(
    conn: &mut DbConnection,
    product: Option<Product>,
    server_id: &str,
    remover: &Remover<'_>,
) -> Result<Option<(KeyServer, ActivationKey)>, DomainError> {
    if let Remover::Reseller(actor) = remover {
        ensure_active(actor.reseller)?;
    }
    with_retries(conn, |c| {
        let Some(server) = find_server(c, server_id)? else {
            return Ok(None);
        };
        let key: ActivationKey = activation_keys::table
            .find(server.key_id)
            .select(ActivationKey::as_select())
            .first(c)?;
        if product.is_some_and(|p| Product::of_type(key.type_id) != Some(p)) {
            return Ok(None);
        }
        let (owner, source, now) = match remover {
            Remover::Server {
                key: named,
                source,
                now,
            } => {
                if named.is_some_and(|k| k != key.key_text) {
                    return Ok(None);
                }
                let owner: Reseller = resellers::table
                    .find(key.reseller_id)
                    .select(Reseller::as_select())
                    .first(c)?;
                (owner, *source, *now)
            }
            Remover::Reseller(actor) => {
                if actor.reseller.id != key.reseller_id {
                    return Ok(None);
                }
                (actor.reseller.clone(), actor.source, actor.now)
            }
        };
        detach(c, &server, &key)?;
        let about = server_subject(&key, &server);
        events::record_key(
            c,
            context(&owner, source, now),
            Action::KeyRemove,
            about,
            None,
        )?;
        Ok(Some((server, key)))
    })
}

/// Removes a server named by its number (the `id` CloudLinux OS and ELS answers show), as
/// `remove` does.
pub fn remove_by_row(
    conn: &mut DbConnection,
    product: Option<Product>,
    row: i64,
    remover: &Remover<'_>,
) -> Result<Option<(KeyServer, ActivationKey)>, DomainError> {
    match find_row(conn, row)? {
        Some(server) => remove(conn, product, &server.server_id, remover),
        None => Ok(None),
    }
}

/// Deletes the server's row and frees its slot on the key, both as read (or Conflict).
fn detach(
    conn: &mut DbConnection,
    server: &KeyServer,
    key: &ActivationKey,
) -> Result<(), DomainError> {
    let row = key_servers::table
        .filter(key_servers::id.eq(server.id))
        .filter(key_servers::key_id.eq(key.id));
    if diesel::delete(row).execute(conn)? == 0 {
        return Err(DomainError::raced());
    }
    diesel::update(activation_keys::table.find(key.id))
        .set(activation_keys::servers.eq(activation_keys::servers - 1))
        .execute(conn)?;
    Ok(())
}

/// Moves the caller's server to another of the caller's keys of the same product
/// (`im/srv/convert.json`); Ok(None) when either is not the caller's.
pub fn convert(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    product: Product,
    server_id: &str,
    target_key: &str,
) -> Result<Option<(KeyServer, ActivationKey)>, DomainError> {
    ensure_active(actor.reseller)?;
    let me = actor.reseller.id;
    with_retries(conn, |c| {
        let Some(server) = find_server(c, server_id)? else {
            return Ok(None);
        };
        let Some(target) = find_own(c, me, Some(product), target_key)? else {
            return Ok(None);
        };
        let from: ActivationKey = activation_keys::table
            .find(server.key_id)
            .select(ActivationKey::as_select())
            .first(c)?;
        if from.reseller_id != me || Product::of_type(from.type_id) != Some(product) {
            return Ok(None);
        }
        if from.id == target.id {
            return Ok(Some((server, target)));
        }
        let Some(type_limit) = grant(c, me, target.type_id)? else {
            let label = type_label(c, target.type_id)?;
            return Err(DomainError::refused(format!(
                "License type {label} is not enabled for your account"
            )));
        };
        // Locks in the order registrations take them (the reseller's, when a type limit is
        // counted, then keys), the two keys in id order: a move never deadlocks with a
        // registration or with a move in the opposite direction.
        let counted = type_limit.filter(|_| target.type_id != from.type_id);
        if counted.is_some() {
            lock_reseller(c, me)?;
        }
        for id in [from.id.min(target.id), from.id.max(target.id)] {
            super::lock_key(c, id)?;
        }
        if let Some(limit) = counted {
            let used = count_owned(c, me, target.type_id, actor.now)?;
            if used >= i64::from(limit) {
                let label = type_label(c, target.type_id)?;
                return Err(DomainError::refused(format!(
                    "License limit reached for type {label}: {used}/{limit} used"
                )));
            }
        }
        let room = activation_keys::server_limit
            .eq(0)
            .or(activation_keys::servers.lt(activation_keys::server_limit));
        let raised = diesel::update(activation_keys::table.find(target.id).filter(room))
            .set(activation_keys::servers.eq(activation_keys::servers + 1))
            .execute(c)?;
        if raised == 0 {
            return Err(DomainError::refused(format!(
                "Maximum usage count of {} reached on key {target_key}",
                target.server_limit
            )));
        }
        // Moved as read (still on `from`), or the transaction is retried.
        let row = key_servers::table
            .filter(key_servers::id.eq(server.id))
            .filter(key_servers::key_id.eq(from.id));
        if diesel::update(row)
            .set(key_servers::key_id.eq(target.id))
            .execute(c)?
            == 0
        {
            return Err(DomainError::raced());
        }
        diesel::update(activation_keys::table.find(from.id))
            .set(activation_keys::servers.eq(activation_keys::servers - 1))
            .execute(c)?;
        let context = context(actor.reseller, actor.source, actor.now);
        let extra = format!("to={}", target.key_text);
        let leaving = server_subject(&from, &server);
        events::record_key(c, context, Action::KeyRemove, leaving, Some(&extra))?;
        let arriving = server_subject(&target, &server);
        let extra = format!("from={}", from.key_text);
        events::record_key(c, context, Action::KeyRegister, arriving, Some(&extra))?;
        let server = find_server(c, server_id)?
            .ok_or_else(|| DomainError::Internal("a moved key server was not found".into()))?;
        Ok(Some((server, target)))
    })
}

/// A key server's check-in (`/api/server/checkin.json?server_id=`): records the time and
/// what a KernelCare server reports of its kernel; None for an unknown server id.
pub fn check_in(
    conn: &mut DbConnection,
    server_id: &str,
    report: Option<&KernelReport>,
    now: NaiveDateTime,
) -> Result<Option<(KeyServer, i32)>, DomainError> {
    let Some(server) = find_server(conn, server_id)? else {
        return Ok(None);
    };
    let updated = diesel::update(key_servers::table.find(server.id))
        .set(key_servers::last_checkin.eq(Some(now)))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    if let Some(report) = report {
        super::monitoring::record(conn, server.id, report)?;
    }
    let type_id: i32 = activation_keys::table
        .find(server.key_id)
        .select(activation_keys::type_id)
        .first(conn)?;
    Ok(Some((server, type_id)))
}

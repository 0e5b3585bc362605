//! A reseller's keys: create, list, change the limit, note or ranges, delete; and the
//! default key every key-enabled product comes with.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use ipnet::IpNet;

use super::products::{key_types, new_key, Product, KERNELCARE_TYPE};
use super::{context, find_own, subject, type_label, with_retries};
use crate::db::models::{ActivationKey, KeyServer, NewActivationKey, Reseller};
use crate::db::schema::{activation_keys, key_servers, reseller_types, resellers};
use crate::db::DbConnection;
use crate::domain::catalogue::grant;
use crate::domain::events::{self, Action, KeySubject};
use crate::domain::{ensure_active, refuse_nul, Actor};
use crate::error::DomainError;

/// Longer notes are cut to this many characters (the WHMCS module sends client names).
pub const MAX_NOTE: usize = 100;
/// The largest server limit a key takes.
pub const MAX_LIMIT: i32 = 1_000_000;
/// The note of the default keys.
pub const DEFAULT_NOTE: &str = "Default key";

/// The note as stored: NUL refused, cut to MAX_NOTE characters.
pub fn clean_note(note: &str) -> Result<String, DomainError> {
    refuse_nul("note", note)?;
    Ok(note.chars().take(MAX_NOTE).collect())
}

pub fn check_limit(limit: i32) -> Result<i32, DomainError> {
    if (0..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(DomainError::invalid(format!(
            "limit must be from 0 (unlimited) to {MAX_LIMIT}; {limit} given"
        )))
    }
}

/// A new key of `type_id` for the caller.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    type_id: i32,
    limit: i32,
    note: &str,
) -> Result<ActivationKey, DomainError> {
    ensure_active(actor.reseller)?;
    let limit = check_limit(limit)?;
    if Product::of_type(type_id).is_none() {
        return Err(DomainError::refused(format!(
            "License type {} takes no activation keys",
            type_label(conn, type_id)?
        )));
    }
    if grant(conn, actor.reseller.id, type_id)?.is_none() {
        return Err(DomainError::refused(format!(
            "License type {} is not enabled for your account",
            type_label(conn, type_id)?
        )));
    }
    let note = clean_note(note)?;
    with_retries(conn, |c| {
        insert_key(
            c,
            actor.reseller,
            actor.source,
            actor.now,
            (type_id, limit),
            &note,
            false,
        )
    })
}

fn insert_key(
    conn: &mut DbConnection,
    reseller: &Reseller,
    source: &str,
    now: NaiveDateTime,
    (type_id, limit): (i32, i32),
    note: &str,
    is_default: bool,
) -> Result<ActivationKey, DomainError> {
    let product = Product::of_type(type_id)
        .ok_or_else(|| DomainError::Internal(format!("type {type_id} takes no keys")))?;
    let key_text = new_key(product, type_id, reseller.id)?;
    diesel::insert_into(activation_keys::table)
        .values(NewActivationKey {
            reseller_id: reseller.id,
            type_id,
            key_text: &key_text,
            server_limit: limit,
            note,
            is_default,
            created_at: now,
        })
        .execute(conn)?;
    let key = super::find(conn, &key_text)?
        .ok_or_else(|| DomainError::Internal("a new key was not found".into()))?;
    let extra = format!("limit={limit}");
    events::record_key(
        conn,
        context(reseller, source, now),
        Action::KeyCreate,
        subject(&key),
        Some(&extra),
    )?;
    Ok(key)
}

/// Gives the reseller a default key (unlimited, note "Default key") for each enabled
/// key-taking type that has none yet; runs in the caller's transaction.
pub fn ensure_default_keys(
    conn: &mut DbConnection,
    reseller: &Reseller,
    source: &str,
    now: NaiveDateTime,
) -> Result<usize, DomainError> {
    let enabled: Vec<i32> = reseller_types::table
        .filter(reseller_types::reseller_id.eq(reseller.id))
        .filter(reseller_types::type_id.eq_any(key_types().collect::<Vec<_>>()))
        .select(reseller_types::type_id)
        .load(conn)?;
    let with_default: Vec<i32> = activation_keys::table
        .filter(activation_keys::reseller_id.eq(reseller.id))
        .filter(activation_keys::is_default.eq(true))
        .select(activation_keys::type_id)
        .load(conn)?;
    // In the catalogue's product order (key_types), so that listings read the same way.
    let missing: Vec<i32> = key_types()
        .filter(|t| enabled.contains(t) && !with_default.contains(t))
        .collect();
    for type_id in &missing {
        insert_key(
            conn,
            reseller,
            source,
            now,
            (*type_id, 0),
            DEFAULT_NOTE,
            true,
        )?;
    }
    Ok(missing.len())
}

/// Default keys for every reseller that lacks one (after an upgrade to a version with keys,
/// and after grants changed outside `replace_grants`). Runs at every `ipls serve` start, so
/// finding nothing to do costs two reads; each reseller that needs keys gets one transaction.
pub fn backfill_default_keys(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<usize, DomainError> {
    let granted: Vec<(i64, i32)> = reseller_types::table
        .filter(reseller_types::type_id.eq_any(key_types().collect::<Vec<_>>()))
        .select((reseller_types::reseller_id, reseller_types::type_id))
        .load(conn)?;
    let defaults: std::collections::HashSet<(i64, i32)> = activation_keys::table
        .filter(activation_keys::is_default.eq(true))
        .select((activation_keys::reseller_id, activation_keys::type_id))
        .load::<(i64, i32)>(conn)?
        .into_iter()
        .collect();
    let mut lacking: Vec<i64> = granted
        .into_iter()
        .filter(|pair| !defaults.contains(pair))
        .map(|(reseller_id, _)| reseller_id)
        .collect();
    lacking.sort_unstable();
    lacking.dedup();
    let mut made = 0;
    for reseller_id in lacking {
        let reseller: Reseller = resellers::table
            .find(reseller_id)
            .select(Reseller::as_select())
            .first(conn)?;
        made += with_retries(conn, |c| ensure_default_keys(c, &reseller, "ipls", now))?;
    }
    Ok(made)
}

/// Keys of one reseller (all when None), of one product (all when None), oldest first.
pub fn list(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    product: Option<Product>,
) -> Result<Vec<ActivationKey>, DomainError> {
    let mut query = activation_keys::table
        .select(ActivationKey::as_select())
        .order(activation_keys::id)
        .into_boxed();
    if let Some(id) = reseller_id {
        query = query.filter(activation_keys::reseller_id.eq(id));
    }
    if let Some(product) = product {
        query = query.filter(activation_keys::type_id.eq_any(product.types()));
    }
    Ok(query.load(conn)?)
}

/// The reseller's keys of the given types, oldest first.
pub fn list_of_types(
    conn: &mut DbConnection,
    reseller_id: i64,
    types: &[i32],
) -> Result<Vec<ActivationKey>, DomainError> {
    Ok(activation_keys::table
        .filter(activation_keys::reseller_id.eq(reseller_id))
        .filter(activation_keys::type_id.eq_any(types))
        .select(ActivationKey::as_select())
        .order(activation_keys::id)
        .load(conn)?)
}

/// Deletes the caller's key and its servers; Ok(None) when the caller has no such key.
/// The default key is refused.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    product: Option<Product>,
    key_text: &str,
) -> Result<Option<Vec<KeyServer>>, DomainError> {
    ensure_active(actor.reseller)?;
    with_retries(conn, |c| {
        let Some(key) = find_own(c, actor.reseller.id, product, key_text)? else {
            return Ok(None);
        };
        if key.is_default {
            return Err(DomainError::refused(format!(
                "Key {key_text} is the default key of type {} and cannot be deleted",
                key.type_id
            )));
        }
        // Locked before its servers are read: a registration racing the delete either
        // committed already (and gets its removal row below) or waits and finds no key.
        super::lock_key(c, key.id)?;
        let servers = super::servers::of_key(c, key.id)?;
        let context = context(actor.reseller, actor.source, actor.now);
        for server in &servers {
            let about = KeySubject {
                server: Some((&server.server_id, &server.ip)),
                ..subject(&key)
            };
            events::record_key(
                c,
                context,
                Action::KeyRemove,
                about,
                Some("reason=key_deleted"),
            )?;
        }
        // The servers go with the key (ON DELETE CASCADE); deleted as read, or retried.
        let deleted = diesel::delete(activation_keys::table.find(key.id)).execute(c)?;
        if deleted == 0 {
            return Err(DomainError::raced());
        }
        events::record_key(c, context, Action::KeyDelete, subject(&key), None)?;
        Ok(Some(servers))
    })
}

/// What `update` changes; None leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct KeyChange {
    pub limit: Option<i32>,
    pub note: Option<String>,
    /// The IP ranges servers may register from (`[]` clears); KernelCare keys only.
    pub ranges: Option<Vec<IpNet>>,
}

/// Only KernelCare keys take IP ranges (keys.md), whichever face asks.
pub const RANGES_KERNELCARE_ONLY: &str = "only KernelCare keys take IP ranges";

/// Changes the caller's key's limit, note and IP ranges in one transaction, all or nothing;
/// Ok(None) when the caller has no such key. A limit below the key's servers is refused, as
/// are ranges for a key that is not KernelCare's, before anything is changed.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    product: Option<Product>,
    key_text: &str,
    change: &KeyChange,
) -> Result<Option<ActivationKey>, DomainError> {
    ensure_active(actor.reseller)?;
    let limit = change.limit.map(check_limit).transpose()?;
    let note = change.note.as_deref().map(clean_note).transpose()?;
    let ranges = change.ranges.as_deref().map(super::cidr::to_stored);
    with_retries(conn, |c| {
        let Some(key) = find_own(c, actor.reseller.id, product, key_text)? else {
            return Ok(None);
        };
        if ranges.is_some() && key.type_id != KERNELCARE_TYPE {
            return Err(DomainError::refused(RANGES_KERNELCARE_ONLY));
        }
        let mut extra = Vec::new();
        if let Some(limit) = limit.filter(|l| *l != key.server_limit) {
            // Conditional on the servers the key holds at this moment: a registration that
            // got in meanwhile is counted by the database, not by what was read above.
            let target = activation_keys::table.find(key.id);
            let set = activation_keys::server_limit.eq(limit);
            let changed = if limit == 0 {
                diesel::update(target).set(set).execute(c)?
            } else {
                let fits = activation_keys::servers.le(limit);
                diesel::update(target.filter(fits)).set(set).execute(c)?
            };
            if changed == 0 {
                let servers = super::find(c, key_text)?.map_or(0, |k| k.servers);
                return Err(DomainError::refused(format!(
                    "Limit {limit} is below the {servers} servers key {key_text} holds; \
                     remove servers first"
                )));
            }
            extra.push(format!("limit={limit}"));
        }
        if let Some(note) = note.as_ref().filter(|n| **n != key.note) {
            diesel::update(activation_keys::table.find(key.id))
                .set(activation_keys::note.eq(note))
                .execute(c)?;
            extra.push("note=changed".to_string());
        }
        if let Some(stored) = ranges.as_ref().filter(|r| **r != key.cidrs) {
            diesel::update(activation_keys::table.find(key.id))
                .set(activation_keys::cidrs.eq(stored))
                .execute(c)?;
            extra.push(format!(
                "cidr={}",
                stored.as_deref().unwrap_or("").replace(' ', ",")
            ));
        }
        if !extra.is_empty() {
            let context = context(actor.reseller, actor.source, actor.now);
            let extra = extra.join(" ");
            events::record_key(c, context, Action::KeyUpdate, subject(&key), Some(&extra))?;
        }
        super::find(c, key_text)
    })
}

/// Replaces a KernelCare key's IP ranges (`update` with ranges only).
pub fn set_ranges(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    product: Option<Product>,
    key_text: &str,
    blocks: &[IpNet],
) -> Result<Option<ActivationKey>, DomainError> {
    let change = KeyChange {
        ranges: Some(blocks.to_vec()),
        ..KeyChange::default()
    };
    update(conn, actor, product, key_text, &change)
}

/// The servers of each of the given keys, for listings: key id → servers, oldest first.
pub fn servers_by_key(
    conn: &mut DbConnection,
    key_ids: &[i64],
) -> Result<Vec<KeyServer>, DomainError> {
    Ok(key_servers::table
        .filter(key_servers::key_id.eq_any(key_ids))
        .order(key_servers::id)
        .select(KeyServer::as_select())
        .load(conn)?)
}

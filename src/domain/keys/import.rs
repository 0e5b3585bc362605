//! Activation keys brought over from another CLN-compatible service (`ipls import cln`):
//! each key with its text, limit, note and date, and its servers with their ids, addresses and
//! dates, so that servers keep their key and id. Idempotent like the license import: a key
//! already here under the same reseller is "already present".

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::products::{is_server_id_shaped, Product};
use super::{find, subject};
use crate::db::models::{NewActivationKey, NewKeyServer, Reseller};
use crate::db::schema::{activation_keys, key_servers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::{self, Action, EventContext, KeySubject};
use crate::domain::import::Outcome;
use crate::error::DomainError;

/// A key as the other service describes it.
#[derive(Debug, Clone)]
pub struct IncomingKey {
    pub key_text: String,
    pub type_id: i32,
    /// 0: unlimited.
    pub limit: i32,
    pub note: String,
    pub created: NaiveDateTime,
    pub servers: Vec<IncomingServer>,
}

#[derive(Debug, Clone)]
pub struct IncomingServer {
    pub server_id: String,
    pub ip: String,
    pub hostname: Option<String>,
    pub created: NaiveDateTime,
    pub last_checkin: Option<NaiveDateTime>,
}

/// Why a key cannot be taken in as it is, if it cannot.
fn unfit(key: &IncomingKey) -> Option<String> {
    let Some(product) = Product::of_type(key.type_id) else {
        return Some(format!(
            "key {}: type {} takes no keys here",
            key.key_text, key.type_id
        ));
    };
    if !product.is_key_shaped(&key.key_text) {
        return Some(format!(
            "key {}: not a {} key as ipls writes them, so its servers could not use it here",
            key.key_text,
            product.name()
        ));
    }
    if let Some(odd) = key
        .servers
        .iter()
        .find(|s| !is_server_id_shaped(&s.server_id))
    {
        return Some(format!(
            "key {}: server id {} is not one ipls can recognise",
            key.key_text, odd.server_id
        ));
    }
    if key.limit < 0 || (key.limit > 0 && key.servers.len() > key.limit as usize) {
        return Some(format!(
            "key {}: {} servers over its limit of {}",
            key.key_text,
            key.servers.len(),
            key.limit
        ));
    }
    None
}

/// Takes `key` in under `reseller` (`source` names the import in the history); with
/// `dry_run` nothing is written.
pub fn import_key(
    conn: &mut DbConnection,
    reseller: &Reseller,
    key: &IncomingKey,
    source: &str,
    now: NaiveDateTime,
    dry_run: bool,
) -> Result<Outcome, DomainError> {
    if let Some(why) = unfit(key) {
        return Ok(Outcome::Failed(why));
    }
    let decide = |c: &mut DbConnection| -> Result<Option<Outcome>, DomainError> {
        if let Some(held) = find(c, &key.key_text)? {
            return Ok(Some(if held.reseller_id == reseller.id {
                Outcome::AlreadyPresent
            } else {
                Outcome::Conflict(format!("key {} is another reseller's here", key.key_text))
            }));
        }
        let ids: Vec<&str> = key.servers.iter().map(|s| s.server_id.as_str()).collect();
        let taken: Option<String> = key_servers::table
            .filter(key_servers::server_id.eq_any(&ids))
            .select(key_servers::server_id)
            .first(c)
            .optional()?;
        Ok(taken.map(|id| {
            Outcome::Conflict(format!(
                "key {}: server {id} is registered here already",
                key.key_text
            ))
        }))
    };
    if dry_run {
        return Ok(decide(conn)?.unwrap_or(Outcome::Imported));
    }
    write_transaction(conn, |c| {
        if let Some(outcome) = decide(c)? {
            return Ok(outcome);
        }
        diesel::insert_into(activation_keys::table)
            .values(NewActivationKey {
                reseller_id: reseller.id,
                type_id: key.type_id,
                key_text: &key.key_text,
                server_limit: key.limit,
                note: &key.note,
                is_default: false,
                created_at: key.created,
            })
            .execute(c)?;
        let stored = find(c, &key.key_text)?
            .ok_or_else(|| DomainError::Internal("an imported key was not found".into()))?;
        let context = || EventContext {
            at: now,
            reseller_id: reseller.id,
            login: &reseller.login,
            source,
        };
        let extra = format!("limit={}", key.limit);
        events::record_key(
            c,
            context(),
            Action::KeyCreate,
            subject(&stored),
            Some(&extra),
        )?;
        for server in &key.servers {
            diesel::insert_into(key_servers::table)
                .values(NewKeyServer {
                    server_id: &server.server_id,
                    key_id: stored.id,
                    ip: &server.ip,
                    hostname: server.hostname.as_deref(),
                    created_at: server.created,
                })
                .execute(c)?;
            diesel::update(key_servers::table.filter(key_servers::server_id.eq(&server.server_id)))
                .set(key_servers::last_checkin.eq(server.last_checkin))
                .execute(c)?;
            let about = KeySubject {
                key: &stored.key_text,
                type_id: stored.type_id,
                server: Some((&server.server_id, &server.ip)),
            };
            events::record_key(c, context(), Action::KeyRegister, about, None)?;
        }
        diesel::update(activation_keys::table.find(stored.id))
            .set(activation_keys::servers.eq(i32::try_from(key.servers.len()).unwrap_or(i32::MAX)))
            .execute(c)?;
        Ok(Outcome::Imported)
    })
}

//! Activation keys (contract keys.md): a reseller's key for one product, the servers that
//! registered with it, and the rules both obey.
//!
//! The key's server limit is held by the database: `activation_keys.servers` counts the
//! key's servers, a registration raises it with one conditional UPDATE (`servers <
//! server_limit`), and a CHECK refuses any row over its limit. So of 20 concurrent
//! registrations on a key with limit 1 exactly one gets in, on either backend and from any
//! number of instances. Per-type reseller limits count key servers too and are checked
//! under the reseller's row lock, as IP registrations are.

pub mod cidr;
pub mod groups;
pub mod import;
pub mod manage;
pub mod monitoring;
pub mod monitoring_tokens;
pub mod products;
pub mod registration;
pub mod servers;
pub mod sticky;

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use products::Product;

use super::catalogue::find_type;
use super::events::{EventContext, KeySubject};
use crate::db::models::{ActivationKey, Reseller};
use crate::db::schema::activation_keys;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// The words of a full key (KernelCare's; the console and CLI add CLN OS's count).
pub const KEY_LIMIT_REACHED: &str = "Key limit reached";
/// What the management calls answer for a key that is unknown or another reseller's.
pub const KEY_NOT_FOUND: &str = "Key not found";

/// A key of `reseller_id` by its text, limited to `product`'s keys; None when there is no
/// such key, or it is another reseller's, or another product's.
pub fn find_own(
    conn: &mut DbConnection,
    reseller_id: i64,
    product: Option<Product>,
    key_text: &str,
) -> Result<Option<ActivationKey>, DomainError> {
    let key = find(conn, key_text)?;
    Ok(key.filter(|k| {
        k.reseller_id == reseller_id
            && product.is_none_or(|p| Product::of_type(k.type_id) == Some(p))
    }))
}

/// Any reseller's key by its text.
pub fn find(conn: &mut DbConnection, key_text: &str) -> Result<Option<ActivationKey>, DomainError> {
    Ok(activation_keys::table
        .filter(activation_keys::key_text.eq(key_text))
        .select(ActivationKey::as_select())
        .first(conn)
        .optional()?)
}

/// The subject of a key's own history events.
fn subject(key: &ActivationKey) -> KeySubject<'_> {
    KeySubject {
        key: &key.key_text,
        type_id: key.type_id,
        server: None,
    }
}

fn context<'a>(reseller: &'a Reseller, source: &'a str, at: NaiveDateTime) -> EventContext<'a> {
    EventContext {
        at,
        reseller_id: reseller.id,
        login: &reseller.login,
        source,
    }
}

/// A lost uniqueness race (a fresh key or server id that collided, a row changed under a
/// conditional write) is retried; the third loss is answered as the conflict it is.
fn with_retries<T>(
    conn: &mut DbConnection,
    mut body: impl FnMut(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    for _ in 0..2 {
        match write_transaction(conn, &mut body) {
            Err(DomainError::Conflict(_)) => continue,
            other => return other,
        }
    }
    write_transaction(conn, &mut body)
}

/// Takes the key's row lock for the rest of the transaction (Postgres; SQLite's writers are
/// serialised already): what is read of its servers afterwards stays true until commit, as a
/// registration in flight either committed before or waits.
fn lock_key(conn: &mut DbConnection, key_id: i64) -> Result<(), DomainError> {
    diesel::update(activation_keys::table.find(key_id))
        .set(activation_keys::id.eq(key_id))
        .execute(conn)?;
    Ok(())
}

/// The type's name for messages ("16 (KernelCare)").
fn type_label(conn: &mut DbConnection, type_id: i32) -> Result<String, DomainError> {
    Ok(match find_type(conn, type_id)? {
        Some(t) => format!("{type_id} ({})", t.name),
        None => type_id.to_string(),
    })
}

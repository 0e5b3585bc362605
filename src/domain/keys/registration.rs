//! A server registering itself with a key (`register_server.json`, no token: the key is the
//! credential), and the codes it is answered with.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::products::{new_server_id, Product};
use super::servers::{find_server, server_subject};
use super::{context, type_label, with_retries, KEY_LIMIT_REACHED};
use crate::db::models::{ActivationKey, KeyServer, NewKeyServer, Reseller};
use crate::db::schema::{activation_keys, key_servers, resellers};
use crate::db::DbConnection;
use crate::domain::catalogue::grant;
use crate::domain::events::{self, Action};
use crate::domain::ip::LicenseIp;
use crate::domain::refuse_nul;
use crate::domain::type_limits::{count_owned, lock_reseller};
use crate::error::DomainError;

/// Longer hostnames are cut to this many characters.
pub const MAX_HOSTNAME: usize = 255;

/// Registration codes (keys.md): 0 registered, 1 account locked, 2 unknown key, 3 key (or
/// the reseller's type) limit reached, 4 address not in the key's ranges.
#[derive(Debug)]
pub enum Registration {
    Registered(KeyServer),
    Refused { code: i32, message: String },
}

fn refused(code: i32, message: impl Into<String>) -> Registration {
    Registration::Refused {
        code,
        message: message.into(),
    }
}

pub const UNKNOWN_KEY: &str = "Unknown key";

/// An unknown key, in the product's words: CloudLinux OS answers with CLN's (Spacewalk's
/// fault 60).
fn unknown_key(product: Product, key_text: &str) -> Registration {
    match product {
        Product::CloudLinux => refused(2, format!("Could not find token '{key_text}'")),
        _ => refused(2, UNKNOWN_KEY),
    }
}

/// A full key, in the product's words: CloudLinux OS answers with CLN's (the FAQ's
/// "Maximum usage count of N reached", Spacewalk's fault 61).
fn key_full(product: Product, limit: i32) -> Registration {
    match product {
        Product::CloudLinux => refused(3, format!("Maximum usage count of {limit} reached")),
        _ => refused(3, KEY_LIMIT_REACHED),
    }
}

/// A server registering itself with `key_text` from `address`.
pub fn register(
    conn: &mut DbConnection,
    product: Product,
    key_text: &str,
    address: IpAddr,
    hostname: Option<&str>,
    now: NaiveDateTime,
) -> Result<Registration, DomainError> {
    if let Some(name) = hostname {
        refuse_nul("hostname", name)?;
    }
    let hostname: Option<String> = hostname
        .filter(|h| !h.is_empty())
        .map(|h| h.chars().take(MAX_HOSTNAME).collect());
    // A string that cannot be a key costs no database work.
    if !product.is_key_shaped(key_text) {
        return Ok(unknown_key(product, key_text));
    }
    let key = super::find(conn, key_text)?.filter(|k| Product::of_type(k.type_id) == Some(product));
    let Some(key) = key else {
        return Ok(unknown_key(product, key_text));
    };
    let owner: Reseller = resellers::table
        .find(key.reseller_id)
        .select(Reseller::as_select())
        .first(conn)?;
    if owner.blocked_reason.is_some() {
        return Ok(refused(1, "Account locked"));
    }
    if !super::cidr::admits(key.cidrs.as_deref(), address) {
        return Ok(refused(
            4,
            format!("Address {address} is not in the key's IP ranges"),
        ));
    }
    let Some(type_limit) = grant(conn, owner.id, key.type_id)? else {
        let label = type_label(conn, key.type_id)?;
        return Ok(refused(
            3,
            format!("License type {label} is not enabled for the key's account"),
        ));
    };
    let ip = LicenseIp::from_addr(address).to_string();
    with_retries(conn, |c| {
        register_once(
            c,
            product,
            &key,
            &owner,
            type_limit,
            (&ip, hostname.as_deref()),
            now,
        )
    })
}

fn register_once(
    conn: &mut DbConnection,
    product: Product,
    key: &ActivationKey,
    owner: &Reseller,
    type_limit: Option<i32>,
    (ip, hostname): (&str, Option<&str>),
    now: NaiveDateTime,
) -> Result<Registration, DomainError> {
    if let Some(limit) = type_limit {
        lock_reseller(conn, owner.id)?;
        let used = count_owned(conn, owner.id, key.type_id, now)?;
        if used >= i64::from(limit) {
            let label = type_label(conn, key.type_id)?;
            return Ok(refused(
                3,
                format!("License limit reached for type {label}: {used}/{limit} used"),
            ));
        }
    }
    // The key's own limit, held by the database: one conditional UPDATE (see mod.rs).
    let room = activation_keys::server_limit
        .eq(0)
        .or(activation_keys::servers.lt(activation_keys::server_limit));
    let raised = diesel::update(activation_keys::table.find(key.id).filter(room))
        .set(activation_keys::servers.eq(activation_keys::servers + 1))
        .execute(conn)?;
    if raised == 0 {
        return Ok(match super::find(conn, &key.key_text)? {
            Some(now_read) => key_full(product, now_read.server_limit),
            None => unknown_key(product, &key.key_text),
        });
    }
    let server_id = new_server_id()?;
    diesel::insert_into(key_servers::table)
        .values(NewKeyServer {
            server_id: &server_id,
            key_id: key.id,
            ip,
            hostname,
            created_at: now,
        })
        .execute(conn)?;
    let server = find_server(conn, &server_id)?
        .ok_or_else(|| DomainError::Internal("a new key server was not found".into()))?;
    let about = server_subject(key, &server);
    events::record_key(
        conn,
        context(owner, ip, now),
        Action::KeyRegister,
        about,
        None,
    )?;
    Ok(Registration::Registered(server))
}

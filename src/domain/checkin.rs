//! Server check-in (ours, contract §6): a server proves it is alive from its own address.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::events::{self, Action, EventContext};
use super::held_at;
use super::ip::LicenseIp;
use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// Longest `server_info` stored; longer text is cut to it (servers send whatever their
/// `uname` says, and a long one must not cost them their check-in).
pub const MAX_SERVER_INFO: usize = 1024;

/// What a check-in answers: the licensed types (ascending), and those of them suspended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedIn {
    pub types: Vec<i32>,
    pub suspended: Vec<i32>,
}

/// Marks every license held on `ip` registered, records `last_checkin` and `server_info`,
/// and returns the licensed types (ascending) and which are suspended.
///
/// An IP that holds no license costs one read and no write (on SQLite, not even the write
/// lock). A history row is written only when a license becomes registered (its first
/// check-in), not on every repeat.
pub fn check_in(
    conn: &mut DbConnection,
    ip: &LicenseIp,
    server_info: Option<&str>,
    now: NaiveDateTime,
) -> Result<CheckedIn, DomainError> {
    if let Some(info) = server_info {
        super::refuse_nul("server_info", info)?;
    }
    let cut_info = server_info.map(|s| crate::wire::cut(s, MAX_SERVER_INFO));
    let server_info = cut_info.as_deref();
    let ip_text = ip.to_string();
    let no_license = || DomainError::not_found(format!("IP {ip_text} has no license"));
    if held_on(conn, &ip_text, now)?.is_empty() {
        return Err(no_license());
    }
    write_transaction(conn, |c| {
        let held = held_on(c, &ip_text, now)?;
        if held.is_empty() {
            return Err(no_license());
        }
        let mut types = Vec::with_capacity(held.len());
        for license in &held {
            let info = server_info
                .map(str::to_string)
                .or(license.server_info.clone());
            // Only the row as read: a license removed, converted or moved meanwhile is left
            // alone (a moved one starts afresh on its new IP).
            let row = ip_licenses::table
                .filter(ip_licenses::id.eq(license.id))
                .filter(ip_licenses::type_id.eq(license.type_id))
                .filter(ip_licenses::ip.eq(&license.ip));
            let updated = diesel::update(row)
                .set((
                    ip_licenses::registered_at.eq(license.registered_at.or(Some(now))),
                    ip_licenses::last_checkin.eq(Some(now)),
                    ip_licenses::server_info.eq(info),
                ))
                .execute(c)?;
            if updated == 0 {
                continue;
            }
            types.push(license.type_id);
            if license.registered_at.is_none() {
                let login = super::resellers::login_of(c, license.reseller_id)?;
                let context = EventContext {
                    at: now,
                    reseller_id: license.reseller_id,
                    login: &login,
                    source: &ip_text,
                };
                events::record(c, context, Action::Checkin, &ip_text, license.type_id, None)?;
            }
        }
        if types.is_empty() {
            return Err(no_license());
        }
        let ids: Vec<i64> = held.iter().map(|l| l.id).collect();
        let suspensions = super::licenses::suspensions_of(c, &ids)?;
        let suspended = held
            .iter()
            .filter(|l| suspensions.contains_key(&l.id) && types.contains(&l.type_id))
            .map(|l| l.type_id)
            .collect();
        Ok(CheckedIn { types, suspended })
    })
}

fn held_on(
    conn: &mut DbConnection,
    ip: &str,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    Ok(ip_licenses::table
        .filter(ip_licenses::ip.eq(ip))
        .filter(held_at(now))
        .order(ip_licenses::type_id)
        .select(License::as_select())
        .load(conn)?)
}

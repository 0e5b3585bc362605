//! Licenses brought over from another CLN-compatible service (`ipls import cln`): each is
//! created under the local reseller with its original `created` date, its registration and
//! its ELS setting, or reported as already present or in conflict. Idempotent: importing the
//! same license again finds it already present, so an interrupted import is resumed by
//! running it again.
//!
//! A license of a type carried to an upstream (`domain::upstream`) is claimed there when the
//! import reads that very upstream (it is already held there); imported from elsewhere, it
//! is written as an intent that the relay registers at the upstream before it counts
//! (`Outcome::Begun`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::catalogue::find_type;
use super::events::{self, Action, EventContext};
use super::ip::LicenseIp;
use crate::db::models::{License, NewLicense, Reseller};
use crate::db::schema::{ip_licenses, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::upstream::claims;
use crate::error::DomainError;

/// One license as the other service describes it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub ip: LicenseIp,
    pub type_id: i32,
    pub created: NaiveDateTime,
    pub registered: bool,
    pub last_checkin: Option<NaiveDateTime>,
    pub server_info: Option<String>,
    pub els_allowed: bool,
}

/// Where an imported license of a routed type stands with its upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relay {
    /// Its type is kept here.
    Local,
    /// The import reads the type's upstream itself: claim it there.
    Claim(i64),
    /// The type goes to this upstream, which has not got it: an intent, registered there by
    /// the relay before it counts.
    Intent(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    AlreadyPresent,
    /// The IP's type (or its exclusive family) is held by someone: why.
    Conflict(String),
    /// It cannot be imported at all (an unknown type): why.
    Failed(String),
    /// Written as an intent (`Relay::Intent`): the relay asks the upstream next, and
    /// settles it with this history detail.
    Begun(Box<License>, String),
}

/// `source` names the import in the history (e.g. `import:cln.example.com`). With `dry_run`
/// nothing is written and the outcome is what an import would do now.
pub fn import(
    conn: &mut DbConnection,
    reseller: &Reseller,
    incoming: &Incoming,
    source: &str,
    now: NaiveDateTime,
    dry_run: bool,
    relay: Relay,
) -> Result<Outcome, DomainError> {
    let Some(license_type) = find_type(conn, incoming.type_id)? else {
        return Ok(Outcome::Failed(format!(
            "{}: unknown license type {}",
            incoming.ip, incoming.type_id
        )));
    };
    let ip = incoming.ip.to_string();
    let slot = license_type.slot();
    let decide = |c: &mut DbConnection| -> Result<Option<Outcome>, DomainError> {
        let on_ip: Vec<License> = ip_licenses::table
            .filter(ip_licenses::ip.eq(&ip))
            .select(License::as_select())
            .load(c)?;
        for held in &on_ip {
            let mine = held.reseller_id == reseller.id;
            if held.type_id == incoming.type_id && mine {
                return Ok(Some(Outcome::AlreadyPresent));
            }
            if held.type_id == incoming.type_id || held.slot == slot {
                let owner: String = resellers::table
                    .find(held.reseller_id)
                    .select(resellers::login)
                    .first(c)?;
                return Ok(Some(Outcome::Conflict(format!(
                    "{ip}: type {} is held by reseller {owner}{}",
                    held.type_id,
                    if held.type_id == incoming.type_id {
                        ""
                    } else {
                        " (same exclusive family)"
                    }
                ))));
            }
        }
        Ok(None)
    };
    if dry_run {
        return Ok(decide(conn)?.unwrap_or(Outcome::Imported));
    }
    write_transaction(conn, |c| {
        if let Some(outcome) = decide(c)? {
            return Ok(outcome);
        }
        let intent = matches!(relay, Relay::Intent(_));
        diesel::insert_into(ip_licenses::table)
            .values(NewLicense {
                reseller_id: reseller.id,
                ip: &ip,
                type_id: incoming.type_id,
                slot: &slot,
                els_allowed: incoming.els_allowed,
                created_at: incoming.created,
                trial_expires_at: None,
                relay_state: intent.then_some(crate::domain::upstream::REGISTERING),
                note: None,
                external_id: None,
                ip_key: LicenseIp::order_key_of(&ip),
            })
            .execute(c)?;
        let registered_at = incoming
            .registered
            .then(|| incoming.last_checkin.unwrap_or(incoming.created));
        let row = ip_licenses::table
            .filter(ip_licenses::ip.eq(&ip))
            .filter(ip_licenses::type_id.eq(incoming.type_id));
        diesel::update(row)
            .set((
                ip_licenses::registered_at.eq(registered_at),
                ip_licenses::last_checkin.eq(incoming.last_checkin),
                ip_licenses::server_info.eq(&incoming.server_info),
            ))
            .execute(c)?;
        let detail = format!(
            "import, created {}",
            incoming.created.format("%Y-%m-%dT%H:%M")
        );
        match relay {
            Relay::Intent(upstream_id) | Relay::Claim(upstream_id) => {
                claims::claim(c, upstream_id, &ip, incoming.type_id, now)?;
            }
            Relay::Local => {}
        }
        if intent {
            let license = row.select(License::as_select()).first(c)?;
            return Ok(Outcome::Begun(Box::new(license), detail));
        }
        let context = EventContext {
            at: now,
            reseller_id: reseller.id,
            login: &reseller.login,
            source,
        };
        events::record(
            c,
            context,
            Action::Register,
            &ip,
            incoming.type_id,
            Some(detail),
        )?;
        Ok(Outcome::Imported)
    })
}

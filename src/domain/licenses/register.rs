//! Registering a license, with the trial rules.

use chrono::Duration;
use diesel::prelude::*;

use super::remove::clear_expired;
use super::{licenses_on, trials, with_retries};
use crate::db::models::{License, NewLicense};
use crate::db::schema::ip_licenses;
use crate::db::DbConnection;
use crate::domain::catalogue::{find_type, grant, LicenseType};
use crate::domain::events::{self, Action, TRIAL_DETAIL};
use crate::domain::ip::LicenseIp;
use crate::domain::type_limits::{count_owned, lock_reseller};
use crate::domain::upstream::claims;
use crate::domain::upstream::ops::pending_on;
use crate::domain::{ensure_active, Actor, Policy};
use crate::error::DomainError;

#[derive(Debug, Clone)]
pub struct Registration {
    pub ip: LicenseIp,
    pub type_id: i32,
    pub els_allowed: bool,
    /// Ours (`annotate`): set on a new license only; an existing one is answered unchanged.
    pub note: Option<String>,
    pub external_id: Option<String>,
}

impl Registration {
    /// (ip, type) with ELS off, no note and no external id.
    pub fn of(ip: LicenseIp, type_id: i32) -> Self {
        Self {
            ip,
            type_id,
            els_allowed: false,
            note: None,
            external_id: None,
        }
    }
}

/// Registers (ip, type) for the caller, or returns the caller's existing license unchanged.
/// For a type carried to an upstream, use `begin_intent` (the relay asks the upstream first).
pub fn register(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    policy: &Policy,
    request: &Registration,
) -> Result<License, DomainError> {
    match register_as(conn, actor, policy, request, None)? {
        Intent::Held(license) | Intent::New(license) => Ok(license),
        // Only an intent waits for its IP's queue; this arm is the type checker's.
        Intent::Waiting => Err(DomainError::conflict(WAITING)),
    }
}

/// Said when a registration gives up waiting for earlier changes on its IP.
pub const WAITING: &str =
    "an earlier change to this IP is still being carried to its upstream; try again in a moment";

/// What `begin_intent` found or made.
#[derive(Debug, Clone)]
pub enum Intent {
    /// The caller already holds this license (settled): nothing to ask the upstream.
    Held(License),
    /// A new intent (`relay_state` registering) holding the IP, claimed at the upstream.
    New(License),
    /// Nothing written: earlier changes on the IP (or the caller's own registration or
    /// withdrawal of this license) are still being carried to the upstream, and this one
    /// must reach it after them. The relay waits, then asks again.
    Waiting,
}

/// The first step of registering a type carried to `upstream_id` (`domain::upstream`): every
/// rule of `register` is checked and the row is written as an intent (it holds the IP and
/// counts in limits) with its claim, but no history yet: that is written when the upstream
/// accepts (`upstream::intents::confirm`).
pub fn begin_intent(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    policy: &Policy,
    request: &Registration,
    upstream_id: i64,
) -> Result<Intent, DomainError> {
    register_as(conn, actor, policy, request, Some(upstream_id))
}

/// Registers directly (`relay` None) or as an intent for the upstream `relay`.
fn register_as(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    policy: &Policy,
    request: &Registration,
    relay: Option<i64>,
) -> Result<Intent, DomainError> {
    let ip = request.ip.to_string();
    let type_id = request.type_id;
    ensure_active(actor.reseller)?;
    if !policy.allow_private_ips {
        if let Some(reason) = request.ip.non_public_reason() {
            return Err(DomainError::refused(format!(
                "IP {ip} is a {reason} address, not a server's public address; \
                 it cannot be licensed (type {type_id})"
            )));
        }
    }
    let license_type = find_type(conn, type_id)?.ok_or_else(|| {
        DomainError::not_found(format!("Unknown license type {type_id} (IP {ip})"))
    })?;
    let limit = grant(conn, actor.reseller.id, type_id)?.ok_or_else(|| {
        DomainError::refused(format!(
            "License type {type_id} ({}) is not enabled for your account (IP {ip})",
            license_type.name
        ))
    })?;
    let wanted = Wanted {
        license_type: &license_type,
        limit,
        ip: &ip,
        els_allowed: request.els_allowed,
        trial_days: policy.trial_days,
        relay,
        note: request.note.as_deref(),
        external_id: request.external_id.as_deref(),
    };
    with_retries(conn, |c| register_once(c, actor, &wanted))
}

/// One registration, as checked before its transaction.
struct Wanted<'a> {
    license_type: &'a LicenseType,
    /// The caller's limit for the type (None: unlimited).
    limit: Option<i32>,
    ip: &'a str,
    els_allowed: bool,
    trial_days: i64,
    /// The upstream the type is carried to: the row is written as its intent.
    relay: Option<i64>,
    note: Option<&'a str>,
    external_id: Option<&'a str>,
}

fn register_once(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    wanted: &Wanted<'_>,
) -> Result<Intent, DomainError> {
    let Wanted {
        license_type,
        limit,
        ip,
        els_allowed,
        trial_days: policy_trial_days,
        relay,
        note,
        external_id,
    } = *wanted;
    let me = actor.reseller.id;
    let type_id = license_type.id;
    // A limit, and a trial account's servers per family, are counted under the reseller's
    // row lock, so that concurrent registrations cannot both take the last place.
    if limit.is_some() || actor.reseller.trial {
        lock_reseller(conn, me)?;
    }
    let on_ip = licenses_on(conn, ip)?;
    let on_ip = clear_expired(conn, on_ip, actor.now)?;
    if let Some(existing) = on_ip.iter().find(|l| l.type_id == type_id) {
        if existing.reseller_id == me && existing.relay_state.is_none() {
            return Ok(Intent::Held(existing.clone()));
        }
        if existing.reseller_id == me && relay.is_some() {
            return Ok(Intent::Waiting);
        }
        if existing.reseller_id == me {
            return Err(DomainError::conflict(format!(
                "IP {ip} type {type_id} is being {} at the upstream; try again in a moment",
                if existing.relay_state.as_deref() == Some(crate::domain::upstream::REGISTERING) {
                    "registered"
                } else {
                    "withdrawn"
                }
            )));
        }
        return Err(DomainError::refused(format!(
            "IP {ip} already has a license of type {type_id} held by another reseller"
        )));
    }
    if let Some(upstream_id) = relay {
        if pending_on(conn, upstream_id, ip)? > 0 {
            return Ok(Intent::Waiting);
        }
    }
    let slot = license_type.slot();
    if let Some(blocker) = on_ip.iter().find(|l| l.slot == slot) {
        return Err(exclusive_family_refusal(
            conn,
            license_type,
            blocker,
            me,
            ip,
        )?);
    }
    if let Some(limit) = limit {
        let used = count_owned(conn, me, type_id, actor.now)?;
        if used >= i64::from(limit) {
            return Err(DomainError::refused(format!(
                "License limit reached for type {type_id} ({}): {used}/{limit} used; \
                 cannot register IP {ip}",
                license_type.name
            )));
        }
    }
    if let Some(external_id) = external_id {
        super::annotate::refuse_taken_external_id(conn, me, external_id, None)?;
    }
    let trial_expires_at = if actor.reseller.trial {
        let trial = Duration::days(policy_trial_days);
        // The per-IP rule first: its refusal is CLN's own words.
        trials::use_trial(conn, actor, &license_type.family, ip)?;
        Some(trials::account_trial_end(
            conn,
            actor,
            license_type,
            ip,
            trial,
        )?)
    } else {
        None
    };
    diesel::insert_into(ip_licenses::table)
        .values(NewLicense {
            reseller_id: me,
            ip,
            type_id,
            slot: &slot,
            els_allowed,
            created_at: actor.now,
            trial_expires_at,
            relay_state: relay.map(|_| crate::domain::upstream::REGISTERING),
            note,
            external_id,
            ip_key: LicenseIp::order_key_of(ip),
        })
        .execute(conn)?;
    let license = ip_licenses::table
        .filter(ip_licenses::ip.eq(ip))
        .filter(ip_licenses::type_id.eq(type_id))
        .select(License::as_select())
        .first(conn)?;
    match relay {
        Some(upstream_id) => claims::claim(conn, upstream_id, ip, type_id, actor.now)?,
        None => {
            let detail = actor.reseller.trial.then(|| TRIAL_DETAIL.to_string());
            events::record(conn, actor.into(), Action::Register, ip, type_id, detail)?;
        }
    }
    Ok(Intent::New(license))
}

pub(super) fn exclusive_family_refusal(
    conn: &mut DbConnection,
    wanted: &LicenseType,
    blocker: &License,
    me: i64,
    ip: &str,
) -> Result<DomainError, DomainError> {
    let held = find_type(conn, blocker.type_id)?
        .map(|t| t.name)
        .unwrap_or_default();
    let base = format!(
        "IP {ip} already has license type {} ({held}) of the exclusive {} family, \
         so type {} cannot be added",
        blocker.type_id, wanted.family, wanted.id
    );
    let advice = if blocker.reseller_id != me {
        "it is held by another reseller".to_string()
    } else if wanted.convertible {
        format!(
            "use convert.json?ip={ip}&type={}&type_to={} to change it",
            blocker.type_id, wanted.id
        )
    } else {
        format!("remove type {} first", blocker.type_id)
    };
    Ok(DomainError::refused(format!("{base}; {advice}")))
}

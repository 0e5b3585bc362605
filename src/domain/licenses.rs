//! Mutations of IP licenses: register, remove, update (els_allowed) and convert.
//!
//! Ownership of (IP, type) and family exclusivity are enforced by the unique indexes
//! (ip, type_id) and (ip, slot), not by the checks below: the checks only choose the
//! message. A lost race surfaces as `DomainError::Conflict`; the call is then retried and
//! sees the winner's committed row. Writes that count a limit (register and convert to a
//! type with a limit) take a row lock on the reseller first (`lock_reseller`), which keeps
//! limit counts exact under concurrency; unlimited types take no such lock.
//!
//! Every update and delete names the row *and the state it was read in* (owner, type,
//! value) and checks the rows affected: a row changed by a concurrent call in between is
//! not touched, the transaction rolls back as a `Conflict`, and the retry decides on the
//! new state. So of two racing converts of one license exactly one succeeds, and the
//! history never records a change that did not happen.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::catalogue::{find_type, grant, LicenseType};
use super::events::{self, Action, EventContext, TRIAL_DETAIL};
use super::ip::LicenseIp;
use super::type_limits::{count_owned, lock_reseller};
use super::{ensure_active, Actor, Policy};
use crate::db::models::{License, NewLicense, NewTrialUse};
use crate::db::schema::{ip_licenses, trial_uses};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// A lost uniqueness race is retried this many times; the second attempt already sees
/// the winner, the third covers a remove racing in between.
const ATTEMPTS: usize = 3;

fn with_retries<T>(
    conn: &mut DbConnection,
    mut body: impl FnMut(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let mut attempt = 1;
    loop {
        match write_transaction(conn, &mut body) {
            Err(DomainError::Conflict(_)) if attempt < ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

fn licenses_on(conn: &mut DbConnection, ip: &str) -> Result<Vec<License>, DomainError> {
    Ok(ip_licenses::table
        .filter(ip_licenses::ip.eq(ip))
        .order(ip_licenses::type_id)
        .select(License::as_select())
        .load(conn)?)
}

pub struct Registration {
    pub ip: LicenseIp,
    pub type_id: i32,
    pub els_allowed: bool,
}

/// Registers (ip, type) for the caller, or returns the caller's existing license unchanged.
pub fn register(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    policy: &Policy,
    request: &Registration,
) -> Result<License, DomainError> {
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
    with_retries(conn, |c| {
        register_once(
            c,
            actor,
            &license_type,
            limit,
            &ip,
            request.els_allowed,
            policy.trial_days,
        )
    })
}

fn register_once(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    license_type: &LicenseType,
    limit: Option<i32>,
    ip: &str,
    els_allowed: bool,
    policy_trial_days: i64,
) -> Result<License, DomainError> {
    let me = actor.reseller.id;
    let type_id = license_type.id;
    if limit.is_some() {
        lock_reseller(conn, me)?;
    }
    let on_ip = licenses_on(conn, ip)?;
    let on_ip = clear_expired(conn, on_ip, actor.now)?;
    if let Some(existing) = on_ip.iter().find(|l| l.type_id == type_id) {
        if existing.reseller_id == me {
            return Ok(existing.clone());
        }
        return Err(DomainError::refused(format!(
            "IP {ip} already has a license of type {type_id} held by another reseller"
        )));
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
    if actor.reseller.trial {
        use_trial(conn, actor, &license_type.family, ip)?;
    }
    let trial_expires_at = actor
        .reseller
        .trial
        .then(|| actor.now + Duration::days(policy_trial_days));
    diesel::insert_into(ip_licenses::table)
        .values(NewLicense {
            reseller_id: me,
            ip,
            type_id,
            slot: &slot,
            els_allowed,
            created_at: actor.now,
            trial_expires_at,
        })
        .execute(conn)?;
    let license = ip_licenses::table
        .filter(ip_licenses::ip.eq(ip))
        .filter(ip_licenses::type_id.eq(type_id))
        .select(License::as_select())
        .first(conn)?;
    let detail = actor.reseller.trial.then(|| TRIAL_DETAIL.to_string());
    events::record(conn, actor.into(), Action::Register, ip, type_id, detail)?;
    Ok(license)
}

/// Deletes the expired trials among `on_ip` (each with an `expire` event for its owner)
/// and returns the licenses still held.
fn clear_expired(
    conn: &mut DbConnection,
    on_ip: Vec<License>,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    let (expired, held): (Vec<License>, Vec<License>) =
        on_ip.into_iter().partition(|l| l.is_expired(now));
    for license in expired {
        let deleted = diesel::delete(as_read(&license)).execute(conn)?;
        changed_as_read(deleted)?;
        let login = super::resellers::login_of(conn, license.reseller_id)?;
        let context = EventContext {
            at: now,
            reseller_id: license.reseller_id,
            login: &login,
            source: "ipls",
        };
        events::record(
            conn,
            context,
            Action::Expire,
            &license.ip,
            license.type_id,
            None,
        )?;
    }
    Ok(held)
}

fn exclusive_family_refusal(
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

/// A trial reseller may register each product family on an IP once, ever.
fn use_trial(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    family: &str,
    ip: &str,
) -> Result<(), DomainError> {
    let paid_only = || {
        DomainError::refused(format!(
            "You can register the IP: {ip} under a paid license only."
        ))
    };
    let used: i64 = trial_uses::table
        .filter(trial_uses::ip.eq(ip))
        .filter(trial_uses::family.eq(family))
        .count()
        .get_result(conn)?;
    if used > 0 {
        return Err(paid_only());
    }
    diesel::insert_into(trial_uses::table)
        .values(NewTrialUse {
            ip,
            family,
            reseller_id: actor.reseller.id,
            used_at: actor.now,
        })
        .execute(conn)?;
    Ok(())
}

/// Removes the caller's license of `type_id` on `ip`, or all of its types there when
/// `type_id` is None. Returns whether anything was removed.
pub fn remove(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    type_id: Option<i32>,
) -> Result<bool, DomainError> {
    ensure_active(actor.reseller)?;
    let ip = ip.to_string();
    with_retries(conn, |c| {
        let mine = owned_on(c, actor.reseller.id, &ip, type_id)?;
        for license in &mine {
            let deleted = diesel::delete(as_read(license)).execute(c)?;
            changed_as_read(deleted)?;
            events::record(c, actor.into(), Action::Remove, &ip, license.type_id, None)?;
        }
        Ok(!mine.is_empty())
    })
}

/// The license row as it was read: same id, owner and type. An update or delete through
/// this filter touches nothing if a concurrent call converted, removed or re-registered it.
#[diesel::dsl::auto_type(no_type_alias)]
fn as_read(license: &License) -> _ {
    let id: i64 = license.id;
    let owner: i64 = license.reseller_id;
    let type_id: i32 = license.type_id;
    ip_licenses::table
        .filter(ip_licenses::id.eq(id))
        .filter(ip_licenses::reseller_id.eq(owner))
        .filter(ip_licenses::type_id.eq(type_id))
}

/// One row changed, or the row was no longer as read: roll back and retry on the new state.
fn changed_as_read(rows: usize) -> Result<(), DomainError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(DomainError::raced())
    }
}

fn owned_on(
    conn: &mut DbConnection,
    reseller_id: i64,
    ip: &str,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    let mut query = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::ip.eq(ip))
        .select(License::as_select())
        .into_boxed();
    if let Some(type_id) = type_id {
        query = query.filter(ip_licenses::type_id.eq(type_id));
    }
    Ok(query.order(ip_licenses::type_id).load(conn)?)
}

/// Sets `els_allowed` on the caller's license(s) on `ip`. Returns whether any matched.
pub fn update_els(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    type_id: Option<i32>,
    els_allowed: bool,
) -> Result<bool, DomainError> {
    ensure_active(actor.reseller)?;
    let ip = ip.to_string();
    with_retries(conn, |c| {
        let mine = owned_on(c, actor.reseller.id, &ip, type_id)?;
        for license in mine.iter().filter(|l| l.els_allowed != els_allowed) {
            let updated = diesel::update(
                as_read(license).filter(ip_licenses::els_allowed.eq(license.els_allowed)),
            )
            .set(ip_licenses::els_allowed.eq(els_allowed))
            .execute(c)?;
            changed_as_read(updated)?;
            let detail = format!("els_allowed={els_allowed}");
            events::record(
                c,
                actor.into(),
                Action::Update,
                &ip,
                license.type_id,
                Some(detail),
            )?;
        }
        Ok(!mine.is_empty())
    })
}

/// Moves the caller's license (ip, from) to type `to` of the same convertible family,
/// keeping `created`. Returns false when that is not possible.
pub fn convert(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    from: i32,
    to: i32,
) -> Result<bool, DomainError> {
    ensure_active(actor.reseller)?;
    let ip = ip.to_string();
    let (Some(from_type), Some(to_type)) = (find_type(conn, from)?, find_type(conn, to)?) else {
        return Ok(false);
    };
    if from_type.family != to_type.family || !to_type.convertible {
        return Ok(false);
    }
    let Some(limit) = grant(conn, actor.reseller.id, to)? else {
        return Ok(false);
    };
    with_retries(conn, |c| {
        if limit.is_some() {
            lock_reseller(c, actor.reseller.id)?;
        }
        let Some(license) = owned_on(c, actor.reseller.id, &ip, Some(from))?.pop() else {
            return Ok(false);
        };
        if from == to {
            return Ok(true);
        }
        if let Some(limit) = limit {
            if count_owned(c, actor.reseller.id, to, actor.now)? >= i64::from(limit) {
                return Ok(false);
            }
        }
        let new_slot = to_type.slot();
        let slot_taken = licenses_on(c, &ip)?
            .iter()
            .any(|l| l.id != license.id && (l.type_id == to || l.slot == new_slot));
        if slot_taken {
            return Ok(false);
        }
        let updated = diesel::update(as_read(&license))
            .set((ip_licenses::type_id.eq(to), ip_licenses::slot.eq(&new_slot)))
            .execute(c)?;
        changed_as_read(updated)?;
        events::record(
            c,
            actor.into(),
            Action::Convert,
            &ip,
            to,
            Some(format!("from={from}")),
        )?;
        Ok(true)
    })
}

/// Ends trials that ran out: each is deleted with an `expire` history row (and its
/// `license.expired` webhook), at most `batch` per call. Returns how many ended. Run by the
/// delivery worker; a trial that another instance (or a register on its IP) ended first is
/// skipped, so each ending is recorded once.
pub fn expire_due_trials(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    batch: i64,
) -> Result<usize, DomainError> {
    let due: Vec<License> = ip_licenses::table
        .filter(ip_licenses::trial_expires_at.le(now))
        .order(ip_licenses::trial_expires_at)
        .limit(batch)
        .select(License::as_select())
        .load(conn)?;
    let mut ended = 0;
    for license in due {
        match write_transaction(conn, |c| clear_expired(c, vec![license.clone()], now)) {
            Ok(_) => ended += 1,
            Err(DomainError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(ended)
}

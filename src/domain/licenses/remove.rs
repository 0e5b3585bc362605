//! Removing licenses: the caller's, and trials that ran out.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{as_read, changed_as_read, owned_on, with_retries};
use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::{self, Action, EventContext};
use crate::domain::ip::LicenseIp;
use crate::domain::upstream::ops::{self, Change};
use crate::domain::upstream::REGISTERING;
use crate::domain::{ensure_active, Actor};
use crate::error::DomainError;

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
        refuse_while_registering(c, actor.reseller.id, &ip, type_id)?;
        let mine = owned_on(c, actor.reseller.id, &ip, type_id)?;
        for license in &mine {
            let deleted = diesel::delete(as_read(license)).execute(c)?;
            changed_as_read(deleted)?;
            events::record(c, actor.into(), Action::Remove, &ip, license.type_id, None)?;
            ops::carry(
                c,
                &ip,
                license.type_id,
                Change::Remove,
                actor.source,
                actor.now,
            )?;
        }
        Ok(!mine.is_empty())
    })
}

/// A registration of the caller's on `ip` still being asked of its upstream (or left behind
/// by a crash, until the relay settles it) may yet become a license: "nothing removed"
/// would then be untrue, so the caller is told to try again instead.
pub(super) fn refuse_while_registering(
    conn: &mut DbConnection,
    reseller_id: i64,
    ip: &str,
    type_id: Option<i32>,
) -> Result<(), DomainError> {
    let mut query = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::ip.eq(ip))
        .filter(ip_licenses::relay_state.eq(REGISTERING))
        .select(ip_licenses::type_id)
        .into_boxed();
    if let Some(type_id) = type_id {
        query = query.filter(ip_licenses::type_id.eq(type_id));
    }
    match query.first::<i32>(conn).optional()? {
        None => Ok(()),
        Some(registering) => Err(DomainError::refused(format!(
            "IP {ip} type {registering} is still being registered at its upstream; \
             try again in a moment"
        ))),
    }
}

/// Deletes the expired trials among `on_ip` (each with an `expire` event for its owner)
/// and returns the licenses still held.
pub(super) fn clear_expired(
    conn: &mut DbConnection,
    on_ip: Vec<License>,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    let (expired, held): (Vec<License>, Vec<License>) =
        on_ip.into_iter().partition(|l| l.is_expired(now));
    for license in expired {
        let deleted = diesel::delete(as_read(&license)).execute(conn)?;
        changed_as_read(deleted)?;
        let login = crate::domain::resellers::login_of(conn, license.reseller_id)?;
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
        ops::carry(
            conn,
            &license.ip,
            license.type_id,
            Change::Remove,
            "ipls",
            now,
        )?;
    }
    Ok(held)
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

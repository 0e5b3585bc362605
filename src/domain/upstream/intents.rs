//! A routed registration's intent: the row `licenses::begin_intent` writes (relay_state
//! `registering`) holds its IP and counts in limits while the upstream is asked. What the
//! upstream answers decides its end, each in one transaction:
//!
//! - accepted: `confirm` settles it and writes the history (and its webhook);
//! - refused, or not reached at all: `abandon` deletes it, its claim and its trial use;
//! - no usable answer (a timeout, a 5xx, garbage, a connection cut after sending): the
//!   upstream may or may not hold it, so `withdraw` marks it `withdrawing` and queues its
//!   removal there, which deletes the row once the upstream confirms.
//!
//! An intent left behind by a crash is settled by the relay worker from the upstream's own
//! answer for that IP (`settle`), never guessed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ops::{self, NewOp, OpKind};
use super::{claims, REGISTERING, WITHDRAWING};
use crate::db::models::{License, Upstream};
use crate::db::schema::{ip_licenses, trial_uses};
use crate::db::{write_transaction, DbConnection};
use crate::domain::catalogue::find_type;
use crate::domain::events::{self, Action, EventContext, TRIAL_DETAIL};
use crate::error::DomainError;

/// The intent as it is now (None once it is gone).
fn reread(conn: &mut DbConnection, license_id: i64) -> Result<Option<License>, DomainError> {
    Ok(ip_licenses::table
        .find(license_id)
        .select(License::as_select())
        .first(conn)
        .optional()?)
}

/// Only a row still in `state` is touched: the request and the worker's settling may race,
/// and the first to act wins.
#[diesel::dsl::auto_type(no_type_alias)]
fn in_state(license_id: i64, state: &'static str) -> _ {
    ip_licenses::table
        .filter(ip_licenses::id.eq(license_id))
        .filter(ip_licenses::relay_state.eq(state))
}

/// The upstream accepted: the intent becomes the license, with its history row written as
/// `context` says. Returns the license, or None when the intent is no longer there (it was
/// settled or withdrawn in between: the caller reports what it finds).
pub fn confirm(
    conn: &mut DbConnection,
    license_id: i64,
    context: EventContext<'_>,
    detail: Option<String>,
) -> Result<Option<License>, DomainError> {
    write_transaction(conn, |c| {
        let settled = diesel::update(in_state(license_id, REGISTERING))
            .set(ip_licenses::relay_state.eq(None::<String>))
            .execute(c)?;
        let license = reread(c, license_id)?;
        if settled == 1 {
            if let Some(l) = &license {
                let detail = detail
                    .clone()
                    .or_else(|| l.trial_expires_at.map(|_| TRIAL_DETAIL.to_string()));
                events::record(c, context, Action::Register, &l.ip, l.type_id, detail)?;
            }
        }
        Ok(license.filter(|l| l.relay_state.is_none()))
    })
}

/// The upstream refused, or was never reached: nothing stays. Returns whether it was still
/// an intent.
pub fn abandon(
    conn: &mut DbConnection,
    license: &License,
    upstream_id: i64,
) -> Result<bool, DomainError> {
    drop_intent(conn, license, Some(upstream_id))
}

/// Deletes the intent and its trial use; its claim too when `unclaim_at` names the upstream.
fn drop_intent(
    conn: &mut DbConnection,
    license: &License,
    unclaim_at: Option<i64>,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let deleted = diesel::delete(in_state(license.id, REGISTERING)).execute(c)?;
        if deleted == 1 {
            if let Some(upstream_id) = unclaim_at {
                claims::unclaim(c, upstream_id, &license.ip, license.type_id)?;
            }
            free_trial_use(c, license)?;
        }
        Ok(deleted == 1)
    })
}

/// No usable answer: the upstream may hold the license or not. The row keeps holding the IP
/// as `withdrawing` while its removal is carried upstream (CLN's remove succeeds when there
/// is nothing to remove); the removal's confirmation deletes it (`ops::confirmed`). The
/// removal is not carried before `not_before` (system clock): a slow upstream may still be
/// working on the registration it undoes.
pub fn withdraw(
    conn: &mut DbConnection,
    license: &License,
    upstream_id: i64,
    source: &str,
    now: NaiveDateTime,
    not_before: NaiveDateTime,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let marked = diesel::update(in_state(license.id, REGISTERING))
            .set(ip_licenses::relay_state.eq(Some(WITHDRAWING)))
            .execute(c)?;
        if marked == 1 {
            // The caller was told to try again: its retry must not find the trial spent.
            free_trial_use(c, license)?;
            ops::enqueue(
                c,
                &NewOp {
                    upstream_id,
                    ip: &license.ip,
                    kind: OpKind::Remove,
                    type_id: license.type_id,
                    els_allowed: None,
                    type_to: None,
                    source,
                    now,
                    not_before: Some(not_before),
                },
            )?;
        }
        Ok(marked == 1)
    })
}

/// The trial use an intent recorded (same IP, family and reseller, at its creation).
fn free_trial_use(conn: &mut DbConnection, license: &License) -> Result<(), DomainError> {
    if license.trial_expires_at.is_none() {
        return Ok(());
    }
    let Some(license_type) = find_type(conn, license.type_id)? else {
        return Ok(());
    };
    diesel::delete(
        trial_uses::table
            .filter(trial_uses::ip.eq(&license.ip))
            .filter(trial_uses::family.eq(&license_type.family))
            .filter(trial_uses::reseller_id.eq(license.reseller_id))
            .filter(trial_uses::used_at.eq(license.created_at)),
    )
    .execute(conn)?;
    Ok(())
}

/// Intents of types carried to `upstream_id` written before `before`: a request that wrote
/// them has long given up (crashed, or killed) without settling them.
pub fn stale(
    conn: &mut DbConnection,
    upstream_id: i64,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<License>, DomainError> {
    use crate::db::schema::upstream_routes;
    Ok(ip_licenses::table
        .inner_join(upstream_routes::table.on(upstream_routes::type_id.eq(ip_licenses::type_id)))
        .filter(upstream_routes::upstream_id.eq(upstream_id))
        .filter(ip_licenses::relay_state.eq(REGISTERING))
        .filter(ip_licenses::created_at.lt(before))
        .order(ip_licenses::id)
        .limit(limit)
        .select(License::as_select())
        .load(conn)?)
}

/// Settles a left-behind intent by what the upstream holds on its IP: there, it is the
/// license (the history says the relay settled it); not there, it goes, but its claim stays:
/// should the upstream still register it later (a request the crash left in flight), the
/// claim lets reconcile remove it there instead of calling it foreign. Reconcile drops the
/// claim once both sides are seen without the license.
pub fn settle(
    conn: &mut DbConnection,
    license: &License,
    upstream: &Upstream,
    held_upstream: bool,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    if !held_upstream {
        drop_intent(conn, license, None)?;
        return Ok(());
    }
    let login = crate::domain::resellers::login_of(conn, license.reseller_id)?;
    let source = crate::domain::actor::Source::Upstream(upstream.name.clone()).to_string();
    let context = EventContext {
        at: now,
        reseller_id: license.reseller_id,
        login: &login,
        source: &source,
    };
    let detail = Some("settled: the upstream holds it after an interrupted registration".into());
    confirm(conn, license.id, context, detail)?;
    Ok(())
}

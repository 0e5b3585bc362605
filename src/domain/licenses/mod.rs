//! Mutations of IP licenses: register, remove, update (els_allowed), convert, move, and the
//! note and external id.
//!
//! Ownership of (IP, type) and family exclusivity are enforced by the unique indexes
//! (ip, type_id) and (ip, slot), not by the checks below: the checks only choose the
//! message. A lost race surfaces as `DomainError::Conflict`; the call is then retried (three
//! attempts in all) and sees the winner's committed row; a third loss reaches the caller as
//! the conflict it is. Writes that count a limit (register and convert to a
//! type with a limit) take a row lock on the reseller first (`lock_reseller`), which keeps
//! limit counts exact under concurrency; unlimited types take no such lock.
//!
//! Every update and delete names the row *and the state it was read in* (owner, type,
//! value) and checks the rows affected: a row changed by a concurrent call in between is
//! not touched, the transaction rolls back as a `Conflict`, and the retry decides on the
//! new state. So of two racing converts of one license exactly one succeeds, and the
//! history never records a change that did not happen.

mod annotate;
mod change;
mod confirmed_removal;
mod notices;
mod register;
mod relocate;
mod remove;
mod suspend;
mod trials;

pub use annotate::{
    annotate, external_id_text, note_text, AnnotationChange, MAX_EXTERNAL_ID_CHARS, MAX_NOTE_CHARS,
};
pub use change::{convert, update_els};
pub use confirmed_removal::{remove_confirmed, select, ConfirmedRemoval, Selection};
pub use notices::{notice_expiring_trials, notice_stale, TRIAL_WARNING_DAYS};
pub use register::{begin_intent, register, Intent, Registration};
pub use relocate::{move_licenses, MOVED_TRIAL_SUFFIX};
pub use remove::{expire_due_trials, remove};
pub use suspend::{
    reason_text, remove_due_suspensions, resume, suspend, suspensions_of, Suspension, GRACE_ENDED,
    MAX_REASON_CHARS,
};
pub use trials::{closed_trial_families, TRIAL_SERVERS};

use remove::refuse_while_registering;

use diesel::prelude::*;

use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// A lost uniqueness race is retried this many times; the second attempt already sees
/// the winner, the third covers a remove racing in between.
const ATTEMPTS: usize = 3;

pub(super) fn with_retries<T>(
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

pub(super) fn licenses_on(conn: &mut DbConnection, ip: &str) -> Result<Vec<License>, DomainError> {
    Ok(ip_licenses::table
        .filter(ip_licenses::ip.eq(ip))
        .order(ip_licenses::type_id)
        .select(License::as_select())
        .load(conn)?)
}

/// The license row as it was read: same id, owner, type and IP. An update or delete through
/// this filter touches nothing if a concurrent call converted, removed, moved or
/// re-registered it.
#[diesel::dsl::auto_type(no_type_alias)]
pub(super) fn as_read(license: &License) -> _ {
    let id: i64 = license.id;
    let owner: i64 = license.reseller_id;
    let type_id: i32 = license.type_id;
    let ip: String = license.ip.clone();
    ip_licenses::table
        .filter(ip_licenses::id.eq(id))
        .filter(ip_licenses::reseller_id.eq(owner))
        .filter(ip_licenses::type_id.eq(type_id))
        .filter(ip_licenses::ip.eq(ip))
}

/// One row changed, or the row was no longer as read: roll back and retry on the new state.
pub(super) fn changed_as_read(rows: usize) -> Result<(), DomainError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(DomainError::raced())
    }
}

/// Said to a call that names a license of the caller's that does not exist.
pub(super) fn not_held(ip: &str, type_id: Option<i32>) -> DomainError {
    DomainError::not_found(match type_id {
        Some(t) => format!("You hold no license of type {t} on IP {ip}"),
        None => format!("You hold no license on IP {ip}"),
    })
}

/// `owned_on`, where finding none is the caller's mistake (`not_held`).
pub(super) fn held_or_not_found(
    conn: &mut DbConnection,
    reseller_id: i64,
    ip: &str,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    let mine = owned_on(conn, reseller_id, ip, type_id)?;
    if mine.is_empty() {
        return Err(not_held(ip, type_id));
    }
    Ok(mine)
}

/// The caller's settled licenses on `ip` (an intent still asking its upstream, or one being
/// withdrawn, is not yet or no longer the caller's to change).
pub(super) fn owned_on(
    conn: &mut DbConnection,
    reseller_id: i64,
    ip: &str,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    let mut query = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::ip.eq(ip))
        .filter(ip_licenses::relay_state.is_null())
        .select(License::as_select())
        .into_boxed();
    if let Some(type_id) = type_id {
        query = query.filter(ip_licenses::type_id.eq(type_id));
    }
    Ok(query.order(ip_licenses::type_id).load(conn)?)
}

//! Moving licenses to a new IP (`move.json`, ours): the same rows, so `created`, trial state,
//! ELS and history stay; the server's registration and check-in start afresh on the new IP.

use diesel::prelude::*;

use super::register::exclusive_family_refusal;
use super::remove::clear_expired;
use super::trials::use_trial;
use super::with_retries;
use super::{as_read, changed_as_read, licenses_on, owned_on, refuse_while_registering};
use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::DbConnection;
use crate::domain::catalogue::{find_type, grant};
use crate::domain::events::{self, Action};
use crate::domain::ip::LicenseIp;
use crate::domain::upstream::ops::{self, Change};
use crate::domain::{ensure_active, Actor, Policy};
use crate::error::DomainError;

/// `detail` of a move's history row: `from=OLD_IP`, with this suffix when the license is a
/// trial (usage keeps trials unbilled across the move).
pub const MOVED_TRIAL_SUFFIX: &str = ";trial";

/// Moves the caller's license of `type_id` on `from` (every type it holds there when None)
/// to `to`, in one transaction: neither address is free to anyone else at any moment (the
/// rows change IP in place, under the unique indexes). The new IP passes a registration's
/// rules (public address, enabled type, other resellers' and exclusive families' licenses,
/// the per-IP trial rule); the limit does not change, since the count does not. Returns the
/// moved licenses as they are now.
pub fn move_licenses(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    policy: &Policy,
    from: &LicenseIp,
    to: &LicenseIp,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    ensure_active(actor.reseller)?;
    let (old, new) = (from.to_string(), to.to_string());
    if old == new {
        return Err(DomainError::refused(format!(
            "new_ip {new} is the license's current IP; nothing to move"
        )));
    }
    if !policy.allow_private_ips {
        if let Some(reason) = to.non_public_reason() {
            return Err(DomainError::refused(format!(
                "IP {new} is a {reason} address, not a server's public address; \
                 it cannot be licensed"
            )));
        }
    }
    with_retries(conn, |c| move_once(c, actor, &old, &new, type_id))
}

fn move_once(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    old: &str,
    new: &str,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    let me = actor.reseller.id;
    refuse_while_registering(conn, me, old, type_id)?;
    let mine = owned_on(conn, me, old, type_id)?;
    let mine = clear_expired(conn, mine, actor.now)?;
    super::suspend::refuse_suspended(conn, &mine)?;
    if mine.is_empty() {
        return Err(super::not_held(old, type_id));
    }
    let on_new = licenses_on(conn, new)?;
    let on_new = clear_expired(conn, on_new, actor.now)?;
    let mut moved = Vec::with_capacity(mine.len());
    for license in &mine {
        let license_type = find_type(conn, license.type_id)?.ok_or_else(|| {
            DomainError::Internal(format!("license type {} is gone", license.type_id))
        })?;
        if grant(conn, me, license.type_id)?.is_none() {
            return Err(DomainError::refused(format!(
                "License type {} ({}) is no longer enabled for your account; \
                 it cannot be moved to IP {new}",
                license.type_id, license_type.name
            )));
        }
        if let Some(held) = on_new.iter().find(|l| l.type_id == license.type_id) {
            let whose = if held.reseller_id == me {
                "you already hold it"
            } else {
                "it is held by another reseller"
            };
            return Err(DomainError::refused(format!(
                "IP {new} already has a license of type {}: {whose}",
                license.type_id
            )));
        }
        if let Some(blocker) = on_new.iter().find(|l| l.slot == license.slot) {
            return Err(exclusive_family_refusal(
                conn,
                &license_type,
                blocker,
                me,
                new,
            )?);
        }
        let trial = license.trial_expires_at.is_some();
        if trial {
            use_trial(conn, actor, &license_type.family, new)?;
        }
        let updated = diesel::update(as_read(license))
            .set((
                ip_licenses::ip.eq(new),
                ip_licenses::ip_key.eq(LicenseIp::order_key_of(new)),
                ip_licenses::registered_at.eq(None::<chrono::NaiveDateTime>),
                ip_licenses::last_checkin.eq(None::<chrono::NaiveDateTime>),
                ip_licenses::server_info.eq(None::<String>),
            ))
            .execute(conn)?;
        changed_as_read(updated)?;
        // Its server starts afresh: a silence noticed on the old IP is not the new one's.
        diesel::delete(crate::db::schema::license_notices::table.find(license.id)).execute(conn)?;
        let els_allowed = license.els_allowed;
        let register = Change::Register { els_allowed };
        ops::carry(
            conn,
            new,
            license.type_id,
            register,
            actor.source,
            actor.now,
        )?;
        ops::carry(
            conn,
            old,
            license.type_id,
            Change::Remove,
            actor.source,
            actor.now,
        )?;
        let suffix = if trial { MOVED_TRIAL_SUFFIX } else { "" };
        let detail = format!("from={old}{suffix}");
        events::record(
            conn,
            actor.into(),
            Action::Move,
            new,
            license.type_id,
            Some(detail),
        )?;
        moved.push(license.id);
    }
    Ok(ip_licenses::table
        .filter(ip_licenses::id.eq_any(&moved))
        .order(ip_licenses::type_id)
        .select(License::as_select())
        .load(conn)?)
}

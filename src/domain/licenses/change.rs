//! Changing a license in place: its ELS setting, or its type within a convertible family.

use diesel::prelude::*;

use super::{as_read, changed_as_read, licenses_on, owned_on, with_retries};
use crate::db::schema::ip_licenses;
use crate::db::DbConnection;
use crate::domain::catalogue::{find_type, grant};
use crate::domain::events::{self, Action};
use crate::domain::ip::LicenseIp;
use crate::domain::type_limits::{count_owned, lock_reseller};
use crate::domain::upstream::ops::{self, Change};
use crate::domain::upstream::route_of;
use crate::domain::{ensure_active, Actor};
use crate::error::DomainError;

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
        super::suspend::refuse_suspended(c, &mine)?;
        for license in mine.iter().filter(|l| l.els_allowed != els_allowed) {
            let updated = diesel::update(
                as_read(license).filter(ip_licenses::els_allowed.eq(license.els_allowed)),
            )
            .set(ip_licenses::els_allowed.eq(els_allowed))
            .execute(c)?;
            changed_as_read(updated)?;
            let change = Change::Update { els_allowed };
            ops::carry(c, &ip, license.type_id, change, actor.source, actor.now)?;
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
    same_upstream(conn, from, to)?;
    with_retries(conn, |c| {
        if limit.is_some() {
            lock_reseller(c, actor.reseller.id)?;
        }
        let Some(license) = owned_on(c, actor.reseller.id, &ip, Some(from))?.pop() else {
            return Ok(false);
        };
        super::suspend::refuse_suspended(c, std::slice::from_ref(&license))?;
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
        ops::carry(
            c,
            &ip,
            from,
            Change::Convert { to },
            actor.source,
            actor.now,
        )?;
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

/// A convert is carried as one change to one upstream: both types must go to the same one
/// (or neither to any). Across upstreams it would be a remove at one and a register at the
/// other, which a reseller does as two calls.
fn same_upstream(conn: &mut DbConnection, from: i32, to: i32) -> Result<(), DomainError> {
    let name = |u: Option<crate::db::models::Upstream>| u.map(|u| u.name);
    let (a, b) = (name(route_of(conn, from)?), name(route_of(conn, to)?));
    if a == b {
        return Ok(());
    }
    let place = |n: &Option<String>| match n {
        Some(n) => format!("carried to upstream {n}"),
        None => "kept here".to_string(),
    };
    Err(DomainError::refused(format!(
        "type {from} is {} and type {to} is {}: remove type {from} and register type {to} instead",
        place(&a),
        place(&b)
    )))
}

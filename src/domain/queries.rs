//! Read-only questions about licenses: check, availability, list pages, server rows.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::catalogue::{enabled_types_of, EnabledType};
use super::ip::LicenseIp;
use super::{held_at, licensed_at};
use crate::db::models::{License, Reseller};
use crate::db::schema::{ip_licenses, trial_uses};
use crate::db::DbConnection;
use crate::error::DomainError;

/// One check.json lookup: the address, and the moment the call asks about.
pub type TypesQuery = (LicenseIp, NaiveDateTime);

/// For each lookup, every type held on its address by any reseller at its moment,
/// ascending: one statement for the whole batch (`db::coalesce`).
pub fn types_on_ips(
    conn: &mut DbConnection,
    lookups: &[TypesQuery],
) -> Result<Vec<Vec<i32>>, DomainError> {
    let texts: Vec<String> = lookups.iter().map(|(ip, _)| ip.to_string()).collect();
    let rows: Vec<(String, i32, Option<NaiveDateTime>)> = ip_licenses::table
        .filter(ip_licenses::ip.eq_any(&texts))
        .select((
            ip_licenses::ip,
            ip_licenses::type_id,
            ip_licenses::trial_expires_at,
        ))
        .order((ip_licenses::ip, ip_licenses::type_id))
        .load(conn)?;
    let mut by_ip: HashMap<&str, Vec<(i32, Option<NaiveDateTime>)>> = HashMap::new();
    for (ip, type_id, expires) in &rows {
        by_ip
            .entry(ip.as_str())
            .or_default()
            .push((*type_id, *expires));
    }
    Ok(texts
        .iter()
        .zip(lookups)
        .map(|(text, (_, now))| {
            by_ip.get(text.as_str()).map_or_else(Vec::new, |held| {
                held.iter()
                    .filter(|(_, expires)| held_at_moment(*expires, *now))
                    .map(|(type_id, _)| *type_id)
                    .collect()
            })
        })
        .collect())
}

/// `held_at` in Rust, for rows fetched for several moments at once.
fn held_at_moment(trial_expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    trial_expires_at.is_none_or(|expires| expires > now)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub available: Vec<i32>,
    pub owned: Vec<i32>,
}

/// One availability.json lookup: the caller, the address, the moment.
pub type AvailabilityQuery = (Reseller, LicenseIp, NaiveDateTime);

/// A license on a looked-up address: owner, type, slot, trial expiry.
type OnIp = (i64, i32, String, Option<NaiveDateTime>);

/// For each lookup, what the caller holds on the address and what it could register there
/// at its moment. The licenses on every address and the enabled types of every caller come
/// from one statement each for the whole batch; only a limited type's count and a trial
/// account's used trials take a statement of their own.
pub fn availability_of(
    conn: &mut DbConnection,
    lookups: &[AvailabilityQuery],
) -> Result<Vec<Availability>, DomainError> {
    let texts: Vec<String> = lookups.iter().map(|(_, ip, _)| ip.to_string()).collect();
    let rows: Vec<(String, i64, i32, String, Option<NaiveDateTime>)> = ip_licenses::table
        .filter(ip_licenses::ip.eq_any(&texts))
        .select((
            ip_licenses::ip,
            ip_licenses::reseller_id,
            ip_licenses::type_id,
            ip_licenses::slot,
            ip_licenses::trial_expires_at,
        ))
        .load(conn)?;
    let mut by_ip: HashMap<String, Vec<OnIp>> = HashMap::new();
    for (ip, owner, type_id, slot, expires) in rows {
        by_ip
            .entry(ip)
            .or_default()
            .push((owner, type_id, slot, expires));
    }
    let callers: Vec<i64> = lookups
        .iter()
        .filter(|(reseller, _, _)| reseller.blocked_reason.is_none())
        .map(|(reseller, _, _)| reseller.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let enabled = if callers.is_empty() {
        HashMap::new()
    } else {
        enabled_types_of(conn, &callers)?
    };
    let mut answers = Vec::with_capacity(lookups.len());
    for ((reseller, _, now), text) in lookups.iter().zip(&texts) {
        let on_ip: Vec<&OnIp> = by_ip
            .get(text)
            .map(|rows| {
                rows.iter()
                    .filter(|(_, _, _, expires)| held_at_moment(*expires, *now))
                    .collect()
            })
            .unwrap_or_default();
        let types = enabled.get(&reseller.id).cloned().unwrap_or_default();
        answers.push(availability_on(conn, reseller, text, &on_ip, types, *now)?);
    }
    Ok(answers)
}

/// One lookup's answer from the licenses on its address and the caller's enabled types.
fn availability_on(
    conn: &mut DbConnection,
    reseller: &Reseller,
    ip_text: &str,
    on_ip: &[&OnIp],
    enabled: Vec<EnabledType>,
    now: NaiveDateTime,
) -> Result<Availability, DomainError> {
    let owned: BTreeSet<i32> = on_ip
        .iter()
        .filter(|(owner, _, _, _)| *owner == reseller.id)
        .map(|(_, type_id, _, _)| *type_id)
        .collect();
    // A blocked account can register nothing, so nothing is available to it.
    if reseller.blocked_reason.is_some() {
        return Ok(Availability {
            available: Vec::new(),
            owned: owned.into_iter().collect(),
        });
    }
    let taken_slots: BTreeSet<&str> = on_ip.iter().map(|(_, _, slot, _)| slot.as_str()).collect();
    // Counting a large reseller's licenses is the expensive part: only limited types need it.
    let limited: Vec<i32> = enabled
        .iter()
        .filter(|e| e.limit.is_some())
        .map(|e| e.license_type.id)
        .collect();
    let used = if limited.is_empty() {
        HashMap::new()
    } else {
        counts_by_type(conn, reseller.id, &limited, now)?
    };
    // A trial account: families this IP had a trial of, and those its account's trial
    // closed (ended, or holding its servers: `licenses::closed_trial_families`).
    let trial_families: BTreeSet<String> = if reseller.trial {
        let mut families: BTreeSet<String> = trial_uses::table
            .filter(trial_uses::ip.eq(ip_text))
            .select(trial_uses::family)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        families.extend(super::licenses::closed_trial_families(
            conn,
            reseller.id,
            now,
        )?);
        families
    } else {
        BTreeSet::new()
    };
    let available = enabled
        .into_iter()
        .filter(|enabled| {
            let t = &enabled.license_type;
            let within_limit = enabled
                .limit
                .is_none_or(|limit| used.get(&t.id).copied().unwrap_or(0) < i64::from(limit));
            !taken_slots.contains(t.slot().as_str())
                && !on_ip.iter().any(|(_, type_id, _, _)| *type_id == t.id)
                && within_limit
                && !trial_families.contains(&t.family)
        })
        .map(|enabled| enabled.license_type.id)
        .collect();
    Ok(Availability {
        available,
        owned: owned.into_iter().collect(),
    })
}

fn counts_by_type(
    conn: &mut DbConnection,
    reseller_id: i64,
    types: &[i32],
    now: NaiveDateTime,
) -> Result<HashMap<i32, i64>, DomainError> {
    let rows: Vec<(i32, i64)> = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::type_id.eq_any(types))
        .filter(held_at(now))
        .group_by(ip_licenses::type_id)
        .select((ip_licenses::type_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Where a page of the caller's licenses starts: after this (ip, type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub ip: String,
    pub type_id: i32,
}

/// One page of the licenses the caller holds at `now` (expired trials are not held),
/// ordered by (ip, type), after `after`. Keyset paging keeps each query cheap and the
/// server's memory bounded however many licenses there are.
pub fn license_page(
    conn: &mut DbConnection,
    reseller_id: i64,
    after: Option<&ListCursor>,
    page_size: i64,
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    let mut query = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(licensed_at(now))
        .select(License::as_select())
        .order((ip_licenses::ip, ip_licenses::type_id))
        .limit(page_size)
        .into_boxed();
    if let Some(cursor) = after {
        // `ip >= cursor` first: a range both databases seek to on the index (reseller_id,
        // ip, type_id). The OR alone is not a range, so each page walked the index from the
        // reseller's first license and list.json grew with the square of its size (7.9 s
        // for 1,000,000 licenses, docs/benchmarks.md "Growth").
        query = query.filter(ip_licenses::ip.ge(cursor.ip.clone())).filter(
            ip_licenses::ip.gt(cursor.ip.clone()).or(ip_licenses::ip
                .eq(cursor.ip.clone())
                .and(ip_licenses::type_id.gt(cursor.type_id))),
        );
    }
    Ok(query.load(conn)?)
}

/// The licenses the caller holds at `now` on the given IPs, ordered by (ip, type).
pub fn licenses_on_ips(
    conn: &mut DbConnection,
    reseller_id: i64,
    ips: &[LicenseIp],
    now: NaiveDateTime,
) -> Result<Vec<License>, DomainError> {
    let texts: Vec<String> = ips.iter().map(LicenseIp::to_string).collect();
    Ok(ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(licensed_at(now))
        .filter(ip_licenses::ip.eq_any(texts))
        .select(License::as_select())
        .order((ip_licenses::ip, ip_licenses::type_id))
        .load(conn)?)
}

/// How many licenses of each type the reseller holds at `now`.
pub fn held_by_type(
    conn: &mut DbConnection,
    reseller_id: i64,
    now: NaiveDateTime,
) -> Result<HashMap<i32, i64>, DomainError> {
    let rows: Vec<(i32, i64)> = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(licensed_at(now))
        .group_by(ip_licenses::type_id)
        .select((ip_licenses::type_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// How many licenses each reseller holds at `now`.
pub fn held_by_reseller(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<HashMap<i64, i64>, DomainError> {
    let rows: Vec<(i64, i64)> = ip_licenses::table
        .filter(licensed_at(now))
        .group_by(ip_licenses::reseller_id)
        .select((ip_licenses::reseller_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Every license on `ip`, whoever holds it (expired trials included, marked by the row).
pub fn holders_of(
    conn: &mut DbConnection,
    ip: &LicenseIp,
) -> Result<Vec<(License, String)>, DomainError> {
    Ok(ip_licenses::table
        .inner_join(crate::db::schema::resellers::table)
        .filter(ip_licenses::ip.eq(ip.to_string()))
        .select((License::as_select(), crate::db::schema::resellers::login))
        .order(ip_licenses::type_id)
        .load(conn)?)
}

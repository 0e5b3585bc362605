//! Reconcile's rules: what differs between an upstream's list and the local ledger of the
//! types carried to it, and what a repair may do about each difference.
//!
//! Only an IP whose local state stayed the same across the upstream's answer is judged: the
//! ledger is read before the upstream's list is fetched and again after, and an IP with an
//! intent, a change still waiting to be carried, or any change between the two reads is "in
//! flight" (the live relay is settling it), never a difference.
//!
//! A repair touches only what ipls's records say is ipls's: a license held locally (ipls made
//! it, so it is carried upstream) or held upstream under a claim (ipls put it there). A
//! license held upstream that no claim names is foreign: reported, left alone, or adopted
//! into a local reseller on the operator's word.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ops::{self, NewOp, OpKind};
use super::{claims, ops::PENDING};
use crate::db::models::{License, NewLicense, NewLicenseEvent, Reseller, Upstream};
use crate::db::schema::{
    ip_licenses, license_events, license_suspensions, upstream_ops, upstream_routes,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::catalogue::find_type;
use crate::domain::events::{self, Action, EventContext};
use crate::error::DomainError;

/// The history's action for a repair made at an upstream (not a license change here: usage
/// and webhooks leave it alone).
pub const REPAIR_ACTION: &str = "upstream_repair";

/// One local row of a type carried to the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRow {
    pub type_id: i32,
    pub reseller_id: i64,
    pub relay_state: Option<String>,
    pub els_allowed: bool,
}

/// The local side of one upstream, read in one go.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// IP → its rows of types carried to the upstream.
    pub licenses: HashMap<String, Vec<LocalRow>>,
    pub claims: HashSet<(String, i32)>,
    /// IPs with a change still waiting to be carried.
    pub busy: HashSet<String>,
    /// The types carried to the upstream, with their slot (an exclusive family's name).
    pub routed: BTreeMap<i32, String>,
}

impl Snapshot {
    fn same_on(&self, other: &Snapshot, ip: &str) -> bool {
        let claimed = |s: &Snapshot| -> BTreeSet<i32> {
            self.routed
                .keys()
                .filter(|t| s.claims.contains(&(ip.to_string(), **t)))
                .copied()
                .collect()
        };
        self.licenses.get(ip) == other.licenses.get(ip)
            && claimed(self) == claimed(other)
            && !self.busy.contains(ip)
            && !other.busy.contains(ip)
    }
}

/// Reads the local side of `upstream_id`.
pub fn snapshot(conn: &mut DbConnection, upstream_id: i64) -> Result<Snapshot, DomainError> {
    let routed_types: Vec<i32> = upstream_routes::table
        .filter(upstream_routes::upstream_id.eq(upstream_id))
        .select(upstream_routes::type_id)
        .load(conn)?;
    let mut routed = BTreeMap::new();
    for type_id in &routed_types {
        if let Some(t) = find_type(conn, *type_id)? {
            routed.insert(*type_id, t.slot());
        }
    }
    // A suspended license was removed upstream on purpose: it is not expected there.
    let suspended = diesel::dsl::exists(
        license_suspensions::table.filter(license_suspensions::license_id.eq(ip_licenses::id)),
    );
    let rows: Vec<(String, i32, i64, Option<String>, bool)> = ip_licenses::table
        .filter(ip_licenses::type_id.eq_any(&routed_types))
        .filter(diesel::dsl::not(suspended))
        .select((
            ip_licenses::ip,
            ip_licenses::type_id,
            ip_licenses::reseller_id,
            ip_licenses::relay_state,
            ip_licenses::els_allowed,
        ))
        .order((ip_licenses::ip, ip_licenses::type_id))
        .load(conn)?;
    let mut licenses: HashMap<String, Vec<LocalRow>> = HashMap::new();
    for (ip, type_id, reseller_id, relay_state, els_allowed) in rows {
        licenses.entry(ip).or_default().push(LocalRow {
            type_id,
            reseller_id,
            relay_state,
            els_allowed,
        });
    }
    let busy: Vec<String> = upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::state.eq(PENDING))
        .select(upstream_ops::ip)
        .distinct()
        .load(conn)?;
    Ok(Snapshot {
        licenses,
        claims: claims::all_of(conn, upstream_id)?,
        busy: busy.into_iter().collect(),
        routed,
    })
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Held upstream under ipls's claim, not held here: money lost.
    UpstreamOnly,
    /// Held upstream, never ipls's: reported, left alone unless adopted.
    Foreign,
    /// Held here, not upstream: a server that is not licensed.
    LocalOnly,
    /// Both hold the IP in one exclusive family, with different types.
    TypeDiffers,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::UpstreamOnly,
        Kind::Foreign,
        Kind::LocalOnly,
        Kind::TypeDiffers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::UpstreamOnly => "upstream-only",
            Kind::Foreign => "foreign",
            Kind::LocalOnly => "local-only",
            Kind::TypeDiffers => "type-differs",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub kind: Kind,
    pub ip: String,
    pub upstream_type: Option<i32>,
    pub local_type: Option<i32>,
    /// The local holder (local-only, type-differs).
    pub reseller_id: Option<i64>,
    pub els_allowed: bool,
    /// Whether ipls claimed the upstream's license (type-differs: may it be changed there).
    pub claimed: bool,
}

/// The outcome of one comparison.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub differences: Vec<Difference>,
    /// Licenses held the same on both sides.
    pub matching: usize,
    /// IPs left to the live relay (changing while compared).
    pub in_flight: usize,
    /// Claims of licenses neither side holds (registrations refused or withdrawn after a
    /// crash): housekeeping, not differences (`prune_claim`).
    pub stale_claims: Vec<(String, i32)>,
}

/// Compares the upstream's licenses (IP → types, of the carried types only) with the local
/// ledger read `before` and `after` fetching them.
pub fn compare(
    upstream: &HashMap<String, BTreeSet<i32>>,
    before: &Snapshot,
    after: &Snapshot,
) -> Comparison {
    let mut ips: BTreeSet<&String> = upstream.keys().collect();
    ips.extend(after.licenses.keys());
    ips.extend(before.licenses.keys());
    ips.extend(after.claims.iter().map(|(ip, _)| ip));
    let mut out = Comparison::default();
    let empty = BTreeSet::new();
    for ip in ips {
        let held_up = upstream.get(ip).unwrap_or(&empty);
        let rows = after.licenses.get(ip).map(Vec::as_slice).unwrap_or(&[]);
        let settled: BTreeSet<i32> = rows
            .iter()
            .filter(|r| r.relay_state.is_none())
            .map(|r| r.type_id)
            .collect();
        let intents = rows.iter().any(|r| r.relay_state.is_some());
        if held_up == &settled && !intents {
            out.matching += settled.len();
            if before.same_on(after, ip) {
                let unheld = after.routed.keys().filter(|t| !held_up.contains(t));
                for t in unheld {
                    if after.claims.contains(&(ip.clone(), *t)) {
                        out.stale_claims.push((ip.clone(), *t));
                    }
                }
            }
            continue;
        }
        if intents || !before.same_on(after, ip) {
            out.in_flight += 1;
            continue;
        }
        out.matching += held_up.intersection(&settled).count();
        let mut only_up: Vec<i32> = held_up.difference(&settled).copied().collect();
        let only_here: Vec<i32> = settled.difference(held_up).copied().collect();
        let row_of = |t: i32| rows.iter().find(|r| r.type_id == t);
        let claimed = |t: i32| after.claims.contains(&(ip.clone(), t));
        for local in only_here {
            let slot = after.routed.get(&local);
            let row = row_of(local);
            let pair = only_up
                .iter()
                .position(|u| slot.is_some() && after.routed.get(u) == slot);
            let upstream_type = pair.map(|i| only_up.remove(i));
            out.differences.push(Difference {
                kind: if upstream_type.is_some() {
                    Kind::TypeDiffers
                } else {
                    Kind::LocalOnly
                },
                ip: ip.clone(),
                upstream_type,
                local_type: Some(local),
                reseller_id: row.map(|r| r.reseller_id),
                els_allowed: row.is_some_and(|r| r.els_allowed),
                claimed: upstream_type.is_some_and(claimed),
            });
        }
        for up in only_up {
            out.differences.push(Difference {
                kind: if claimed(up) {
                    Kind::UpstreamOnly
                } else {
                    Kind::Foreign
                },
                ip: ip.clone(),
                upstream_type: Some(up),
                local_type: None,
                reseller_id: None,
                els_allowed: false,
                claimed: claimed(up),
            });
        }
    }
    out
}

/// What a repair did about one difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Changes queued for the upstream (carried by the relay).
    Queued(String),
    /// A foreign license taken in under a local reseller.
    Adopted,
    /// Left as it is, and why.
    LeftAlone(String),
}

impl Repair {
    /// What a report says was done: `reported` when no repair was asked.
    pub fn describe(repair: Option<&Repair>) -> String {
        match repair {
            None => "reported".to_string(),
            Some(Repair::Queued(what)) => what.clone(),
            Some(Repair::Adopted) => "adopted".to_string(),
            Some(Repair::LeftAlone(why)) => format!("left alone: {why}"),
        }
    }
}

/// The repair of one difference, as the records allow (see the module's comment). The IP's
/// local state is read again in the transaction: a change since the comparison leaves it.
pub fn repair(
    conn: &mut DbConnection,
    upstream: &Upstream,
    difference: &Difference,
    adopt_into: Option<&Reseller>,
    source: &str,
    now: NaiveDateTime,
) -> Result<Repair, DomainError> {
    write_transaction(conn, |c| {
        let settled: Vec<License> = ip_licenses::table
            .filter(ip_licenses::ip.eq(&difference.ip))
            .select(License::as_select())
            .load(c)?;
        let here = |t: Option<i32>| settled.iter().find(|l| Some(l.type_id) == t).cloned();
        let unchanged = match difference.kind {
            Kind::UpstreamOnly | Kind::Foreign => here(difference.upstream_type).is_none(),
            Kind::LocalOnly | Kind::TypeDiffers => {
                here(difference.local_type).is_some_and(|l| l.relay_state.is_none())
            }
        };
        if !unchanged || ops::pending_on(c, upstream.id, &difference.ip)? > 0 {
            return Ok(Repair::LeftAlone("changed since the comparison".into()));
        }
        let queue = |c: &mut DbConnection, kind: OpKind, type_id: i32, type_to: Option<i32>| {
            ops::enqueue(
                c,
                &NewOp {
                    upstream_id: upstream.id,
                    ip: &difference.ip,
                    kind,
                    type_id,
                    els_allowed: Some(difference.els_allowed),
                    type_to,
                    source,
                    now,
                    not_before: None,
                },
            )
        };
        let (Some(up), local) = (difference.upstream_type, difference.local_type) else {
            // Local-only: register it upstream.
            let Some(local) = difference.local_type else {
                return Ok(Repair::LeftAlone("nothing to repair".into()));
            };
            queue(c, OpKind::Register, local, None)?;
            let what = format!("register type {local} at upstream {}", upstream.name);
            write_repair(c, difference, &what, source, now)?;
            return Ok(Repair::Queued(what));
        };
        let what = match (difference.kind, local) {
            (Kind::UpstreamOnly, _) => {
                queue(c, OpKind::Remove, up, None)?;
                format!("remove type {up} at upstream {}", upstream.name)
            }
            (Kind::TypeDiffers, Some(local)) if difference.claimed => {
                queue(c, OpKind::Remove, up, None)?;
                queue(c, OpKind::Register, local, None)?;
                format!(
                    "replace type {up} with type {local} at upstream {}",
                    upstream.name
                )
            }
            (Kind::Foreign, _) => {
                return match adopt_into {
                    Some(reseller) => {
                        adopt(c, upstream, difference, up, reseller, source, now)?;
                        Ok(Repair::Adopted)
                    }
                    None => Ok(Repair::LeftAlone(
                        "not ipls's: adopt it with --adopt RESELLER, or remove it upstream".into(),
                    )),
                };
            }
            _ => {
                return Ok(Repair::LeftAlone(
                    "the upstream's license is not ipls's: change one side by hand".into(),
                ))
            }
        };
        write_repair(c, difference, &what, source, now)?;
        Ok(Repair::Queued(what))
    })
}

/// Drops a claim neither side needs: no local row of (ip, type) and nothing waiting on the
/// IP, read again in the transaction. Returns whether it went.
pub fn prune_claim(
    conn: &mut DbConnection,
    upstream_id: i64,
    ip: &str,
    type_id: i32,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let local: i64 = ip_licenses::table
            .filter(ip_licenses::ip.eq(ip))
            .filter(ip_licenses::type_id.eq(type_id))
            .count()
            .get_result(c)?;
        if local > 0 || ops::pending_on(c, upstream_id, ip)? > 0 {
            return Ok(false);
        }
        claims::unclaim(c, upstream_id, ip, type_id)?;
        Ok(true)
    })
}

/// The history row of a repair at the upstream.
fn write_repair(
    conn: &mut DbConnection,
    difference: &Difference,
    what: &str,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let detail = format!("reconcile ({}): {what}", difference.kind.as_str());
    diesel::insert_into(license_events::table)
        .values(NewLicenseEvent {
            at: now,
            reseller_id: difference.reseller_id,
            action: REPAIR_ACTION,
            ip: &difference.ip,
            type_id: difference.local_type.or(difference.upstream_type),
            detail: Some(detail),
            source: Some(source),
            server_id: None,
        })
        .execute(conn)?;
    Ok(())
}

/// Takes a foreign license in: a local license of `reseller`, claimed, its history saying so.
fn adopt(
    conn: &mut DbConnection,
    upstream: &Upstream,
    difference: &Difference,
    type_id: i32,
    reseller: &Reseller,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let license_type = find_type(conn, type_id)?
        .ok_or_else(|| DomainError::not_found(format!("unknown license type {type_id}")))?;
    diesel::insert_into(ip_licenses::table)
        .values(NewLicense {
            reseller_id: reseller.id,
            ip: &difference.ip,
            type_id,
            slot: &license_type.slot(),
            els_allowed: false,
            created_at: now,
            trial_expires_at: None,
            relay_state: None,
            note: None,
            external_id: None,
            ip_key: crate::domain::ip::LicenseIp::order_key_of(&difference.ip),
        })
        .execute(conn)?;
    claims::claim(conn, upstream.id, &difference.ip, type_id, now)?;
    let context = EventContext {
        at: now,
        reseller_id: reseller.id,
        login: &reseller.login,
        source,
    };
    let detail = format!("adopted from upstream {}", upstream.name);
    events::record(
        conn,
        context,
        Action::Register,
        &difference.ip,
        type_id,
        Some(detail),
    )
}

/// Counts by kind, for the summary line, the metrics and `upstream show`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub upstream_only: usize,
    pub foreign: usize,
    pub local_only: usize,
    pub type_differs: usize,
    pub in_flight: usize,
    pub matching: usize,
    pub repaired: usize,
    pub adopted: usize,
}

impl Counts {
    pub fn of(kind: Kind, counts: &Counts) -> usize {
        match kind {
            Kind::UpstreamOnly => counts.upstream_only,
            Kind::Foreign => counts.foreign,
            Kind::LocalOnly => counts.local_only,
            Kind::TypeDiffers => counts.type_differs,
        }
    }

    pub fn add(&mut self, kind: Kind) {
        match kind {
            Kind::UpstreamOnly => self.upstream_only += 1,
            Kind::Foreign => self.foreign += 1,
            Kind::LocalOnly => self.local_only += 1,
            Kind::TypeDiffers => self.type_differs += 1,
        }
    }

    /// Differences found (repaired ones included: they remain until the upstream confirms).
    pub fn differences(&self) -> usize {
        self.upstream_only + self.foreign + self.local_only + self.type_differs
    }

    /// The one-line summary.
    pub fn line(&self, upstream: &str) -> String {
        format!(
            "upstream {upstream}: upstream-only {}, foreign {}, local-only {}, type-differs {}, \
             in-flight {}, matching {}, repaired {}, adopted {}",
            self.upstream_only,
            self.foreign,
            self.local_only,
            self.type_differs,
            self.in_flight,
            self.matching,
            self.repaired,
            self.adopted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(rows: &[(&str, i32, Option<&str>)], claims: &[(&str, i32)]) -> Snapshot {
        let mut s = Snapshot {
            routed: [
                (1, "cloudlinux".to_string()),
                (2, "cloudlinux".to_string()),
                (16, "16".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Snapshot::default()
        };
        for (ip, t, state) in rows {
            s.licenses
                .entry(ip.to_string())
                .or_default()
                .push(LocalRow {
                    type_id: *t,
                    reseller_id: 7,
                    relay_state: state.map(String::from),
                    els_allowed: false,
                });
        }
        s.claims = claims.iter().map(|(ip, t)| (ip.to_string(), *t)).collect();
        s
    }

    fn held(rows: &[(&str, i32)]) -> HashMap<String, BTreeSet<i32>> {
        let mut out: HashMap<String, BTreeSet<i32>> = HashMap::new();
        for (ip, t) in rows {
            out.entry(ip.to_string()).or_default().insert(*t);
        }
        out
    }

    #[test]
    fn every_kind_is_found() {
        let local = snapshot(
            &[
                ("10.0.0.1", 1, None),
                ("10.0.0.2", 16, None),
                ("10.0.0.4", 2, None),
            ],
            &[("10.0.0.1", 1), ("10.0.0.3", 16), ("10.0.0.4", 1)],
        );
        let upstream = held(&[
            ("10.0.0.1", 1),
            ("10.0.0.3", 16),
            ("10.0.0.4", 1),
            ("10.0.0.5", 16),
        ]);
        let found = compare(&upstream, &local, &local);
        let kinds: Vec<(Kind, &str)> = found
            .differences
            .iter()
            .map(|d| (d.kind, d.ip.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::LocalOnly, "10.0.0.2"),
                (Kind::UpstreamOnly, "10.0.0.3"),
                (Kind::TypeDiffers, "10.0.0.4"),
                (Kind::Foreign, "10.0.0.5"),
            ]
        );
        assert_eq!(found.matching, 1);
        assert!(found.differences[2].claimed);
    }

    #[test]
    fn claims_neither_side_needs_are_stale() {
        let local = snapshot(
            &[("10.0.0.1", 1, None)],
            &[("10.0.0.1", 1), ("10.0.0.2", 16)],
        );
        let upstream = held(&[("10.0.0.1", 1)]);
        let found = compare(&upstream, &local, &local);
        assert!(found.differences.is_empty());
        assert_eq!(found.stale_claims, [("10.0.0.2".to_string(), 16)]);
    }

    #[test]
    fn what_changes_while_compared_is_in_flight() {
        let before = snapshot(&[("10.0.0.1", 16, None)], &[("10.0.0.1", 16)]);
        let after = snapshot(&[], &[("10.0.0.1", 16)]);
        let upstream = held(&[("10.0.0.1", 16)]);
        let found = compare(&upstream, &before, &after);
        assert!(found.differences.is_empty());
        assert_eq!(found.in_flight, 1);
        let intent = snapshot(&[("10.0.0.9", 16, Some("registering"))], &[]);
        let found = compare(&HashMap::new(), &intent, &intent);
        assert!(found.differences.is_empty());
        assert_eq!(found.in_flight, 1);
    }
}

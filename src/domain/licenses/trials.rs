//! Trials as CLN's FAQ states them: "A trial can be started only once for each product in an
//! account. The trial period is 30 days. You can register one server for CloudLinux OS and
//! Imunify360 trials and unlimited number of servers for KernelCare licenses." And, per IP:
//! an address that had a trial of a family gets that family under a paid license only.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::NewTrialUse;
use crate::db::schema::{account_trials, ip_licenses, license_types, trial_uses};
use crate::db::DbConnection;
use crate::domain::catalogue::LicenseType;
use crate::domain::Actor;
use crate::error::DomainError;

/// Servers a trial account may hold at once per product family; a family not listed may
/// hold any number (KernelCare, ELS).
pub const TRIAL_SERVERS: [(&str, i64); 2] = [("cloudlinux", 1), ("imunify", 1)];

fn servers_allowed(family: &str) -> Option<i64> {
    TRIAL_SERVERS
        .iter()
        .find(|(f, _)| *f == family)
        .map(|(_, most)| *most)
}

/// The reseller's trial servers of `family` held at `now`: (IP, type).
fn held_trial_servers(
    conn: &mut DbConnection,
    reseller_id: i64,
    family: &str,
    now: NaiveDateTime,
) -> Result<Vec<(String, i32)>, DomainError> {
    Ok(ip_licenses::table
        .inner_join(license_types::table)
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(license_types::family.eq(family))
        .filter(ip_licenses::trial_expires_at.gt(now))
        .select((ip_licenses::ip, ip_licenses::type_id))
        .load(conn)?)
}

/// The families a trial account cannot register now, whatever the IP: its trial of them
/// ended, or holds as many servers as it may (for availability.json).
pub fn closed_trial_families(
    conn: &mut DbConnection,
    reseller_id: i64,
    now: NaiveDateTime,
) -> Result<std::collections::BTreeSet<String>, DomainError> {
    let mut closed: std::collections::BTreeSet<String> = account_trials::table
        .filter(account_trials::reseller_id.eq(reseller_id))
        .filter(account_trials::ends_at.le(now))
        .select(account_trials::family)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for (family, most) in TRIAL_SERVERS {
        if held_trial_servers(conn, reseller_id, family, now)?.len() as i64 >= most {
            closed.insert(family.to_string());
        }
    }
    Ok(closed)
}

/// The end of the caller's trial of `wanted`'s family for a new server on `ip`: the family's
/// trial starts with its first server (recorded here) and ends `length` later for every
/// server of it. Refused once that trial has ended, and for a server past the family's
/// `TRIAL_SERVERS`. Called under the reseller's row lock.
pub(super) fn account_trial_end(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    wanted: &LicenseType,
    ip: &str,
    length: Duration,
) -> Result<NaiveDateTime, DomainError> {
    let me = actor.reseller.id;
    let family = wanted.family.as_str();
    let started: Option<(NaiveDateTime, NaiveDateTime)> = account_trials::table
        .filter(account_trials::reseller_id.eq(me))
        .filter(account_trials::family.eq(family))
        .select((account_trials::started_at, account_trials::ends_at))
        .first(conn)
        .optional()?;
    let Some((started, ends)) = started else {
        let ends = actor.now + length;
        diesel::insert_into(account_trials::table)
            .values((
                account_trials::reseller_id.eq(me),
                account_trials::family.eq(family),
                account_trials::started_at.eq(actor.now),
                account_trials::ends_at.eq(ends),
            ))
            .execute(conn)?;
        return Ok(ends);
    };
    if ends <= actor.now {
        return Err(DomainError::refused(format!(
            "A trial can be started only once for each product in an account: this account's \
             {family} trial started {} and ended {} (IP {ip}); register it under a paid license",
            started.format("%Y-%m-%d"),
            ends.format("%Y-%m-%d")
        )));
    }
    let held = held_trial_servers(conn, me, family, actor.now)?;
    if let Some(most) = servers_allowed(family) {
        if held.len() as i64 >= most {
            let (other_ip, other_type) = held.first().cloned().unwrap_or_default();
            return Err(DomainError::refused(format!(
                "A trial holds {most} server for {family} licenses: IP {other_ip} already has \
                 type {other_type} under this account's trial; remove it first, or register \
                 IP {ip} under a paid license"
            )));
        }
    }
    Ok(ends)
}

/// A trial reseller may register each product family on an IP once, ever.
pub(super) fn use_trial(
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

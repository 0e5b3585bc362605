//! Suspending a license (a customer who has not paid) and resuming it: a suspended license
//! keeps its row, so its IP and type stay the reseller's and its limit still counts it; its
//! server is told at check-in; usage counts its days apart; carried to an upstream, it is
//! removed there (the partner stops paying) and registered again on resume. With a grace
//! period it is removed when that runs out, unless resumed first.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::{as_read, changed_as_read, held_or_not_found, with_retries};
use crate::db::models::License;
use crate::db::schema::{ip_licenses, license_suspensions};
use crate::db::{write_transaction, DbConnection};
use crate::domain::events::{self, Action, EventContext};
use crate::domain::ip::LicenseIp;
use crate::domain::upstream::ops::{self, Change};
use crate::domain::{ensure_active, refuse_nul, Actor};
use crate::error::DomainError;

/// Longest suspension reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// Longest grace period before a suspended license is removed.
pub const MAX_GRACE_DAYS: i64 = 366;
/// The history's `detail` of a removal that ended a suspension's grace period.
pub const GRACE_ENDED: &str = "suspended, grace period ended";

/// A license's suspension: since when, why, and when it is removed unless resumed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = license_suspensions)]
pub struct Suspension {
    pub license_id: i64,
    pub suspended_at: NaiveDateTime,
    pub reason: String,
    pub remove_at: Option<NaiveDateTime>,
}

/// A suspension reason as given: trimmed, 1 to `MAX_REASON_CHARS` characters.
pub fn reason_text(text: &str) -> Result<String, DomainError> {
    refuse_nul("reason", text)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::invalid(format!(
            "a suspension needs a reason of 1 to {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

/// The suspensions of these licenses, by license id.
pub fn suspensions_of(
    conn: &mut DbConnection,
    license_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Suspension>, DomainError> {
    Ok(license_suspensions::table
        .filter(license_suspensions::license_id.eq_any(license_ids))
        .select(Suspension::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.license_id, s))
        .collect())
}

/// Refuses a change that cannot apply to a suspended license (move, convert, ELS): resume
/// it first, so that an upstream hears the change on a license it holds.
pub(super) fn refuse_suspended(
    conn: &mut DbConnection,
    licenses: &[License],
) -> Result<(), DomainError> {
    let ids: Vec<i64> = licenses.iter().map(|l| l.id).collect();
    let suspended = suspensions_of(conn, &ids)?;
    match licenses.iter().find(|l| suspended.contains_key(&l.id)) {
        None => Ok(()),
        Some(l) => Err(DomainError::refused(format!(
            "IP {} type {} is suspended ({}); resume it first",
            l.ip, l.type_id, suspended[&l.id].reason
        ))),
    }
}

/// Suspends the caller's license of `type_id` on `ip` (every type it holds there when None)
/// with `reason`; with `remove_after`, it is removed that long from now unless resumed.
/// Licenses already suspended are left as they are. Returns the licenses suspended now.
pub fn suspend(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    type_id: Option<i32>,
    reason: &str,
    remove_after: Option<Duration>,
) -> Result<Vec<License>, DomainError> {
    ensure_active(actor.reseller)?;
    let reason = reason_text(reason)?;
    if remove_after.is_some_and(|d| d <= Duration::zero() || d > Duration::days(MAX_GRACE_DAYS)) {
        return Err(DomainError::refused(format!(
            "remove_after is more than nothing and at most {MAX_GRACE_DAYS} days"
        )));
    }
    let ip = ip.to_string();
    with_retries(conn, |c| {
        let mine = held_or_not_found(c, actor.reseller.id, &ip, type_id)?;
        let ids: Vec<i64> = mine.iter().map(|l| l.id).collect();
        let already = suspensions_of(c, &ids)?;
        let remove_at = remove_after.map(|d| actor.now + d);
        let mut suspended = Vec::new();
        for license in mine.into_iter().filter(|l| !already.contains_key(&l.id)) {
            diesel::insert_into(license_suspensions::table)
                .values((
                    license_suspensions::license_id.eq(license.id),
                    license_suspensions::suspended_at.eq(actor.now),
                    license_suspensions::reason.eq(&reason),
                    license_suspensions::remove_at.eq(remove_at),
                ))
                .execute(c)?;
            ops::carry(
                c,
                &ip,
                license.type_id,
                Change::Remove,
                actor.source,
                actor.now,
            )?;
            let mut extra = serde_json::Map::new();
            extra.insert("reason".into(), json!(reason));
            extra.insert("remove_at".into(), json!(remove_at.map(crate::wire::iso)));
            let detail = Some(format!("reason={reason}"));
            events::record_with(
                c,
                actor.into(),
                Action::Suspend,
                &ip,
                license.type_id,
                detail,
                extra,
            )?;
            suspended.push(license);
        }
        Ok(suspended)
    })
}

/// Resumes the caller's suspended license(s) on `ip`. Returns the licenses resumed now (none
/// when none was suspended).
pub fn resume(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    ip: &LicenseIp,
    type_id: Option<i32>,
) -> Result<Vec<License>, DomainError> {
    ensure_active(actor.reseller)?;
    let ip = ip.to_string();
    with_retries(conn, |c| {
        let mine = held_or_not_found(c, actor.reseller.id, &ip, type_id)?;
        let ids: Vec<i64> = mine.iter().map(|l| l.id).collect();
        let suspended = suspensions_of(c, &ids)?;
        let mut resumed = Vec::new();
        for license in mine.into_iter().filter(|l| suspended.contains_key(&l.id)) {
            let deleted = diesel::delete(
                license_suspensions::table.filter(license_suspensions::license_id.eq(license.id)),
            )
            .execute(c)?;
            changed_as_read(deleted)?;
            let register = Change::Register {
                els_allowed: license.els_allowed,
            };
            ops::carry(c, &ip, license.type_id, register, actor.source, actor.now)?;
            events::record(c, actor.into(), Action::Resume, &ip, license.type_id, None)?;
            resumed.push(license);
        }
        Ok(resumed)
    })
}

/// Removes suspended licenses whose grace period ran out (each with a `remove` history row
/// whose detail is `GRACE_ENDED`, and its `license.removed` webhook), at most `batch` per
/// call. Returns how many. Run by the delivery worker, beside the trials' end; one resumed,
/// removed or removed by another instance first is skipped. Nothing is carried to an
/// upstream: the suspension removed it there already.
pub fn remove_due_suspensions(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    batch: i64,
) -> Result<usize, DomainError> {
    let due: Vec<(License, Suspension)> = ip_licenses::table
        .inner_join(license_suspensions::table)
        .filter(license_suspensions::remove_at.le(now))
        .order(license_suspensions::remove_at)
        .limit(batch)
        .select((License::as_select(), Suspension::as_select()))
        .load(conn)?;
    let mut removed = 0;
    for (license, suspension) in due {
        let ended = write_transaction(conn, |c| {
            let still = license_suspensions::table
                .filter(license_suspensions::license_id.eq(license.id))
                .filter(license_suspensions::remove_at.eq(suspension.remove_at))
                .count()
                .get_result::<i64>(c)?;
            if still == 0 {
                return Ok(false);
            }
            let deleted = diesel::delete(as_read(&license)).execute(c)?;
            changed_as_read(deleted)?;
            let login = crate::domain::resellers::login_of(c, license.reseller_id)?;
            let context = EventContext {
                at: now,
                reseller_id: license.reseller_id,
                login: &login,
                source: "ipls",
            };
            let detail = Some(GRACE_ENDED.to_string());
            events::record(
                c,
                context,
                Action::Remove,
                &license.ip,
                license.type_id,
                detail,
            )?;
            Ok(true)
        });
        match ended {
            Ok(true) => removed += 1,
            Ok(false) | Err(DomainError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

//! Events for machines about licenses that nobody changed: `license.stale` when a server has
//! not checked in for `stale_after` (once per silence: due again only after the server has
//! checked in since the last one), and `trial.expiring` when a trial ends within
//! `TRIAL_WARNING_DAYS` (once per trial). The delivery worker's pass queues them, each marked
//! in `license_notices` in the transaction that queues it, so that several instances and
//! restarts queue each once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::db::models::License;
use crate::db::schema::{ip_licenses, license_notices, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::webhooks::{outbox, EventType};
use crate::error::DomainError;

/// How long before a trial ends its `trial.expiring` is queued.
pub const TRIAL_WARNING_DAYS: i64 = 3;

/// A license whose notice is due, with its reseller's login.
type Due = (License, String);

/// Queues `license.stale` for up to `batch` servers silent for `stale_after` at `now`; returns
/// how many.
pub fn notice_stale(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    stale_after: Duration,
    batch: i64,
) -> Result<usize, DomainError> {
    let since = now - stale_after;
    // Noticed already for this silence: after the last check-in (or ever, for a server that
    // never checked in since the license was made or moved).
    let noticed = license_notices::table
        .filter(license_notices::license_id.eq(ip_licenses::id))
        .filter(license_notices::stale_noticed_at.is_not_null())
        .filter(
            ip_licenses::last_checkin
                .is_null()
                .or(license_notices::stale_noticed_at.gt(ip_licenses::last_checkin)),
        );
    let due: Vec<Due> = ip_licenses::table
        .inner_join(resellers::table)
        .filter(ip_licenses::relay_state.is_null())
        .filter(crate::domain::held_at(now))
        .filter(crate::domain::silent_since(since))
        .filter(diesel::dsl::not(diesel::dsl::exists(noticed)))
        .order(ip_licenses::id)
        .limit(batch)
        .select((License::as_select(), resellers::login))
        .load(conn)?;
    let mut queued = 0;
    for (license, login) in due {
        let silent_since = license.last_checkin.unwrap_or(license.created_at);
        let data = json!({
            "reseller": login,
            "reseller_id": license.reseller_id,
            "ip": license.ip,
            "type": license.type_id,
            "last_checkin": license.last_checkin.map(crate::wire::iso),
            "silent_since": crate::wire::iso(silent_since),
            "at": crate::wire::iso(now),
        });
        if mark(conn, &license, now, Mark::Stale, data)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Queues `trial.expiring` for up to `batch` trials that end within `TRIAL_WARNING_DAYS` of
/// `now`; returns how many.
pub fn notice_expiring_trials(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    batch: i64,
) -> Result<usize, DomainError> {
    let warned = license_notices::table
        .filter(license_notices::license_id.eq(ip_licenses::id))
        .filter(license_notices::trial_warned_at.is_not_null());
    let due: Vec<Due> = ip_licenses::table
        .inner_join(resellers::table)
        .filter(ip_licenses::relay_state.is_null())
        .filter(ip_licenses::trial_expires_at.gt(now))
        .filter(ip_licenses::trial_expires_at.le(now + Duration::days(TRIAL_WARNING_DAYS)))
        .filter(diesel::dsl::not(diesel::dsl::exists(warned)))
        .order(ip_licenses::trial_expires_at)
        .limit(batch)
        .select((License::as_select(), resellers::login))
        .load(conn)?;
    let mut queued = 0;
    for (license, login) in due {
        let data = json!({
            "reseller": login,
            "reseller_id": license.reseller_id,
            "ip": license.ip,
            "type": license.type_id,
            "trial_ends": license.trial_expires_at.map(crate::wire::iso),
            "at": crate::wire::iso(now),
        });
        if mark(conn, &license, now, Mark::TrialWarned, data)? {
            queued += 1;
        }
    }
    Ok(queued)
}

#[derive(Clone, Copy)]
enum Mark {
    Stale,
    TrialWarned,
}

/// Marks the notice and queues its event in one transaction; false when another instance
/// marked it first.
fn mark(
    conn: &mut DbConnection,
    license: &License,
    now: NaiveDateTime,
    mark: Mark,
    data: serde_json::Value,
) -> Result<bool, DomainError> {
    let marked = write_transaction(conn, |c| {
        let existing: Option<(Option<NaiveDateTime>, Option<NaiveDateTime>)> =
            license_notices::table
                .find(license.id)
                .select((
                    license_notices::stale_noticed_at,
                    license_notices::trial_warned_at,
                ))
                .first(c)
                .optional()?;
        let already = match (mark, existing) {
            (Mark::Stale, Some((Some(at), _))) => {
                license.last_checkin.is_none_or(|checked| at > checked)
            }
            (Mark::TrialWarned, Some((_, Some(_)))) => true,
            _ => false,
        };
        if already {
            return Ok(false);
        }
        if let Some((read_stale, _)) = existing {
            // Only the row as read: of two workers (or instances) that read it before either
            // wrote, the second changes nothing here and queues nothing.
            let target = license_notices::table.find(license.id);
            let changed = match (mark, read_stale) {
                (Mark::Stale, Some(at)) => {
                    diesel::update(target.filter(license_notices::stale_noticed_at.eq(at)))
                        .set(license_notices::stale_noticed_at.eq(Some(now)))
                        .execute(c)?
                }
                (Mark::Stale, None) => {
                    diesel::update(target.filter(license_notices::stale_noticed_at.is_null()))
                        .set(license_notices::stale_noticed_at.eq(Some(now)))
                        .execute(c)?
                }
                (Mark::TrialWarned, _) => {
                    diesel::update(target.filter(license_notices::trial_warned_at.is_null()))
                        .set(license_notices::trial_warned_at.eq(Some(now)))
                        .execute(c)?
                }
            };
            if changed == 0 {
                return Ok(false);
            }
        } else {
            let (stale, warned) = match mark {
                Mark::Stale => (Some(now), None),
                Mark::TrialWarned => (None, Some(now)),
            };
            // Another worker inserting the same row first makes this a conflict (below).
            diesel::insert_into(license_notices::table)
                .values((
                    license_notices::license_id.eq(license.id),
                    license_notices::stale_noticed_at.eq(stale),
                    license_notices::trial_warned_at.eq(warned),
                ))
                .execute(c)?;
        }
        let kind = match mark {
            Mark::Stale => EventType::LicenseStale,
            Mark::TrialWarned => EventType::TrialExpiring,
        };
        outbox::emit(
            c,
            outbox::Event {
                kind,
                reseller_id: license.reseller_id,
                at: now,
                data,
            },
        )?;
        Ok(true)
    });
    match marked {
        // Another instance inserted the mark first: its event is queued, not this one.
        Err(DomainError::Conflict(_)) => Ok(false),
        other => other,
    }
}

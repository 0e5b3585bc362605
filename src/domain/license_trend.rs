//! How many IP licenses of each type a reseller held at the end of each of the last N days
//! (the dashboard's small lines): today's count (`queries::held_by_type`), walked back through
//! the history's registrations, removals, trials cleared and conversions since, plus the
//! trials still on file that were held then and have run out since. A move keeps the license
//! and its type, so it changes no count.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use super::queries::held_by_type;
use crate::db::schema::{ip_licenses, license_events};
use crate::db::DbConnection;
use crate::error::DomainError;

/// What an event did to its type's count, going forwards.
fn changes(action: &str, type_id: i32, detail: Option<&str>) -> Vec<(i32, i64)> {
    match action {
        "register" => vec![(type_id, 1)],
        "remove" | "expire" => vec![(type_id, -1)],
        "convert" => {
            let from = detail
                .and_then(|d| d.strip_prefix("from="))
                .and_then(|n| n.parse::<i32>().ok());
            match from {
                Some(from) => vec![(type_id, 1), (from, -1)],
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// For each type held at some point, its count at the end of each of the `days` days up to
/// `now` (oldest first; today's is the count now).
pub fn held_per_day(
    conn: &mut DbConnection,
    reseller_id: i64,
    days: usize,
    now: NaiveDateTime,
) -> Result<BTreeMap<i32, Vec<i64>>, DomainError> {
    let today: NaiveDate = now.date();
    // The end of each day: the next midnight, or now for today.
    let ends: Vec<NaiveDateTime> = (0..days)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back as i64);
            if day == today {
                now
            } else {
                (day + Duration::days(1)).and_time(NaiveTime::MIN)
            }
        })
        .collect();
    let Some(first_end) = ends.first().copied() else {
        return Ok(BTreeMap::new());
    };
    let current: HashMap<i32, i64> = held_by_type(conn, reseller_id, now)?;
    let events: Vec<(NaiveDateTime, String, Option<i32>, Option<String>)> = license_events::table
        .filter(license_events::reseller_id.eq(reseller_id))
        .filter(license_events::at.gt(first_end))
        .filter(license_events::at.le(now))
        .filter(license_events::action.eq_any(["register", "remove", "expire", "convert"]))
        .select((
            license_events::at,
            license_events::action,
            license_events::type_id,
            license_events::detail,
        ))
        .load(conn)?;
    // Trials still on file that ran out after a day's end were held at it.
    let lapsed: Vec<(i32, NaiveDateTime)> = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::relay_state.is_null())
        .filter(ip_licenses::trial_expires_at.gt(first_end))
        .filter(ip_licenses::trial_expires_at.le(now))
        .select((
            ip_licenses::type_id,
            ip_licenses::trial_expires_at.assume_not_null(),
        ))
        .load(conn)?;
    // From today back to the oldest day, each event and lapsed trial undone once, when the
    // walk passes it.
    let mut events = events;
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut lapsed = lapsed;
    lapsed.sort_by_key(|l| std::cmp::Reverse(l.1));
    let (mut undone, mut restored) = (0, 0);
    let mut counts = current;
    let mut out: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (i, end) in ends.iter().enumerate().rev() {
        while let Some((at, action, type_id, detail)) = events.get(undone) {
            if at <= end {
                break;
            }
            for (t, delta) in changes(action, type_id.unwrap_or(0), detail.as_deref()) {
                *counts.entry(t).or_insert(0) -= delta;
            }
            undone += 1;
        }
        while let Some((t, expired)) = lapsed.get(restored) {
            if expired <= end {
                break;
            }
            *counts.entry(*t).or_insert(0) += 1;
            restored += 1;
        }
        for (t, n) in &counts {
            out.entry(*t).or_insert_with(|| vec![0; days])[i] = (*n).max(0);
        }
    }
    Ok(out)
}

//! Deciding report periods. Once a day (the first look of each UTC day) the servers that
//! stopped checking in and the trials ending within three days are reported; on the first
//! look of each month, the month before is billed in statements. Each period is decided in one
//! transaction that records it in `mail_reports` (unique per kind and period), marks what it
//! reported and queues every mail of it, so that several instances and restarts decide each
//! period once and each server is reported once per silence.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};

use super::composed::{Composed, ReportSettings};
use super::outbox::{self, NewMail};
use super::statement::{self, StatementLines};
use super::texts::{self, Silent, TrialEnding};
use crate::db::models::License;
use crate::db::schema::{ip_licenses, license_notices, license_types, mail_reports, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::licenses::TRIAL_WARNING_DAYS;
use crate::domain::month::Month;
use crate::domain::report_mailing::{self, ReportMailing};
use crate::domain::{catalogue, usage, usage_history};
use crate::error::DomainError;

/// Decides the daily report and the month's statements if they are due at `now`; returns
/// how many mails each queued (None: decided before, here or by another instance).
pub fn decide_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &ReportSettings,
) -> Result<(Option<usize>, Option<usize>), DomainError> {
    let day = now.date().format("%Y-%m-%d").to_string();
    let daily = decide(conn, "daily", &day, now, |c| daily(c, now, settings))?;
    let month = Month::containing(now.date()).previous();
    let statements = decide(conn, "statement", &month.to_string(), now, |c| {
        statements(c, now, &month, settings)
    })?;
    Ok((daily, statements))
}

/// Records the period and runs `queue` in one transaction, unless it was decided before.
fn decide(
    conn: &mut DbConnection,
    kind: &str,
    period: &str,
    now: NaiveDateTime,
    queue: impl FnOnce(&mut DbConnection) -> Result<usize, DomainError>,
) -> Result<Option<usize>, DomainError> {
    let decided = |c: &mut DbConnection| -> Result<bool, DomainError> {
        Ok(mail_reports::table
            .filter(mail_reports::kind.eq(kind))
            .filter(mail_reports::period.eq(period))
            .count()
            .get_result::<i64>(c)?
            > 0)
    };
    // Most looks find it decided: one read, no write.
    if decided(conn)? {
        return Ok(None);
    }
    let result = write_transaction(conn, |c| {
        if decided(c)? {
            return Ok(None);
        }
        // Two instances past the read above: the unique key fails the second (below).
        diesel::insert_into(mail_reports::table)
            .values((
                mail_reports::kind.eq(kind),
                mail_reports::period.eq(period),
                mail_reports::decided_at.eq(now),
            ))
            .execute(c)?;
        queue(c).map(Some)
    });
    match result {
        Err(DomainError::Conflict(_)) => Ok(None),
        other => other,
    }
}

/// The active report mailings, by reseller.
fn subscriptions(
    conn: &mut DbConnection,
) -> Result<BTreeMap<i64, Vec<ReportMailing>>, DomainError> {
    let mut by_reseller: BTreeMap<i64, Vec<ReportMailing>> = BTreeMap::new();
    for (reseller_id, setting) in report_mailing::all_active(conn)? {
        by_reseller.entry(reseller_id).or_default().push(setting);
    }
    Ok(by_reseller)
}

/// A license due in a report, with its reseller's login and its family.
type Due = (License, String, String);

/// The daily report: servers newly silent, trials ending soon; marks them; queues the mails.
fn daily(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    settings: &ReportSettings,
) -> Result<usize, DomainError> {
    let since = now - settings.stale_after;
    // Reported already in this silence: after the last check-in (or ever, for a server that
    // never checked in since the license was made or moved).
    let reported = license_notices::table
        .filter(license_notices::license_id.eq(ip_licenses::id))
        .filter(license_notices::stale_mailed_at.is_not_null())
        .filter(
            ip_licenses::last_checkin
                .is_null()
                .or(license_notices::stale_mailed_at.gt(ip_licenses::last_checkin)),
        );
    let silent: Vec<Due> = ip_licenses::table
        .inner_join(resellers::table)
        .inner_join(license_types::table)
        .filter(crate::domain::licensed_at(now))
        .filter(crate::domain::silent_since(since))
        .filter(diesel::dsl::not(diesel::dsl::exists(reported)))
        .order((ip_licenses::reseller_id, ip_licenses::id))
        .select((
            License::as_select(),
            resellers::login,
            license_types::family,
        ))
        .load(conn)?;
    let warned = license_notices::table
        .filter(license_notices::license_id.eq(ip_licenses::id))
        .filter(license_notices::trial_mailed_at.is_not_null());
    let ending: Vec<Due> = ip_licenses::table
        .inner_join(resellers::table)
        .inner_join(license_types::table)
        .filter(ip_licenses::relay_state.is_null())
        .filter(ip_licenses::trial_expires_at.gt(now))
        .filter(ip_licenses::trial_expires_at.le(now + Duration::days(TRIAL_WARNING_DAYS)))
        .filter(diesel::dsl::not(diesel::dsl::exists(warned)))
        .order((ip_licenses::reseller_id, ip_licenses::trial_expires_at))
        .select((
            License::as_select(),
            resellers::login,
            license_types::family,
        ))
        .load(conn)?;
    mark(conn, silent.iter().map(|d| d.0.id), now, Mark::Stale)?;
    mark(conn, ending.iter().map(|d| d.0.id), now, Mark::Trial)?;

    let subscribed = subscriptions(conn)?;
    let mut queued = 0;
    for (reseller_id, settings_of) in &subscribed {
        for setting in settings_of {
            let of = |due: &Due| due.0.reseller_id == *reseller_id && due.2 == setting.family;
            let servers: Vec<Silent> = silent
                .iter()
                .filter(|d| of(d))
                .map(|d| Silent::of(&d.0))
                .collect();
            let login = silent
                .iter()
                .chain(&ending)
                .find(|d| of(d))
                .map(|d| d.1.clone());
            let Some(login) = login else { continue };
            if !servers.is_empty() {
                let mail = texts::not_checking_in(&login, &setting.family, &servers, settings);
                queued += send_to(conn, &setting.addresses, Some(*reseller_id), &mail, now)?;
            }
            let trials: Vec<TrialEnding> = ending
                .iter()
                .filter(|d| of(d))
                .filter_map(|d| TrialEnding::of(&d.0))
                .collect();
            if !trials.is_empty() {
                let mail = texts::trials_ending(&login, &setting.family, &trials);
                queued += send_to(conn, &setting.addresses, Some(*reseller_id), &mail, now)?;
            }
        }
    }
    let anything = !silent.is_empty() || !ending.is_empty();
    if anything && !settings.operator.is_empty() {
        let mut totals: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (_, login, _) in &silent {
            totals.entry(login).or_default().0 += 1;
        }
        for (_, login, _) in &ending {
            totals.entry(login).or_default().1 += 1;
        }
        let day = now.date().format("%Y-%m-%d").to_string();
        let mail = texts::daily_digest(&day, &totals, settings);
        queued += send_to(conn, &settings.operator, None, &mail, now)?;
    }
    Ok(queued)
}

/// The statements of `month` for every active report mailing, and the operator's digest.
fn statements(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    month: &Month,
    settings: &ReportSettings,
) -> Result<usize, DomainError> {
    let today = now.date();
    // The same report as usage.json and `ipls report usage`: the figures are theirs.
    let lines = usage::report(conn, None, month, today)?;
    if lines.is_empty() {
        return Ok(0);
    }
    let start = month.first_day().and_time(chrono::NaiveTime::MIN);
    let opening = usage_history::open_at(conn, None, start, month.end(), true)?;
    let mut events = opening.changing;
    events.extend(usage_history::changes_between(
        conn,
        None,
        start,
        month.end(),
    )?);
    let licenses = usage::per_license(&events, month, today);
    let types: BTreeMap<i32, catalogue::LicenseType> = catalogue::all_types(conn)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let logins: BTreeMap<i64, String> = resellers::table
        .select((resellers::id, resellers::login))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let family_of = |type_id: i32| types.get(&type_id).map_or("", |t| t.family.as_str());
    let mut queued = 0;
    for (reseller_id, settings_of) in subscriptions(conn)? {
        let Some(login) = logins.get(&reseller_id) else {
            continue;
        };
        for setting in settings_of {
            let lines_of = StatementLines {
                month,
                login,
                family: &setting.family,
                types: &types,
                usage: lines
                    .iter()
                    .filter(|l| l.usage.reseller_id == reseller_id)
                    .filter(|l| family_of(l.usage.type_id) == setting.family)
                    .collect(),
                licenses: licenses
                    .iter()
                    .filter(|l| l.reseller_id == reseller_id)
                    .filter(|l| family_of(l.type_id) == setting.family)
                    .collect(),
            };
            if lines_of.usage.is_empty() {
                continue;
            }
            let mail = statement::statement(&lines_of);
            queued += send_to(conn, &setting.addresses, Some(reseller_id), &mail, now)?;
        }
    }
    if !settings.operator.is_empty() {
        let mail = texts::monthly_digest(month, &lines, &logins, &types);
        queued += send_to(conn, &settings.operator, None, &mail, now)?;
    }
    Ok(queued)
}

/// Queues `mail` once per address; returns how many.
fn send_to(
    conn: &mut DbConnection,
    addresses: &[String],
    reseller_id: Option<i64>,
    mail: &Composed,
    now: NaiveDateTime,
) -> Result<usize, DomainError> {
    for to in addresses {
        outbox::queue(
            conn,
            &NewMail {
                kind: mail.kind,
                reseller_id,
                to,
                subject: &mail.subject,
                body: &mail.body,
                attachment: mail
                    .attachment
                    .as_ref()
                    .map(|(name, text)| (name.as_str(), text.as_str())),
            },
            now,
        )?;
    }
    Ok(addresses.len())
}

#[derive(Clone, Copy)]
enum Mark {
    Stale,
    Trial,
}

/// Marks the licenses reported (in the deciding transaction, so with its mails or not at all).
fn mark(
    conn: &mut DbConnection,
    ids: impl Iterator<Item = i64>,
    now: NaiveDateTime,
    mark: Mark,
) -> Result<(), DomainError> {
    let ids: Vec<i64> = ids.collect();
    // Bounded statements: SQLite takes at most 32,766 parameters in one.
    for chunk in ids.chunks(500) {
        let existing: Vec<i64> = license_notices::table
            .filter(license_notices::license_id.eq_any(chunk))
            .select(license_notices::license_id)
            .load(conn)?;
        let target = license_notices::table.filter(license_notices::license_id.eq_any(&existing));
        match mark {
            Mark::Stale => diesel::update(target)
                .set(license_notices::stale_mailed_at.eq(Some(now)))
                .execute(conn)?,
            Mark::Trial => diesel::update(target)
                .set(license_notices::trial_mailed_at.eq(Some(now)))
                .execute(conn)?,
        };
        // The rest get their row in one statement per chunk (a first day can report every
        // server at once).
        let new_ids: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|id| !existing.contains(id))
            .collect();
        let new = ip_licenses::table.filter(ip_licenses::id.eq_any(&new_ids));
        let column = match mark {
            Mark::Stale => diesel::insert_into(license_notices::table)
                .values(new.select((ip_licenses::id, Some(now).into_sql::<Nullable<Timestamp>>())))
                .into_columns((
                    license_notices::license_id,
                    license_notices::stale_mailed_at,
                ))
                .execute(conn),
            Mark::Trial => diesel::insert_into(license_notices::table)
                .values(new.select((ip_licenses::id, Some(now).into_sql::<Nullable<Timestamp>>())))
                .into_columns((
                    license_notices::license_id,
                    license_notices::trial_mailed_at,
                ))
                .execute(conn),
        };
        column?;
    }
    Ok(())
}

//! The reports' words: plain text people read, composed when a period is decided and stored
//! in the outbox as sent. The layout of "Systems Not Checking In" is CLN's, as its FAQ quotes
//! the mail (server id, name, last check-in, the last with CLN's trailing `.0`).

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::NaiveDateTime;

use super::composed::{column_width, heading, Composed, ReportSettings};
use super::outbox;
use crate::db::models::License;
use crate::domain::catalogue::LicenseType;
use crate::domain::month::Month;
use crate::domain::prices::format_cents;
use crate::domain::usage::UsageLine;

/// Where the console's Not checking in page is, for the mails that point there.
pub const STALE_PAGE: &str = "/console/stale";

/// A server that stopped checking in, as the report lists it.
pub struct Silent {
    pub id: i64,
    pub name: String,
    pub last_checkin: Option<NaiveDateTime>,
}

impl Silent {
    pub fn of(license: &License) -> Self {
        Self {
            id: license.id,
            name: license.ip.clone(),
            last_checkin: license.last_checkin,
        }
    }
}

/// A trial that ends soon.
pub struct TrialEnding {
    pub ip: String,
    pub type_id: i32,
    pub ends: NaiveDateTime,
}

impl TrialEnding {
    pub fn of(license: &License) -> Option<Self> {
        Some(Self {
            ip: license.ip.clone(),
            type_id: license.type_id,
            ends: license.trial_expires_at?,
        })
    }
}

/// Servers listed in one "Systems Not Checking In" mail; the rest are counted, and the
/// console's page lists them all (a first report can hold every server at once).
pub const MAX_LISTED: usize = 1_000;

/// CLN's last check-in form: `2011-05-10 20:39:20.0`.
pub fn cln_time(at: NaiveDateTime) -> String {
    format!("{}.0", at.format("%Y-%m-%d %H:%M:%S"))
}

fn link(settings: &ReportSettings, path: &str) -> String {
    match &settings.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => format!("the console's {path} page"),
    }
}

/// CLN's "Systems Not Checking In", for one reseller and product family.
pub fn not_checking_in(
    login: &str,
    family: &str,
    servers: &[Silent],
    settings: &ReportSettings,
) -> Composed {
    let mut body = String::from(
        "Systems Not Checking In:\n-------------------------\n\
         The following systems recently stopped checking in with ipls:\n\n",
    );
    let name_width = column_width(servers.iter().map(|s| s.name.as_str()), "System Name");
    let _ = writeln!(
        body,
        "{:<10} {:<name_width$} Last Checkin",
        "System Id", "System Name"
    );
    for server in servers.iter().take(MAX_LISTED) {
        let last = server
            .last_checkin
            .map_or_else(|| "never".to_string(), cln_time);
        let _ = writeln!(
            body,
            "{:<10} {:<name_width$} {last}",
            server.id, server.name
        );
    }
    if servers.len() > MAX_LISTED {
        let _ = writeln!(
            body,
            "... and {} more: every one is on the console's Not checking in page.",
            servers.len() - MAX_LISTED
        );
    }
    let _ = write!(
        body,
        "\nAccount {login}, {family} licenses: {} server(s). A server is listed once per \
         silence: it is listed again only after it has checked in and fallen silent again.\n\
         To stop billing for servers you no longer use, remove their licenses at {}.\n",
        servers.len(),
        link(settings, STALE_PAGE)
    );
    Composed {
        kind: outbox::STALE,
        subject: format!("Systems Not Checking In: {login}, {family}"),
        body,
        attachment: None,
    }
}

/// The trials of one reseller and family that end within three days.
pub fn trials_ending(login: &str, family: &str, trials: &[TrialEnding]) -> Composed {
    let mut body = heading("Trials ending in 3 days");
    let _ = write!(
        body,
        "These trial licenses of account {login} ({family}) end soon. A trial that is not \
         registered as a paid license by then stops working when it ends.\n\n"
    );
    let width = column_width(trials.iter().map(|t| t.ip.as_str()), "IP");
    let _ = writeln!(body, "{:<width$} {:<5} Ends (UTC)", "IP", "Type");
    for trial in trials {
        let _ = writeln!(
            body,
            "{:<width$} {:<5} {}",
            trial.ip,
            trial.type_id,
            trial.ends.format("%Y-%m-%d %H:%M")
        );
    }
    Composed {
        kind: outbox::TRIALS,
        subject: format!("Trials ending in 3 days: {login}, {family}"),
        body,
        attachment: None,
    }
}

/// The operator's daily digest: per reseller, the servers newly not checking in and the trials
/// ending within three days.
pub fn daily_digest(
    day: &str,
    totals: &BTreeMap<&str, (usize, usize)>,
    settings: &ReportSettings,
) -> Composed {
    let mut body = heading(&format!("Daily digest for {day}"));
    let _ = write!(
        body,
        "Servers that stopped checking in since the last digest, and trials ending within 3 \
         days, per reseller:\n\n"
    );
    let width = column_width(totals.keys().copied(), "Reseller");
    let _ = writeln!(
        body,
        "{:<width$} {:>16} {:>14}",
        "Reseller", "Not checking in", "Trials ending"
    );
    let (mut silent, mut ending) = (0, 0);
    for (login, (s, e)) in totals {
        let _ = writeln!(body, "{login:<width$} {s:>16} {e:>14}");
        silent += s;
        ending += e;
    }
    let _ = writeln!(body, "{:<width$} {silent:>16} {ending:>14}", "Total");
    let _ = write!(
        body,
        "\nEvery reseller's servers: `ipls report stale`, or {}.\n",
        link(settings, "/console/operator/stale")
    );
    Composed {
        kind: outbox::DIGEST,
        subject: format!(
            "ipls daily digest {day}: {silent} server(s) not checking in, {ending} trial(s) ending"
        ),
        body,
        attachment: None,
    }
}

/// The operator's monthly digest: per reseller, the month's license-days and amount, with the
/// usage report as CSV.
pub fn monthly_digest(
    month: &Month,
    lines: &[UsageLine],
    logins: &BTreeMap<i64, String>,
    types: &BTreeMap<i32, LicenseType>,
) -> Composed {
    let mut totals: BTreeMap<&str, (i64, i64, bool)> = BTreeMap::new();
    for line in lines {
        let login = logins
            .get(&line.usage.reseller_id)
            .map_or("?", String::as_str);
        let total = totals.entry(login).or_default();
        total.0 += line.usage.license_days;
        match line.amount_cents {
            Some(cents) => total.1 += cents,
            None => total.2 = true,
        }
    }
    let mut body = heading(&format!("Monthly digest for {month}"));
    let _ = write!(
        body,
        "License-days and amounts per reseller for {} to {} (UTC days), as `ipls report usage \
         --month {month}` counts them:\n\n",
        month.first_day(),
        month.last_day()
    );
    let width = column_width(totals.keys().copied(), "Reseller");
    let _ = writeln!(
        body,
        "{:<width$} {:>12} {:>12}",
        "Reseller", "License-days", "Amount"
    );
    let (mut days, mut cents) = (0, 0);
    for (login, (d, c, unpriced)) in &totals {
        let mark = if *unpriced { " *" } else { "" };
        let _ = writeln!(
            body,
            "{login:<width$} {d:>12} {:>12}{mark}",
            format_cents(*c)
        );
        days += d;
        cents += c;
    }
    let _ = writeln!(
        body,
        "{:<width$} {days:>12} {:>12}",
        "Total",
        format_cents(cents)
    );
    if totals.values().any(|t| t.2) {
        body.push_str(
            "\n* some of its types have no price (`ipls price set`): not in the amount.\n",
        );
    }
    let mut csv = String::from("reseller,type,product,license_days,peak,suspended_days,amount\n");
    for line in lines {
        let login = logins
            .get(&line.usage.reseller_id)
            .map_or("?", String::as_str);
        let product = types
            .get(&line.usage.type_id)
            .map_or("", |t| t.name.as_str());
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{}",
            crate::wire::csv_cell(login),
            line.usage.type_id,
            crate::wire::csv_cell(product),
            line.usage.license_days,
            line.usage.peak,
            line.usage.suspended_days,
            line.amount_cents.map(format_cents).unwrap_or_default()
        );
    }
    body.push_str("\nEvery line is in the attached CSV.\n");
    Composed {
        kind: outbox::DIGEST,
        subject: format!(
            "ipls monthly digest {month}: {days} license-days, {}",
            format_cents(cents)
        ),
        body,
        attachment: Some((format!("usage-{month}.csv"), csv)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_silence_lists_the_first_servers_and_counts_the_rest() {
        let servers: Vec<Silent> = (0..MAX_LISTED as i64 + 5)
            .map(|id| Silent {
                id,
                name: format!("10.0.{}.{}", id / 256, id % 256),
                last_checkin: None,
            })
            .collect();
        let settings = ReportSettings {
            stale_after: chrono::Duration::hours(24),
            operator: Vec::new(),
            public_url: None,
        };
        let mail = not_checking_in("acme", "cloudlinux", &servers, &settings);
        assert_eq!(mail.body.matches(" never\n").count(), MAX_LISTED);
        assert!(mail
            .body
            .contains("... and 5 more: every one is on the console's Not checking in page."));
        assert!(mail.body.contains("1005 server(s)"));
        assert!(mail.body.contains("the console's /console/stale page"));
    }
}

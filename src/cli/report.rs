//! `ipls report stale|usage`, `ipls audit`, `ipls price set|list`.

use chrono::{NaiveDate, NaiveDateTime};
use clap::Subcommand;

use super::output::{self, duration, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::events::{self, AuditFilter};
use crate::domain::ip::LicenseIp;
use crate::domain::month::Month;
use crate::domain::prices::{self, format_cents, parse_cents};
use crate::domain::{reports, resellers, usage};
use crate::wire::format_date;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Licenses whose server never checked in, or stopped checking in.
    Stale {
        /// How long without a check-in makes a server stale: 36h, 7d, 2w...
        #[arg(long, default_value = "7d", value_parser = duration)]
        older_than: chrono::Duration,
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// License-days per reseller and type for a month (UTC), with amounts where priced.
    Usage {
        /// YYYY-MM (default: the current month).
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Monthly price of one license of TYPE, e.g. `ipls price set 1 12.50`.
    Set { type_id: i32, amount: String },
    /// List prices.
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn reseller_id(conn: &mut DbConnection, login: Option<&str>) -> Result<Option<i64>, String> {
    login
        .map(|l| resellers::get(conn, l).map(|r| r.id).map_err(domain_error))
        .transpose()
}

fn logins(conn: &mut DbConnection) -> Result<std::collections::HashMap<i64, String>, String> {
    resellers::logins_by_id(conn).map_err(domain_error)
}

pub fn run(config: &Config, clock: &dyn Clock, command: ReportCommand) -> Result<(), String> {
    let (mut conn, _) = connect(config)?;
    let now = clock.now().naive_utc();
    match command {
        ReportCommand::Stale {
            older_than,
            reseller,
            format,
        } => {
            let id = reseller_id(&mut conn, reseller.as_deref())?;
            let cutoff = now
                .checked_sub_signed(older_than)
                .ok_or("--older-than reaches before the calendar starts")?;
            let rows = reports::stale(&mut conn, cutoff, now, id).map_err(domain_error)?;
            let cells: Vec<Vec<String>> = rows
                .into_iter()
                .map(|(l, login)| {
                    vec![
                        login,
                        l.ip,
                        l.type_id.to_string(),
                        format_date(l.created_at),
                        l.last_checkin
                            .map(format_date)
                            .unwrap_or_else(|| "never".into()),
                        l.server_info.unwrap_or_default(),
                    ]
                })
                .collect();
            output::print(
                format,
                &[
                    "RESELLER",
                    "IP",
                    "TYPE",
                    "CREATED",
                    "LAST_CHECKIN",
                    "SERVER_INFO",
                ],
                &cells,
            );
        }
        ReportCommand::Usage {
            month,
            reseller,
            format,
        } => {
            let today = now.date();
            let month = match month {
                Some(text) => Month::parse(&text)
                    .ok_or_else(|| format!("--month {text:?}: expected YYYY-MM"))?,
                None => Month::containing(today),
            };
            let id = reseller_id(&mut conn, reseller.as_deref())?;
            let names = logins(&mut conn)?;
            let lines = usage::report(&mut conn, id, &month, today).map_err(domain_error)?;
            let cells: Vec<Vec<String>> = lines
                .into_iter()
                .map(|line| {
                    vec![
                        month.to_string(),
                        names
                            .get(&line.usage.reseller_id)
                            .cloned()
                            .unwrap_or_default(),
                        line.usage.type_id.to_string(),
                        line.usage.license_days.to_string(),
                        line.usage.peak.to_string(),
                        line.amount_cents.map(format_cents).unwrap_or_default(),
                    ]
                })
                .collect();
            output::print(
                format,
                &[
                    "MONTH",
                    "RESELLER",
                    "TYPE",
                    "LICENSE_DAYS",
                    "PEAK",
                    "AMOUNT",
                ],
                &cells,
            );
        }
    }
    Ok(())
}

/// `--since`: a date, a date and time (UTC), or a duration back from now (7d).
pub fn since(text: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN));
    }
    for pattern in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, pattern) {
            return Ok(at);
        }
    }
    duration(text)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| {
            format!("--since {text:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM or a duration like 7d")
        })
}

pub struct AuditArgs {
    pub reseller: Option<String>,
    pub ip: Option<String>,
    pub since: Option<String>,
    pub limit: i64,
    pub format: Format,
}

pub fn audit(config: &Config, clock: &dyn Clock, args: AuditArgs) -> Result<(), String> {
    let (mut conn, _) = connect(config)?;
    let now = clock.now().naive_utc();
    let ip = args
        .ip
        .map(|text| {
            LicenseIp::parse(&text)
                .map(|ip| ip.to_string())
                .ok_or_else(|| format!("invalid IP address {text:?}"))
        })
        .transpose()?;
    let filter = AuditFilter {
        reseller_id: reseller_id(&mut conn, args.reseller.as_deref())?,
        ip,
        since: args.since.as_deref().map(|s| since(s, now)).transpose()?,
        before_id: None,
        limit: args.limit,
    };
    let names = logins(&mut conn)?;
    let rows = events::audit(&mut conn, &filter).map_err(domain_error)?;
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|e| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.reseller_id
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_default(),
                e.action,
                e.ip,
                e.type_id.map(|t| t.to_string()).unwrap_or_default(),
                e.detail.unwrap_or_default(),
                e.source.unwrap_or_default(),
            ]
        })
        .collect();
    output::print(
        args.format,
        &[
            "AT (UTC)", "RESELLER", "ACTION", "IP", "TYPE", "DETAIL", "SOURCE",
        ],
        &cells,
    );
    Ok(())
}

pub fn price(config: &Config, clock: &dyn Clock, command: PriceCommand) -> Result<(), String> {
    let (mut conn, _) = connect(config)?;
    match command {
        PriceCommand::Set { type_id, amount } => {
            let cents = parse_cents(&amount)
                .ok_or_else(|| format!("amount {amount:?}: expected a number like 12 or 12.50"))?;
            prices::set(&mut conn, type_id, cents, clock.now().naive_utc())
                .map_err(domain_error)?;
            println!(
                "type {type_id}: {} per license per month",
                format_cents(cents)
            );
        }
        PriceCommand::List { format } => {
            let mut all: Vec<(i32, i64)> = prices::all(&mut conn)
                .map_err(domain_error)?
                .into_iter()
                .collect();
            all.sort_unstable();
            let cells: Vec<Vec<String>> = all
                .into_iter()
                .map(|(t, c)| vec![t.to_string(), format_cents(c)])
                .collect();
            output::print(format, &["TYPE", "MONTHLY"], &cells);
        }
    }
    Ok(())
}

//! `ipls report stale|usage`, `ipls audit`, `ipls price set|list`.

use chrono::{NaiveDate, NaiveDateTime};
use clap::Subcommand;

use super::error::CliError;
use super::output::{self, col, duration, Cell, Column, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::events::{self, AuditFilter};
use crate::domain::ip::LicenseIp;
use crate::domain::month::Month;
use crate::domain::prices::{self, format_cents};
use crate::domain::{reports, resellers, usage};

const STALE_COLUMNS: &[Column] = &[
    col("reseller", "RESELLER"),
    col("ip", "IP"),
    col("type", "TYPE"),
    col("created_at", "CREATED (UTC)"),
    col("last_checkin", "LAST CHECK-IN (UTC)"),
    col("server_info", "SERVER INFO"),
];

const USAGE_COLUMNS: &[Column] = &[
    col("month", "MONTH"),
    col("reseller", "RESELLER"),
    col("type", "TYPE"),
    col("license_days", "LICENSE-DAYS"),
    col("peak", "PEAK"),
    col("amount_cents", "AMOUNT"),
    col("suspended_days", "SUSPENDED-DAYS"),
];

const AUDIT_COLUMNS: &[Column] = &[
    col("id", "ID"),
    col("at", "AT (UTC)"),
    col("reseller", "RESELLER"),
    col("action", "ACTION"),
    col("ip", "IP"),
    col("type", "TYPE"),
    col("detail", "DETAIL"),
    col("source", "SOURCE"),
];

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
        #[arg(long, value_parser = super::args::month)]
        month: Option<Month>,
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum PriceCommand {
    /// Monthly price of one license of TYPE, e.g. `ipls price set 1 12.50`.
    Set {
        type_id: i32,
        #[arg(value_parser = super::args::cents)]
        amount: i64,
    },
    /// List prices.
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn reseller_id(conn: &mut DbConnection, login: Option<&str>) -> Result<Option<i64>, CliError> {
    login
        .map(|l| resellers::get(conn, l).map(|r| r.id).map_err(domain_error))
        .transpose()
}

fn logins(conn: &mut DbConnection) -> Result<std::collections::HashMap<i64, String>, CliError> {
    resellers::logins_by_id(conn).map_err(domain_error)
}

pub fn run(config: &Config, clock: &dyn Clock, command: ReportCommand) -> Result<(), CliError> {
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
            let cells: Vec<Vec<Cell>> = rows
                .into_iter()
                .map(|(l, login)| {
                    vec![
                        Cell::text(login),
                        Cell::text(l.ip),
                        Cell::int(l.type_id),
                        Cell::Time(l.created_at),
                        Cell::opt_time(l.last_checkin),
                        Cell::opt_text(l.server_info),
                    ]
                })
                .collect();
            output::print(format, STALE_COLUMNS, &cells);
        }
        ReportCommand::Usage {
            month,
            reseller,
            format,
        } => {
            let today = now.date();
            let month = month.unwrap_or_else(|| Month::containing(today));
            let id = reseller_id(&mut conn, reseller.as_deref())?;
            let names = logins(&mut conn)?;
            let lines = usage::report(&mut conn, id, &month, today).map_err(domain_error)?;
            let cells: Vec<Vec<Cell>> = lines
                .into_iter()
                .map(|line| {
                    vec![
                        Cell::text(month.to_string()),
                        Cell::opt_text(names.get(&line.usage.reseller_id).cloned()),
                        Cell::int(line.usage.type_id),
                        Cell::Int(line.usage.license_days),
                        Cell::Int(line.usage.peak),
                        line.amount_cents.map_or(Cell::Null, Cell::Cents),
                        Cell::Int(line.usage.suspended_days),
                    ]
                })
                .collect();
            output::print(format, USAGE_COLUMNS, &cells);
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
    pub ip: Option<LicenseIp>,
    pub since: Option<String>,
    pub limit: i64,
    pub format: Format,
}

pub fn audit(config: &Config, clock: &dyn Clock, args: AuditArgs) -> Result<(), CliError> {
    let (mut conn, _) = connect(config)?;
    let now = clock.now().naive_utc();
    let ip = args.ip.map(|ip| ip.to_string());
    let filter = AuditFilter {
        reseller_id: reseller_id(&mut conn, args.reseller.as_deref())?,
        ip,
        since: args.since.as_deref().map(|s| since(s, now)).transpose()?,
        before_id: None,
        limit: args.limit,
    };
    let names = logins(&mut conn)?;
    let rows = events::audit(&mut conn, &filter).map_err(domain_error)?;
    let cells: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|e| {
            vec![
                Cell::Int(e.id),
                Cell::Time(e.at),
                Cell::opt_text(e.reseller_id.and_then(|id| names.get(&id).cloned())),
                Cell::text(e.action),
                Cell::text(e.ip),
                e.type_id.map_or(Cell::Null, Cell::int),
                Cell::opt_text(e.detail),
                Cell::opt_text(e.source),
            ]
        })
        .collect();
    output::print(args.format, AUDIT_COLUMNS, &cells);
    Ok(())
}

pub fn price(config: &Config, clock: &dyn Clock, command: PriceCommand) -> Result<(), CliError> {
    let (mut conn, _) = connect(config)?;
    match command {
        PriceCommand::Set {
            type_id,
            amount: cents,
        } => {
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
            let cells: Vec<Vec<Cell>> = all
                .into_iter()
                .map(|(t, c)| vec![Cell::int(t), Cell::Cents(c)])
                .collect();
            output::print(
                format,
                &[col("type", "TYPE"), col("monthly_cents", "MONTHLY")],
                &cells,
            );
        }
    }
    Ok(())
}

//! `ipls license list`.

use clap::Subcommand;
use diesel::prelude::*;

use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::License;
use crate::db::schema::{ip_licenses, resellers};
use crate::domain::ip::LicenseIp;

const LICENSE_COLUMNS: &[Column] = &[
    col("ip", "IP"),
    col("type", "TYPE"),
    col("reseller", "RESELLER"),
    col("created_at", "CREATED (UTC)"),
    col("registered", "REGISTERED"),
    col("els_allowed", "ELS"),
    col("status", "STATUS"),
    col("trial_expires_at", "TRIAL ENDS (UTC)"),
];

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// List licenses, optionally of one reseller or on one IP.
    List {
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: Option<LicenseIp>,
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub fn run(config: &Config, clock: &dyn Clock, command: LicenseCommand) -> Result<(), CliError> {
    let now = clock.now().naive_utc();
    let LicenseCommand::List {
        reseller,
        ip,
        format,
    } = command;
    let (mut conn, _) = connect(config)?;
    let mut query = ip_licenses::table
        .inner_join(resellers::table)
        .select((License::as_select(), resellers::login))
        .order((ip_licenses::ip, ip_licenses::type_id))
        .into_boxed();
    if let Some(login) = &reseller {
        query = query.filter(resellers::login.eq(login.clone()));
    }
    if let Some(ip) = &ip {
        query = query.filter(ip_licenses::ip.eq(ip.to_string()));
    }
    let rows: Vec<(License, String)> = query.load(&mut conn).map_err(|e| domain_error(e.into()))?;
    let cells: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|(l, login)| {
            let status = match l.trial_expires_at {
                None => "paid",
                Some(_) if l.is_expired(now) => "trial, expired",
                Some(_) => "trial",
            };
            vec![
                Cell::text(l.ip),
                Cell::int(l.type_id),
                Cell::text(login),
                Cell::Time(l.created_at),
                Cell::Bool(l.registered_at.is_some()),
                Cell::Bool(l.els_allowed),
                Cell::text(status),
                Cell::opt_time(l.trial_expires_at),
            ]
        })
        .collect();
    output::print(format, LICENSE_COLUMNS, &cells);
    if format == Format::Table {
        output::line(&format!("{} license(s)", cells.len()));
    }
    Ok(())
}

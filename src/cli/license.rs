//! `ipls license list`.

use clap::Subcommand;
use diesel::prelude::*;

use super::output::{self, Format};
use super::{connect, domain_error};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::License;
use crate::db::schema::{ip_licenses, resellers};
use crate::domain::ip::LicenseIp;
use crate::wire::format_date;

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// List licenses, optionally of one reseller or on one IP.
    List {
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub fn run(config: &Config, clock: &dyn Clock, command: LicenseCommand) -> Result<(), String> {
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
    if let Some(text) = &ip {
        let ip = LicenseIp::parse(text).ok_or_else(|| format!("invalid IP address {text:?}"))?;
        query = query.filter(ip_licenses::ip.eq(ip.to_string()));
    }
    let rows: Vec<(License, String)> = query.load(&mut conn).map_err(|e| domain_error(e.into()))?;
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(l, login)| {
            let status = match l.trial_expires_at {
                None => "paid".to_string(),
                Some(_) if l.is_expired(now) => "trial, expired".to_string(),
                Some(at) => format!("trial until {}", format_date(at)),
            };
            vec![
                l.ip,
                l.type_id.to_string(),
                login,
                format_date(l.created_at),
                if l.registered_at.is_some() {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
                l.els_allowed.to_string(),
                status,
            ]
        })
        .collect();
    output::print(
        format,
        &[
            "IP",
            "TYPE",
            "RESELLER",
            "CREATED",
            "REGISTERED",
            "ELS",
            "STATUS",
        ],
        &cells,
    );
    if format == Format::Table {
        println!("{} license(s)", cells.len());
    }
    Ok(())
}

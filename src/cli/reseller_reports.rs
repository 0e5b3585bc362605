//! `ipls reseller reports LOGIN [--family F (--on|--off) [--to A,B]]`: the account's report
//! mailing per product family (CLN's "report mailing"), shown or set.

use clap::Args;

use super::domain_error;
use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use crate::db::DbConnection;
use crate::domain::mail::outbox;
use crate::domain::report_mailing::{self, ReportMailing};
use crate::domain::resellers::{self, ChangedBy};

const COLUMNS: &[Column] = &[
    col("family", "FAMILY"),
    col("active", "ACTIVE"),
    col("addresses", "ADDRESSES"),
    col("failing", "FAILING"),
];

#[derive(Debug, Args)]
pub struct ReportsArgs {
    pub login: String,
    /// The product family to set: cloudlinux, els, imunify or kernelcare.
    #[arg(long, requires = "active")]
    pub family: Option<String>,
    /// Turn the family's reports on or off.
    #[arg(long, value_parser = super::args::on_off, requires = "family")]
    pub active: Option<bool>,
    /// The addresses, comma-separated, at most 10 (omitted: kept as they are).
    #[arg(long, requires = "family")]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(conn: &mut DbConnection, by: &ChangedBy<'_>, args: ReportsArgs) -> Result<(), CliError> {
    let reseller = resellers::get(conn, &args.login).map_err(domain_error)?;
    if let (Some(family), Some(active)) = (&args.family, args.active) {
        let current = report_mailing::for_reseller(conn, reseller.id).map_err(domain_error)?;
        let addresses = match &args.to {
            Some(text) => report_mailing::parse_addresses(text).map_err(domain_error)?,
            None => current
                .iter()
                .find(|s| &s.family == family)
                .map(|s| s.addresses.clone())
                .unwrap_or_default(),
        };
        let setting = ReportMailing {
            family: family.clone(),
            active,
            addresses,
        };
        report_mailing::set(conn, reseller.id, &setting, by).map_err(domain_error)?;
        output::line(&format!(
            "{} reports of {} are {}{}",
            setting.family,
            reseller.login,
            if active { "on" } else { "off" },
            if setting.addresses.is_empty() {
                String::new()
            } else {
                format!(", to {}", setting.addresses.join(", "))
            }
        ));
        return Ok(());
    }
    let settings = report_mailing::for_reseller(conn, reseller.id).map_err(domain_error)?;
    let mut rows = Vec::with_capacity(settings.len());
    for setting in settings {
        let failing = outbox::failing(conn, &setting.addresses).map_err(domain_error)?;
        rows.push(vec![
            Cell::text(setting.family),
            Cell::Bool(setting.active),
            Cell::text(setting.addresses.join(",")),
            Cell::text(
                failing
                    .iter()
                    .map(|(address, _)| address.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]);
    }
    output::print(args.format, COLUMNS, &rows);
    Ok(())
}

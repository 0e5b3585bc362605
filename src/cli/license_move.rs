//! `ipls license move OLD_IP NEW_IP [--type N] [--reseller LOGIN]` (and the global `--dry-run`).

use diesel::prelude::*;

use super::error::CliError;
use super::{connect, domain_error, output};
use crate::config::Config;
use crate::db::schema::{ip_licenses, resellers};
use crate::db::DbConnection;
use crate::domain::actor::{act, ActingFor, Source};
use crate::domain::ip::LicenseIp;
use crate::domain::licenses;
use crate::domain::Policy;
use crate::error::DomainError;

/// What to move, as the command line gave it.
pub struct MoveArgs {
    pub from: LicenseIp,
    pub to: LicenseIp,
    pub type_id: Option<i32>,
    pub reseller: Option<String>,
}

pub fn run(config: &Config, now: chrono::NaiveDateTime, args: MoveArgs) -> Result<(), CliError> {
    let (mut conn, _) = connect(config)?;
    let policy = Policy {
        allow_private_ips: config.allow_private_ips,
        trial_days: config.trial_days,
    };
    let login = match args.reseller {
        Some(login) => login,
        None => holder(&mut conn, &args.from, args.type_id).map_err(domain_error)?,
    };
    let (from, to, type_id) = (args.from, args.to, args.type_id);
    let moved = act(
        &mut conn,
        ActingFor::Login(login.clone()),
        &Source::Cli,
        now,
        |c, actor| licenses::move_licenses(c, actor, &policy, &from, &to, type_id),
    )
    .map_err(domain_error)?;
    let types: Vec<String> = moved.iter().map(|l| l.type_id.to_string()).collect();
    output::line(&format!(
        "moved {login}'s license(s) of type {} from {from} to {to}",
        types.join(", ")
    ));
    Ok(())
}

/// The one reseller holding licenses on `ip` (of `type_id`), when `--reseller` is not given.
fn holder(
    conn: &mut DbConnection,
    ip: &LicenseIp,
    type_id: Option<i32>,
) -> Result<String, DomainError> {
    let mut query = ip_licenses::table
        .inner_join(resellers::table)
        .filter(ip_licenses::ip.eq(ip.to_string()))
        .select(resellers::login)
        .distinct()
        .into_boxed();
    if let Some(type_id) = type_id {
        query = query.filter(ip_licenses::type_id.eq(type_id));
    }
    let logins: Vec<String> = query.load(conn)?;
    match logins.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(DomainError::not_found(format!("no license on IP {ip}"))),
        several => Err(DomainError::invalid(format!(
            "IP {ip} has licenses of several resellers ({}); name one with --reseller",
            several.join(", ")
        ))),
    }
}

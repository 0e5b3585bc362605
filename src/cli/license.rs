//! `ipls license list | register | remove | note | move`.

use clap::Subcommand;
use diesel::prelude::*;

use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use super::{connect, domain_error};
use crate::bootstrap::open_database;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::License;
use crate::db::schema::{ip_licenses, resellers};
use crate::domain::actor::{act, ActingFor, Source};
use crate::domain::ip::LicenseIp;
use crate::domain::licenses::{self, Registration};
use crate::domain::upstream::{ops, RelayStatus};
use crate::domain::Policy;
use crate::upstream::relay::register;
use crate::upstream::Relay;
use std::sync::Arc;

const LICENSE_COLUMNS: &[Column] = &[
    col("ip", "IP"),
    col("type", "TYPE"),
    col("reseller", "RESELLER"),
    col("created_at", "CREATED (UTC)"),
    col("registered", "REGISTERED"),
    col("els_allowed", "ELS"),
    col("status", "STATUS"),
    col("trial_expires_at", "TRIAL ENDS (UTC)"),
    col("upstream", "UPSTREAM"),
    col("external_id", "EXTERNAL ID"),
    col("note", "NOTE"),
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
    /// Register a license for a reseller (through its type's upstream, if it has one).
    Register {
        #[arg(long)]
        reseller: String,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: LicenseIp,
        #[arg(long = "type")]
        type_id: i32,
        /// Allow extended-lifecycle repositories.
        #[arg(long)]
        els: bool,
        /// A note (at most 500 characters).
        #[arg(long)]
        note: Option<String>,
        /// The billing panel's id, unique among the reseller's licenses.
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Set the note and/or external id of a reseller's license (an empty value clears it).
    Note {
        #[arg(long)]
        reseller: String,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: LicenseIp,
        #[arg(long = "type")]
        type_id: Option<i32>,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Remove a reseller's license (all its types on the IP without --type).
    Remove {
        #[arg(long)]
        reseller: String,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: LicenseIp,
        #[arg(long = "type")]
        type_id: Option<i32>,
    },
    /// Suspend a reseller's license (all its types on the IP without --type): it keeps its
    /// IP and place in limits, its server is told, its days count apart in usage.
    Suspend {
        #[arg(long)]
        reseller: String,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: LicenseIp,
        #[arg(long = "type")]
        type_id: Option<i32>,
        /// Why (shown to the reseller and in the history).
        #[arg(long)]
        reason: String,
        /// Remove it this long from now unless resumed first: 14d, 2w, 36h...
        #[arg(long, value_parser = super::output::duration)]
        remove_after: Option<chrono::Duration>,
    },
    /// Resume a reseller's suspended license (all its types on the IP without --type).
    Resume {
        #[arg(long)]
        reseller: String,
        #[arg(long, value_parser = super::args::license_ip)]
        ip: LicenseIp,
        #[arg(long = "type")]
        type_id: Option<i32>,
    },
    /// Move a license (every type its reseller holds on OLD_IP without --type) to NEW_IP,
    /// keeping its created date, trial state and ELS.
    Move {
        #[arg(value_parser = super::args::license_ip)]
        old_ip: LicenseIp,
        #[arg(value_parser = super::args::license_ip)]
        new_ip: LicenseIp,
        #[arg(long = "type")]
        type_id: Option<i32>,
        /// Whose license (default: the one reseller holding licenses on OLD_IP).
        #[arg(long)]
        reseller: Option<String>,
    },
}

pub fn run(
    config: &Config,
    clock: Arc<dyn Clock>,
    command: LicenseCommand,
) -> Result<(), CliError> {
    match command {
        LicenseCommand::List {
            reseller,
            ip,
            format,
        } => list(config, clock.as_ref(), reseller, ip, format),
        LicenseCommand::Register {
            reseller,
            ip,
            type_id,
            els,
            note,
            external_id,
        } => {
            let text = |t: Option<String>| t.unwrap_or_default();
            let request = Registration {
                ip,
                type_id,
                els_allowed: els,
                note: licenses::note_text(&text(note)).map_err(domain_error)?,
                external_id: licenses::external_id_text(&text(external_id))
                    .map_err(domain_error)?,
            };
            let (relay, policy) = relay(config, clock)?;
            let license = actix_web::rt::System::new().block_on(super::pooled(register(
                &relay,
                ActingFor::Login(reseller.clone()),
                Source::Cli,
                policy,
                request,
            )))?;
            output::line(&format!(
                "{reseller} holds {} type {} (created {} UTC)",
                license.ip,
                license.type_id,
                license.created_at.format("%Y-%m-%d %H:%M")
            ));
            Ok(())
        }
        LicenseCommand::Remove {
            reseller,
            ip,
            type_id,
        } => {
            let (mut conn, _) = connect(config)?;
            let now = clock.now().naive_utc();
            let shown = ip.to_string();
            let removed = act(
                &mut conn,
                ActingFor::Login(reseller.clone()),
                &Source::Cli,
                now,
                |c, actor| licenses::remove(c, actor, &ip, type_id),
            )
            .map_err(domain_error)?;
            output::line(&if removed {
                format!("removed {reseller}'s license(s) on {shown}")
            } else {
                format!("{reseller} holds no such license on {shown}; nothing removed")
            });
            Ok(())
        }
        LicenseCommand::Note {
            reseller,
            ip,
            type_id,
            note,
            external_id,
        } => {
            let change = licenses::AnnotationChange {
                note: note
                    .map(|n| licenses::note_text(&n))
                    .transpose()
                    .map_err(domain_error)?,
                external_id: external_id
                    .map(|e| licenses::external_id_text(&e))
                    .transpose()
                    .map_err(domain_error)?,
            };
            let (mut conn, _) = connect(config)?;
            let now = clock.now().naive_utc();
            let shown = ip.to_string();
            let changed = act(
                &mut conn,
                ActingFor::Login(reseller.clone()),
                &Source::Cli,
                now,
                |c, actor| licenses::annotate(c, actor, &ip, type_id, &change),
            )
            .map_err(domain_error)?;
            for l in changed {
                output::line(&format!(
                    "{reseller}'s {shown} type {}: note {}, external id {}",
                    l.type_id,
                    l.note
                        .as_deref()
                        .map_or("(none)".into(), |n| format!("{n:?}")),
                    l.external_id.as_deref().unwrap_or("(none)")
                ));
            }
            Ok(())
        }
        LicenseCommand::Suspend {
            reseller,
            ip,
            type_id,
            reason,
            remove_after,
        } => {
            let shown = ip.to_string();
            let done = as_reseller(config, clock.as_ref(), &reseller, |c, actor| {
                licenses::suspend(c, actor, &ip, type_id, &reason, remove_after)
            })?;
            let none = "every one was suspended already";
            output::line(&changed_types("suspended", none, &reseller, &shown, &done));
            Ok(())
        }
        LicenseCommand::Resume {
            reseller,
            ip,
            type_id,
        } => {
            let shown = ip.to_string();
            let done = as_reseller(config, clock.as_ref(), &reseller, |c, actor| {
                licenses::resume(c, actor, &ip, type_id)
            })?;
            let none = "none of them was suspended";
            output::line(&changed_types("resumed", none, &reseller, &shown, &done));
            Ok(())
        }
        LicenseCommand::Move {
            old_ip,
            new_ip,
            type_id,
            reseller,
        } => super::license_move::run(
            config,
            clock.now().naive_utc(),
            super::license_move::MoveArgs {
                from: old_ip,
                to: new_ip,
                type_id,
                reseller,
            },
        ),
    }
}

/// Runs `f` as `login`, from the command line.
fn as_reseller<T>(
    config: &Config,
    clock: &dyn Clock,
    login: &str,
    f: impl FnOnce(
        &mut crate::db::DbConnection,
        &crate::domain::Actor<'_>,
    ) -> Result<T, crate::error::DomainError>,
) -> Result<T, CliError> {
    let (mut conn, _) = connect(config)?;
    let now = clock.now().naive_utc();
    act(
        &mut conn,
        ActingFor::Login(login.to_string()),
        &Source::Cli,
        now,
        f,
    )
    .map_err(domain_error)
}

/// "suspended acme's 203.0.113.1 type 1, 16", or why nothing was.
fn changed_types(verb: &str, none: &str, login: &str, ip: &str, licenses: &[License]) -> String {
    if licenses.is_empty() {
        return format!("nothing {verb} on {ip}: {none}");
    }
    let types: Vec<String> = licenses.iter().map(|l| l.type_id.to_string()).collect();
    format!("{verb} {login}'s {ip} type {}", types.join(", "))
}

/// The relay, as `ipls serve` has it, and the operator's policy.
fn relay(config: &Config, clock: Arc<dyn Clock>) -> Result<(Relay, Policy), CliError> {
    let (pool, secrets) = open_database(config)?;
    let policy = Policy {
        allow_private_ips: config.allow_private_ips,
        trial_days: config.trial_days,
    };
    Ok((
        Relay::new(pool, clock, Arc::new(secrets), config.relay.clone()),
        policy,
    ))
}

fn list(
    config: &Config,
    clock: &dyn Clock,
    reseller: Option<String>,
    ip: Option<LicenseIp>,
    format: Format,
) -> Result<(), CliError> {
    let now = clock.now().naive_utc();
    let (mut conn, _) = connect(config)?;
    let mut query = ip_licenses::table
        .inner_join(resellers::table)
        .select((License::as_select(), resellers::login))
        .order((ip_licenses::ip_key, ip_licenses::ip, ip_licenses::type_id))
        .into_boxed();
    if let Some(login) = &reseller {
        query = query.filter(resellers::login.eq(login.clone()));
    }
    if let Some(ip) = &ip {
        query = query.filter(ip_licenses::ip.eq(ip.to_string()));
    }
    let rows: Vec<(License, String)> = query.load(&mut conn).map_err(|e| domain_error(e.into()))?;
    let pending = ops::pending_among(&mut conn, None).map_err(domain_error)?;
    let ids: Vec<i64> = rows.iter().map(|(l, _)| l.id).collect();
    let suspended = licenses::suspensions_of(&mut conn, &ids).map_err(domain_error)?;
    let cells: Vec<Vec<Cell>> = rows
        .into_iter()
        .map(|(l, login)| {
            let status = match (l.trial_expires_at, suspended.get(&l.id)) {
                (_, Some(s)) => format!("suspended: {}", s.reason),
                (None, None) => "paid".to_string(),
                (Some(_), None) if l.is_expired(now) => "trial, expired".to_string(),
                (Some(_), None) => "trial".to_string(),
            };
            let upstream = RelayStatus::of(&l, &pending).map(RelayStatus::as_str);
            vec![
                Cell::text(l.ip),
                Cell::int(l.type_id),
                Cell::text(login),
                Cell::Time(l.created_at),
                Cell::Bool(l.registered_at.is_some()),
                Cell::Bool(l.els_allowed),
                Cell::text(status),
                Cell::opt_time(l.trial_expires_at),
                Cell::opt_text(upstream),
                Cell::opt_text(l.external_id.as_deref()),
                Cell::opt_text(l.note.as_deref()),
            ]
        })
        .collect();
    output::print(format, LICENSE_COLUMNS, &cells);
    if format == Format::Table {
        output::line(&format!("{} license(s)", cells.len()));
    }
    Ok(())
}

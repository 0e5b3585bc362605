//! `ipls import cln`: brings a reseller's account over from CloudLinux Network (or any
//! CLN-compatible service) through its REST API: list.json once, then server.json for up to
//! 100 addresses per call (registration, last check-in, server_info) at `--rate` calls per
//! second, importing each batch as it arrives; each license's ELS setting where the service
//! says it; then its KernelCare and Imunify activation keys with their servers, where it
//! answers the key calls. Idempotent and resumable: a second run finds what the first
//! imported already present. Exits 3 while conflicts or failures remain.
//!
//! Licenses of a type routed to an upstream: read from that upstream (`--upstream NAME`),
//! they are claimed there; read from elsewhere, each is registered at its upstream first.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;

use chrono::Utc;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use super::error::CliError;
use crate::bootstrap::open_database;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::db;
use crate::db::models::{Reseller, Upstream};
use crate::domain::actor::Source;
use crate::domain::import::{import, Incoming, Outcome, Relay as Routing};
use crate::domain::ip::LicenseIp;
use crate::domain::keys::import::{import_key, IncomingKey};
use crate::domain::resellers;
use crate::domain::upstream::{route_of, upstreams};
use crate::error::DomainError;
use crate::upstream::cln::{cln_date, ListRow, ServerRow, SERVER_BATCH};
use crate::upstream::relay::{complete, Ending};
use crate::upstream::source::Account;
use crate::upstream::Relay;

/// The exit status while conflicts or failures remain (1 is a failed command).
pub const SOMETHING_REMAINS: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an account's IP licenses and activation keys from CLN or a CLN-compatible
    /// service.
    Cln(ClnArgs),
}

#[derive(Debug, Args)]
pub struct ClnArgs {
    /// The service's base URL, e.g. https://cln.cloudlinux.com (or --upstream).
    #[arg(
        long,
        required_unless_present = "upstream",
        conflicts_with = "upstream"
    )]
    url: Option<String>,
    /// The account's API login there.
    #[arg(long, requires = "url")]
    login: Option<String>,
    /// The account's IP secret key there (or IPLS_IMPORT_SECRET).
    #[arg(long, env = "IPLS_IMPORT_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Read the account of this upstream (`ipls upstream add`): what it holds of the types
    /// routed to it stays there and is claimed.
    #[arg(long)]
    upstream: Option<String>,
    /// The local reseller that receives the licenses and keys.
    #[arg(long)]
    into_reseller: String,
    /// Calls per second to the service, at most.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i32).range(1..=10_000))]
    rate: i32,
    /// Leave activation keys alone.
    #[arg(long)]
    no_keys: bool,
}

#[derive(Default)]
struct Tally {
    imported: usize,
    present: usize,
    conflicts: Vec<String>,
    failed: Vec<String>,
    /// Imported with ELS off because the service does not say.
    els_unknown: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Imported => self.imported += 1,
            Outcome::AlreadyPresent => self.present += 1,
            Outcome::Conflict(why) => self.conflicts.push(why),
            Outcome::Failed(why) => self.failed.push(why),
            Outcome::Begun(license, _) => self.failed.push(format!(
                "{} type {}: not settled",
                license.ip, license.type_id
            )),
        }
    }

    fn line(&self, verb: &str) -> String {
        format!(
            "{verb} {}, already present {}, conflicts {}, failed {}",
            self.imported,
            self.present,
            self.conflicts.len(),
            self.failed.len()
        )
    }

    fn remaining(&self) -> usize {
        self.conflicts.len() + self.failed.len()
    }
}

/// Where to read, and what the history calls it.
async fn account_of(
    args: &ClnArgs,
    relay: &Relay,
) -> Result<(Account, String, Option<i64>), CliError> {
    if let Some(name) = args.upstream.clone() {
        let upstream = db::run(&relay.pool, move |c| upstreams::get(c, &name)).await?;
        let secret = upstreams::clear_secret(&upstream, &relay.secrets)?;
        let source = Source::Import(host_of(&upstream.url)?).to_string();
        let id = upstream.id;
        let paced = Upstream {
            rate_per_second: args.rate,
            concurrency: 1,
            ..upstream
        };
        return Ok((Account::new(paced, secret), source, Some(id)));
    }
    let url = upstreams::normalise_url(args.url.as_deref().unwrap_or_default())?;
    let login = args
        .login
        .clone()
        .ok_or_else(|| CliError::usage("--login names the account at --url"))?;
    let secret = args
        .secret
        .clone()
        .ok_or_else(|| CliError::usage("give the account's secret in IPLS_IMPORT_SECRET"))?;
    let source = Source::Import(host_of(&url)?).to_string();
    let now = Utc::now().naive_utc();
    // Not stored: the client needs only these fields of an upstream.
    let remote = Upstream {
        id: -1,
        name: "import source".into(),
        url,
        login,
        secret: String::new(),
        concurrency: 1,
        rate_per_second: args.rate,
        created_at: now,
        reconcile_lease_until: None,
        reconcile_lease_owner: None,
        last_reconcile_at: None,
        last_reconcile_counts: None,
        failing_alerted_at: None,
    };
    Ok((Account::new(remote, secret), source, None))
}

fn host_of(url: &str) -> Result<String, CliError> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .ok_or_else(|| CliError::usage(format!("{url:?} is not a URL")))
}

pub fn run(config: &Config, command: ImportCommand) -> Result<(), CliError> {
    let ImportCommand::Cln(args) = command;
    let (pool, secrets) = open_database(config)?;
    let relay = Relay::new(
        pool,
        Arc::new(SystemClock),
        Arc::new(secrets),
        config.relay.clone(),
    );
    let verb = if super::dry_run_requested() {
        "would import"
    } else {
        "imported"
    };
    let (licenses, keys) = actix_web::rt::System::new().block_on(async {
        let login = args.into_reseller.clone();
        let reseller = db::run(&relay.pool, move |c| resellers::get(c, &login)).await?;
        let (account, source, from_upstream) = account_of(&args, &relay).await?;
        let job = Job {
            relay: &relay,
            reseller: &reseller,
            source: &source,
            from_upstream,
            dry_run: super::dry_run_requested(),
        };
        let licenses = job.licenses(&account).await?;
        let keys = if args.no_keys {
            None
        } else {
            Some(job.keys(&account).await?)
        };
        Ok::<_, CliError>((licenses, keys))
    })?;
    let mut remaining = licenses.remaining();
    for why in licenses.conflicts.iter().chain(&licenses.failed).take(50) {
        println!("  {why}");
    }
    if licenses.els_unknown > 0 {
        println!(
            "  ELS: the service does not say it; {} license(s) {verb} with ELS off (set it with update.json)",
            licenses.els_unknown
        );
    }
    if let Some((keys, notes)) = &keys {
        remaining += keys.remaining();
        for why in keys.conflicts.iter().chain(&keys.failed).take(50) {
            println!("  {why}");
        }
        for note in notes {
            println!("  {note}");
        }
        println!("keys: {}", keys.line(verb));
    }
    println!("{}", licenses.line(verb));
    if remaining > 0 {
        return Err(CliError {
            message: String::new(),
            exit: SOMETHING_REMAINS,
        });
    }
    Ok(())
}

/// One import's constants.
struct Job<'a> {
    relay: &'a Relay,
    reseller: &'a Reseller,
    source: &'a str,
    /// The upstream the account is read from, when it is one.
    from_upstream: Option<i64>,
    dry_run: bool,
}

impl Job<'_> {
    async fn licenses(&self, account: &Account) -> Result<Tally, CliError> {
        let rows = account.licenses().await?;
        let els = account.els_settings().await;
        let progress = Progress::new(rows.len() as u64, self.dry_run);
        let mut by_ip: Vec<(String, Vec<ListRow>)> = Vec::new();
        for row in rows {
            match by_ip.last_mut() {
                Some((ip, group)) if *ip == row.ip => group.push(row),
                _ => by_ip.push((row.ip.clone(), vec![row])),
            }
        }
        let mut tally = Tally::default();
        for chunk in by_ip.chunks(SERVER_BATCH) {
            let ips: Vec<&str> = chunk.iter().map(|(ip, _)| ip.as_str()).collect();
            let details: HashMap<(String, i32), ServerRow> = account
                .servers(&ips)
                .await?
                .into_iter()
                .map(|s| ((s.ip.clone(), s.type_id), s))
                .collect();
            for row in chunk.iter().flat_map(|(_, group)| group) {
                let detail = details.get(&(row.ip.clone(), row.type_id));
                let setting = detail
                    .and_then(|d| d.els_allowed)
                    .or(row.els_allowed)
                    .or_else(|| els.as_ref()?.get(&(row.ip.clone(), row.type_id)).copied());
                if setting.is_none() {
                    tally.els_unknown += 1;
                }
                let outcome = self.one(row, detail, setting.unwrap_or(false)).await?;
                tally.add(outcome);
                progress.step(&tally);
            }
        }
        progress.finish();
        Ok(tally)
    }

    /// One license: read, imported (a lost race with another writer is decided again), and
    /// for a routed type from elsewhere registered at its upstream.
    async fn one(
        &self,
        row: &ListRow,
        detail: Option<&ServerRow>,
        els_allowed: bool,
    ) -> Result<Outcome, CliError> {
        let Some(ip) = LicenseIp::parse(&row.ip) else {
            return Ok(Outcome::Failed(format!("{:?}: not an IP address", row.ip)));
        };
        let Some(created) = cln_date(&row.created) else {
            return Ok(Outcome::Failed(format!(
                "{}: created {:?} is not a CLN date",
                row.ip, row.created
            )));
        };
        let incoming = Incoming {
            ip,
            type_id: row.type_id,
            created,
            registered: row.registered,
            last_checkin: detail
                .and_then(|d| d.last_checkin.as_deref())
                .and_then(cln_date),
            server_info: detail.and_then(|d| d.server_info.clone()),
            els_allowed,
        };
        let (reseller, source) = (self.reseller.clone(), self.source.to_string());
        let (dry_run, from) = (self.dry_run, self.from_upstream);
        let (outcome, route) = db::run(&self.relay.pool, move |c| {
            let route = route_of(c, incoming.type_id)?;
            let routing = match &route {
                None => Routing::Local,
                Some(u) if Some(u.id) == from => Routing::Claim(u.id),
                Some(u) => Routing::Intent(u.id),
            };
            let now = Utc::now().naive_utc();
            let attempt = |c: &mut db::DbConnection| {
                import(c, &reseller, &incoming, &source, now, dry_run, routing)
            };
            let outcome = match attempt(c) {
                Err(DomainError::Conflict(_)) => attempt(c)?,
                other => other?,
            };
            Ok((outcome, route))
        })
        .await?;
        let (Outcome::Begun(intent, detail), Some(upstream)) = (&outcome, route) else {
            return Ok(outcome);
        };
        let source = Source::parse(self.source);
        let ending = Ending {
            reseller: self.reseller,
            source: &source,
            detail: Some(detail.clone()),
        };
        let what = format!("{} type {}", intent.ip, intent.type_id);
        Ok(
            match complete(
                self.relay,
                &upstream,
                (**intent).clone(),
                els_allowed,
                ending,
            )
            .await
            {
                Ok(_) => Outcome::Imported,
                Err(e) => Outcome::Failed(format!(
                    "{what}: not registered at upstream {}: {}",
                    upstream.name,
                    e.public_message()
                )),
            },
        )
    }

    /// KernelCare and Imunify keys with their servers; notes say what the service did not
    /// answer.
    async fn keys(&self, account: &Account) -> Result<(Tally, Vec<String>), CliError> {
        let now = Utc::now().naive_utc();
        let mut tally = Tally::default();
        let mut notes = Vec::new();
        let found = [
            ("KernelCare", account.kernelcare_keys(now).await),
            ("Imunify", account.imunify_keys(now).await),
            ("CloudLinux OS", account.cloudlinux_keys(now).await),
            ("ELS", account.els_keys(now).await),
        ];
        for (product, keys) in found {
            let keys: Vec<IncomingKey> = match keys {
                None => {
                    notes.push(format!(
                        "keys: the service does not answer the {product} key calls; its {product} keys were not read"
                    ));
                    continue;
                }
                Some(listed) => listed?,
            };
            for key in keys {
                let (reseller, source, dry_run) =
                    (self.reseller.clone(), self.source.to_string(), self.dry_run);
                let outcome = db::run(&self.relay.pool, move |c| {
                    import_key(c, &reseller, &key, &source, now, dry_run)
                })
                .await?;
                tally.add(outcome);
            }
        }
        Ok((tally, notes))
    }
}

/// A progress bar on a terminal; otherwise a plain line at every tenth.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: std::cell::Cell<u64>,
}

impl Progress {
    fn new(total: u64, dry_run: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} licenses, {per_sec}, eta {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        if dry_run {
            eprintln!("dry run: nothing will be changed");
        }
        Self {
            bar,
            total,
            done: std::cell::Cell::new(0),
        }
    }

    fn step(&self, tally: &Tally) {
        let done = self.done.get() + 1;
        self.done.set(done);
        let message = format!(
            "(imported {}, present {}, conflicts {}, failed {})",
            tally.imported,
            tally.present,
            tally.conflicts.len(),
            tally.failed.len()
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(message);
            }
            None if done == self.total || done % (self.total / 10).max(1) == 0 => {
                eprintln!("{done}/{} licenses {message}", self.total);
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

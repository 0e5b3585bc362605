//! `ipls import cln`: brings a reseller's licenses over from CloudLinux Network (or any
//! CLN-compatible service) through its REST API: list.json once, then server.json for up to
//! 100 addresses per call (registration, last check-in, server_info) at `--rate` calls per
//! second, importing each batch as it arrives. Idempotent and resumable: a second run finds
//! what the first imported already present.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::Value;

use super::error::CliError;
use super::{connect, domain_error};
use crate::auth::{self, HashForm};
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::import::{import, Incoming, Outcome};
use crate::domain::ip::LicenseIp;
use crate::domain::resellers;
use crate::error::DomainError;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an account's IP licenses from CLN or a CLN-compatible service.
    Cln(ClnArgs),
}

#[derive(Debug, Args)]
pub struct ClnArgs {
    /// The service's base URL, e.g. https://cln.cloudlinux.com.
    #[arg(long)]
    url: String,
    /// The account's API login there.
    #[arg(long)]
    login: String,
    /// The account's IP secret key there (or IPLS_IMPORT_SECRET).
    #[arg(long, env = "IPLS_IMPORT_SECRET", hide_env_values = true)]
    secret: String,
    /// The local reseller that receives the licenses.
    #[arg(long)]
    into_reseller: String,
    /// Change nothing; print what an import would do.
    #[arg(long)]
    dry_run: bool,
    /// Calls per second to the service, at most.
    #[arg(long, default_value_t = 5.0, value_parser = positive_rate)]
    rate: f64,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 10_000.0 => Ok(r),
        _ => Err("a number of calls per second above 0 (at most 10000)".into()),
    }
}

/// Addresses per server.json call (the contract's maximum).
const SERVER_BATCH: usize = 100;

#[derive(Deserialize)]
struct ListRow {
    ip: String,
    #[serde(rename = "type")]
    type_id: i32,
    created: String,
    registered: bool,
}

#[derive(Deserialize)]
struct ServerRow {
    ip: String,
    #[serde(rename = "type")]
    type_id: i32,
    server_info: Option<String>,
    last_checkin: Option<String>,
}

/// CLN's date form: `2026-11-28T21:05+0000`.
fn cln_date(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%z")
        .ok()
        .map(|d| d.naive_utc())
}

struct Remote {
    client: reqwest::Client,
    base: String,
    login: String,
    secret: String,
    interval: Duration,
    last_call: Option<Instant>,
}

impl Remote {
    /// One call's `data`, after waiting out the rate.
    async fn call(&mut self, endpoint: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        if let Some(last) = self.last_call {
            let wait = self.interval.saturating_sub(last.elapsed());
            if !wait.is_zero() {
                actix_web::rt::time::sleep(wait).await;
            }
        }
        self.last_call = Some(Instant::now());
        let token = auth::mint(
            &self.login,
            &self.secret,
            Utc::now().timestamp(),
            HashForm::LegacySha1,
        );
        let url = format!("{}/api/ipl/{endpoint}.json", self.base);
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("token", &token));
        let answer = self
            .client
            .get(&url)
            .query(&query)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| format!("{url}: HTTP {status}: {e}"))?;
        let envelope: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("{url}: HTTP {status}, not a CLN answer: {e}"))?;
        if envelope["success"] != true {
            return Err(format!(
                "{url}: {}",
                envelope["message"].as_str().unwrap_or("the call failed")
            ));
        }
        Ok(envelope["data"].clone())
    }
}

#[derive(Default)]
struct Tally {
    imported: usize,
    present: usize,
    conflicts: Vec<String>,
    failed: Vec<String>,
}

pub fn run(config: &Config, command: ImportCommand) -> Result<(), CliError> {
    let ImportCommand::Cln(args) = command;
    let (mut conn, _) = connect(config)?;
    let reseller = resellers::get(&mut conn, &args.into_reseller).map_err(domain_error)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("ipls-import/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let base = args.url.trim_end_matches('/').to_string();
    let host = reqwest::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .ok_or_else(|| format!("--url {:?} is not a URL", args.url))?;
    let mut remote = Remote {
        client,
        base,
        login: args.login.clone(),
        secret: args.secret.clone(),
        interval: Duration::from_secs_f64(1.0 / args.rate),
        last_call: None,
    };
    let source = format!("import:{host}");
    let runtime = actix_web::rt::System::new();
    let tally = runtime.block_on(async {
        let listed = remote.call("list", &[]).await?;
        let rows: Vec<ListRow> = serde_json::from_value(listed)
            .map_err(|e| format!("list.json: unexpected rows: {e}"))?;
        let progress = Progress::new(rows.len() as u64, args.dry_run);
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
            let joined = ips.join(",");
            let servers: Vec<ServerRow> =
                serde_json::from_value(remote.call("server", &[("ip", &joined)]).await?)
                    .map_err(|e| format!("server.json: unexpected rows: {e}"))?;
            let details: HashMap<(String, i32), ServerRow> = servers
                .into_iter()
                .map(|s| ((s.ip.clone(), s.type_id), s))
                .collect();
            for row in chunk.iter().flat_map(|(_, group)| group) {
                let outcome = one(&mut conn, &reseller, row, &details, &source, args.dry_run)
                    .map_err(|e| CliError::from(e).message)?;
                match outcome {
                    Outcome::Imported => tally.imported += 1,
                    Outcome::AlreadyPresent => tally.present += 1,
                    Outcome::Conflict(why) => tally.conflicts.push(why),
                    Outcome::Failed(why) => tally.failed.push(why),
                }
                progress.step(&tally);
            }
        }
        progress.finish();
        Ok::<Tally, String>(tally)
    })?;
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    for why in tally.conflicts.iter().chain(&tally.failed).take(50) {
        println!("  {why}");
    }
    println!(
        "{verb} {}, already present {}, conflicts {}, failed {}",
        tally.imported,
        tally.present,
        tally.conflicts.len(),
        tally.failed.len()
    );
    Ok(())
}

/// One license: read, then imported (a lost race with another writer is decided again).
fn one(
    conn: &mut DbConnection,
    reseller: &crate::db::models::Reseller,
    row: &ListRow,
    details: &HashMap<(String, i32), ServerRow>,
    source: &str,
    dry_run: bool,
) -> Result<Outcome, DomainError> {
    let Some(ip) = LicenseIp::parse(&row.ip) else {
        return Ok(Outcome::Failed(format!("{:?}: not an IP address", row.ip)));
    };
    let Some(created) = cln_date(&row.created) else {
        return Ok(Outcome::Failed(format!(
            "{}: created {:?} is not a CLN date",
            row.ip, row.created
        )));
    };
    let detail = details.get(&(row.ip.clone(), row.type_id));
    let incoming = Incoming {
        ip,
        type_id: row.type_id,
        created,
        registered: row.registered,
        last_checkin: detail
            .and_then(|d| d.last_checkin.as_deref())
            .and_then(cln_date),
        server_info: detail.and_then(|d| d.server_info.clone()),
    };
    let now = Utc::now().naive_utc();
    match import(conn, reseller, &incoming, source, now, dry_run) {
        Err(DomainError::Conflict(_)) => import(conn, reseller, &incoming, source, now, dry_run),
        other => other,
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

//! `ipls upstream ...`: the upstreams licenses are carried to (docs/upstream.md).

use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::args::{type_list, TypeList};
use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use crate::bootstrap::open_database;
use crate::clock::Clock;
use crate::config::Config;
use crate::db;
use crate::domain::actor::Source;
use crate::domain::upstream::ops::{self, PENDING};
use crate::domain::upstream::reconcile::Repair;
use crate::domain::upstream::upstreams::{self, NewUpstream, UpstreamView};
use crate::upstream::reconcile::{self, stored_counts, Options};
use crate::upstream::{worker, Relay};

#[derive(Debug, Subcommand)]
pub enum UpstreamCommand {
    /// Add an upstream and route types to it. The secret comes from IPLS_UPSTREAM_SECRET or,
    /// with --secret-stdin, the first line of standard input (never an argument).
    Add(AddArgs),
    /// Route exactly these types to the upstream (each type goes to one upstream at most).
    Types {
        name: String,
        #[arg(value_parser = type_list)]
        types: TypeList,
    },
    /// List upstreams, their types, changes waiting and last reconcile.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One upstream, with its changes still waiting to be carried.
    Show {
        name: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove an upstream: its types stay local from then on. Refused while changes wait for
    /// it, unless --force (they are dropped).
    Remove {
        name: String,
        #[arg(long)]
        force: bool,
    },
    /// Call the upstream with its credentials and say what it holds.
    Test { name: String },
    /// Compare the upstream's licenses with the local ones; exits 3 while differences remain.
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    name: String,
    /// The upstream's base URL, e.g. https://cln.cloudlinux.com.
    #[arg(long)]
    url: String,
    /// ipls's API login there.
    #[arg(long)]
    login: String,
    /// The license types carried to it, e.g. 1,16,41.
    #[arg(long, value_parser = type_list)]
    types: TypeList,
    /// Read the secret from the first line of standard input.
    #[arg(long)]
    secret_stdin: bool,
    /// Calls at once to it from each instance.
    #[arg(long, default_value_t = upstreams::DEFAULT_CONCURRENCY)]
    concurrency: i32,
    /// Calls per second to it from each instance.
    #[arg(long, default_value_t = upstreams::DEFAULT_RATE)]
    rate: i32,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    name: String,
    /// Repair what is ipls's (queued to the upstream and carried before the command ends).
    #[arg(long)]
    repair: bool,
    /// Take licenses held upstream that were never ipls's in under this local reseller.
    #[arg(long)]
    adopt: Option<String>,
    /// Skip bringing the servers' check-ins over from server.json.
    #[arg(long)]
    no_checkins: bool,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The exit status while differences remain: apart from 1 (the command failed).
pub const DIFFERENCES_REMAIN: u8 = 3;

/// How long `reconcile --repair` carries what it queued before it compares again.
const REPAIR_DRAIN: Duration = Duration::from_secs(120);

pub fn run(
    config: &Config,
    clock: Arc<dyn Clock>,
    command: UpstreamCommand,
) -> Result<(), CliError> {
    let (pool, secrets) = open_database(config)?;
    let relay = Relay::new(pool, clock, Arc::new(secrets), config.relay.clone());
    actix_web::rt::System::new().block_on(super::pooled(async move {
        match command {
            UpstreamCommand::Add(args) => add(&relay, args).await,
            UpstreamCommand::Types { name, types } => {
                let view = db::run(&relay.pool, move |c| {
                    upstreams::set_types(c, &name, &types.0)
                })
                .await?;
                output::line(&format!(
                    "upstream {} now takes types {}",
                    view.upstream.name,
                    join(&view.types)
                ));
                Ok(())
            }
            UpstreamCommand::List { format } => list(&relay, format).await,
            UpstreamCommand::Show { name, format } => show(&relay, name, format).await,
            UpstreamCommand::Remove { name, force } => {
                let shown = name.clone();
                db::run(&relay.pool, move |c| upstreams::remove(c, &name, force)).await?;
                output::line(&format!("removed upstream {shown}; its types stay local"));
                Ok(())
            }
            UpstreamCommand::Test { name } => test(&relay, name).await,
            UpstreamCommand::Reconcile(args) => reconcile(&relay, args).await,
        }
    }))
}

fn join(types: &[i32]) -> String {
    let names: Vec<String> = types.iter().map(i32::to_string).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}

fn read_secret(from_stdin: bool) -> Result<String, CliError> {
    let secret = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the secret from standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        std::env::var("IPLS_UPSTREAM_SECRET").map_err(|_| {
            CliError::usage(
                "give the upstream's secret in IPLS_UPSTREAM_SECRET or with --secret-stdin",
            )
        })?
    };
    if secret.trim().is_empty() {
        return Err(CliError::usage("the upstream's secret is empty"));
    }
    Ok(secret)
}

async fn add(relay: &Relay, args: AddArgs) -> Result<(), CliError> {
    let secret = read_secret(args.secret_stdin)?;
    let now = relay.clock.now().naive_utc();
    let secrets = relay.secrets.clone();
    let view = db::run(&relay.pool, move |c| {
        let new = NewUpstream {
            name: &args.name,
            url: &args.url,
            login: &args.login,
            secret: &secret,
            types: &args.types.0,
            concurrency: args.concurrency,
            rate_per_second: args.rate,
            now,
        };
        upstreams::add(c, &new, &secrets)
    })
    .await?;
    output::line(&format!(
        "added upstream {} at {} (login {}), types {}; check it with: ipls upstream test {}",
        view.upstream.name,
        view.upstream.url,
        view.upstream.login,
        join(&view.types),
        view.upstream.name
    ));
    Ok(())
}

const LIST_COLUMNS: &[Column] = &[
    col("name", "NAME"),
    col("url", "URL"),
    col("login", "LOGIN"),
    col("types", "TYPES"),
    col("pending", "PENDING"),
    col("failing_since", "FAILING SINCE (UTC)"),
    col("last_reconcile_at", "LAST RECONCILE (UTC)"),
    col("differences", "DIFFERENCES"),
];

async fn list(relay: &Relay, format: Format) -> Result<(), CliError> {
    let rows = db::run(&relay.pool, upstreams::overview).await?;
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|(view, health)| {
            let u = &view.upstream;
            let counts = stored_counts(u.last_reconcile_counts.as_deref());
            vec![
                Cell::text(&u.name),
                Cell::text(&u.url),
                Cell::text(&u.login),
                Cell::text(join(&view.types)),
                Cell::int(health.pending),
                Cell::opt_time(health.failing.as_ref().map(|(since, _)| *since)),
                Cell::opt_time(u.last_reconcile_at),
                counts.map_or(Cell::Null, |c| {
                    Cell::int(i64::try_from(c.differences()).unwrap_or(i64::MAX))
                }),
            ]
        })
        .collect();
    output::print(format, LIST_COLUMNS, &cells);
    if format == Format::Table {
        output::line(&format!("{} upstream(s)", cells.len()));
    }
    Ok(())
}

const OP_COLUMNS: &[Column] = &[
    col("id", "ID"),
    col("ip", "IP"),
    col("op", "CHANGE"),
    col("type", "TYPE"),
    col("type_to", "TO"),
    col("created_at", "QUEUED (UTC)"),
    col("attempts", "ATTEMPTS"),
    col("next_attempt_at", "NEXT TRY (UTC)"),
    col("last_error", "LAST ERROR"),
];

async fn show(relay: &Relay, name: String, format: Format) -> Result<(), CliError> {
    let (view, waiting, health): (UpstreamView, _, _) = db::run(&relay.pool, move |c| {
        let view = upstreams::show(c, &name)?;
        let waiting = ops::list(c, view.upstream.id, PENDING, 100)?;
        let health = ops::health(c, view.upstream.id)?;
        Ok((view, waiting, health))
    })
    .await?;
    let cells: Vec<Vec<Cell>> = waiting
        .iter()
        .map(|op| {
            vec![
                Cell::int(op.id),
                Cell::text(&op.ip),
                Cell::text(&op.op),
                Cell::int(op.type_id),
                op.type_to.map_or(Cell::Null, Cell::int),
                Cell::Time(op.created_at),
                Cell::int(op.attempts),
                Cell::opt_time(op.next_attempt_at),
                Cell::opt_text(op.last_error.clone()),
            ]
        })
        .collect();
    if format == Format::Table {
        let u = &view.upstream;
        output::line(&format!(
            "upstream {} at {} (login {})",
            u.name, u.url, u.login
        ));
        output::line(&format!(
            "types {}; at most {} calls at once and {} a second per instance",
            join(&view.types),
            u.concurrency,
            u.rate_per_second
        ));
        let last = match (
            u.last_reconcile_at,
            stored_counts(u.last_reconcile_counts.as_deref()),
        ) {
            (Some(at), Some(counts)) => format!(
                "last reconcile {}: {}",
                at.format("%Y-%m-%d %H:%M"),
                counts.line(&u.name)
            ),
            _ => "never reconciled".to_string(),
        };
        output::line(&last);
        output::line(&match &health.failing {
            Some((since, error)) => format!(
                "{} change(s) waiting; failing since {}: {error}",
                health.pending,
                since.format("%Y-%m-%d %H:%M:%S")
            ),
            None => format!("{} change(s) waiting", health.pending),
        });
    }
    output::print(format, OP_COLUMNS, &cells);
    Ok(())
}

async fn test(relay: &Relay, name: String) -> Result<(), CliError> {
    let view = db::run(&relay.pool, move |c| upstreams::show(c, &name)).await?;
    let found = crate::upstream::probe::probe(relay, &view.upstream).await?;
    output::line(&format!(
        "upstream {} at {}: the credentials of {} are accepted; it holds {} license(s) ({}); \
         types routed here: {}",
        view.upstream.name,
        view.upstream.url,
        view.upstream.login,
        found.total,
        found.by_type_text(),
        join(&view.types)
    ));
    Ok(())
}

/// Carries the repairs this run queued (a running server's worker may carry some of them
/// first) until none waits or each waiting one has failed once; returns how many still wait.
async fn carry_repairs(
    relay: &Relay,
    upstream: &crate::db::models::Upstream,
    started: chrono::NaiveDateTime,
) -> Result<usize, CliError> {
    let deadline = Instant::now() + REPAIR_DRAIN;
    loop {
        worker::carry_due(relay).await?;
        let (id, source) = (upstream.id, Source::Cli.to_string());
        let waiting = db::run(&relay.pool, move |c| {
            ops::pending_from(c, id, &source, started)
        })
        .await?;
        if waiting.iter().all(|op| op.attempts > 0) || Instant::now() >= deadline {
            return Ok(waiting.len());
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

const DIFFERENCE_COLUMNS: &[Column] = &[
    col("kind", "KIND"),
    col("ip", "IP"),
    col("upstream_type", "UPSTREAM TYPE"),
    col("local_type", "LOCAL TYPE"),
    col("reseller", "RESELLER"),
    col("action", "ACTION"),
];

async fn reconcile(relay: &Relay, args: ReconcileArgs) -> Result<(), CliError> {
    let name = args.name.clone();
    let upstream = db::run(&relay.pool, move |c| upstreams::get(c, &name)).await?;
    let options = Options {
        repair: args.repair,
        adopt_into: args.adopt.clone(),
        source: Source::Cli,
        checkins: !args.no_checkins,
    };
    let started = relay.clock.now().naive_utc();
    let outcome = reconcile::run(relay, &upstream, &options).await?;
    let logins = db::run(&relay.pool, crate::domain::resellers::logins_by_id).await?;
    let cells: Vec<Vec<Cell>> = outcome
        .differences
        .iter()
        .map(|(d, repair)| {
            let action = Repair::describe(repair.as_ref());
            vec![
                Cell::text(d.kind.as_str()),
                Cell::text(&d.ip),
                d.upstream_type.map_or(Cell::Null, Cell::int),
                d.local_type.map_or(Cell::Null, Cell::int),
                Cell::opt_text(d.reseller_id.and_then(|id| logins.get(&id).cloned())),
                Cell::text(action),
            ]
        })
        .collect();
    output::print(args.format, DIFFERENCE_COLUMNS, &cells);
    let mut counts = outcome.counts.clone();
    let mut remaining = counts.differences();
    if counts.repaired + counts.adopted > 0 {
        let waiting = carry_repairs(relay, &upstream, started).await?;
        // A second look says what remains; a repair still waiting to be carried (the
        // upstream is failing) is a difference that remains, though that look counts its IP
        // as in flight.
        let again = Options {
            repair: false,
            adopt_into: None,
            checkins: false,
            ..options
        };
        let second = reconcile::run(relay, &upstream, &again).await?;
        remaining = second.counts.differences() + waiting;
        counts.in_flight = second.counts.in_flight;
    }
    let summary = format!("{}; remaining {remaining}", counts.line(&upstream.name));
    let summary = if outcome.checkins > 0 {
        format!("{summary}; check-ins updated {}", outcome.checkins)
    } else {
        summary
    };
    // The summary is the last line: on stdout under a table, on stderr under CSV or JSON
    // (whose stdout stays one document).
    if args.format == Format::Table {
        output::line(&summary);
    } else {
        eprintln!("{summary}");
    }
    if remaining > 0 {
        return Err(CliError {
            message: String::new(),
            exit: DIFFERENCES_REMAIN,
        });
    }
    Ok(())
}

//! `ipls reseller ...` and `ipls token`.

use clap::Subcommand;

use super::args::{grants, limit, on_off, type_list, TypeList};
use super::error::CliError;
use super::output::{self, col, Cell, Format};
use super::{connect, domain_error};
use crate::auth::{self, HashForm};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::catalogue::all_types;
use crate::domain::resellers::{self, AccountChanges, ChangedBy, NewAccount};
use crate::domain::Source;

#[derive(Debug, Subcommand)]
pub enum ResellerCommand {
    /// Create a reseller; prints its secret once.
    Add {
        login: String,
        /// Types it may register, e.g. 1,16,40 (default: every type in the catalogue).
        #[arg(long, value_parser = type_list)]
        types: Option<TypeList>,
        /// Limit for a type, TYPE=N or TYPE=unlimited; repeatable.
        #[arg(long = "limit", value_parser = limit)]
        limits: Vec<(i32, Option<i32>)>,
        /// Trial account: each product family once per account and once per IP (docs/api.md).
        #[arg(long)]
        trial: bool,
        /// Use this secret instead of a random one (at least 16 characters).
        #[arg(long)]
        secret: Option<String>,
    },
    /// List resellers.
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Show one reseller (never its secret).
    Show { login: String },
    /// Replace the first secret with a new random one; prints it once.
    RotateSecret { login: String },
    /// The account's named API secrets, beside its first one (at most 5 in all).
    #[command(subcommand)]
    Secret(super::reseller_secret::SecretCommand),
    /// Block an account: reads keep working, every change is refused with REASON.
    Block {
        login: String,
        #[arg(long)]
        reason: String,
    },
    /// Lift a block.
    Unblock { login: String },
    /// Show or set the account's report mailing per product family (who gets its reports).
    Reports(super::reseller_reports::ReportsArgs),
    /// Change enabled types, limits, or whether legacy sha1 tokens and the API are allowed.
    Set {
        login: String,
        #[arg(long, value_parser = type_list)]
        types: Option<TypeList>,
        #[arg(long = "limit", value_parser = limit)]
        limits: Vec<(i32, Option<i32>)>,
        /// Accept legacy sha1 tokens: on or off.
        #[arg(long, value_parser = on_off)]
        legacy_sha1: Option<bool>,
        /// API access: on or off.
        #[arg(long, value_parser = on_off)]
        api: Option<bool>,
        /// Trial account: on or off.
        #[arg(long, value_parser = on_off)]
        trial: Option<bool>,
        /// Accept API calls only from these addresses/CIDRs, comma-separated ("" = anywhere).
        #[arg(long, value_parser = super::args::allow_from)]
        allow_from: Option<String>,
    },
}

pub fn run(config: &Config, clock: &dyn Clock, command: ResellerCommand) -> Result<(), CliError> {
    let (mut conn, secrets) = connect(config)?;
    let conn = &mut conn;
    let by = ChangedBy {
        source: &Source::Cli,
        now: clock.now().naive_utc(),
    };
    match command {
        ResellerCommand::Add {
            login,
            types,
            limits,
            trial,
            secret,
        } => {
            let account = NewAccountArgs {
                login,
                types,
                limits,
                trial,
                secret,
            };
            add(conn, &secrets, clock, account)?;
        }
        ResellerCommand::List { format } => list(conn, format)?,
        ResellerCommand::Reports(args) => super::reseller_reports::run(conn, &by, args)?,
        ResellerCommand::Show { login } => show(conn, &login)?,
        ResellerCommand::Secret(command) => {
            super::reseller_secret::run(conn, &secrets, &by, command)?
        }
        ResellerCommand::RotateSecret { login } => {
            let secret = resellers::generate_secret().map_err(domain_error)?;
            let changes = AccountChanges {
                secret: Some(secret.clone()),
                ..Default::default()
            };
            resellers::update(conn, &login, &changes, &secrets, &by).map_err(domain_error)?;
            println!("new secret for {login}: {secret}");
            println!(
                "(shown once; tokens made with the old secret stop working within \
                 IPLS_AUTH_CACHE_SECS on running instances, 2 s by default)"
            );
        }
        ResellerCommand::Block { login, reason } => {
            let changes = AccountChanges {
                blocked_reason: Some(Some(reason)),
                ..Default::default()
            };
            resellers::update(conn, &login, &changes, &secrets, &by).map_err(domain_error)?;
            println!("blocked {login}");
        }
        ResellerCommand::Unblock { login } => {
            let changes = AccountChanges {
                blocked_reason: Some(None),
                ..Default::default()
            };
            resellers::update(conn, &login, &changes, &secrets, &by).map_err(domain_error)?;
            println!("unblocked {login}");
        }
        ResellerCommand::Set {
            login,
            types,
            limits,
            legacy_sha1,
            api,
            trial,
            allow_from,
        } => {
            let reseller = resellers::get(conn, &login).map_err(domain_error)?;
            let current = resellers::grants_of(conn, reseller.id).map_err(domain_error)?;
            let new_grants = if types.is_some() || !limits.is_empty() {
                let types = match types {
                    Some(TypeList(types)) => types,
                    None => current.limits.keys().copied().collect(),
                };
                Some(grants(&types, &current.limits, &limits)?)
            } else {
                None
            };
            let changes = AccountChanges {
                grants: new_grants,
                legacy_sha1,
                api_enabled: api,
                trial,
                allow_from,
                ..Default::default()
            };
            resellers::update(conn, &login, &changes, &secrets, &by).map_err(domain_error)?;
            show(conn, &login)?;
        }
    }
    Ok(())
}

/// What `reseller add` was given.
struct NewAccountArgs {
    login: String,
    types: Option<TypeList>,
    limits: Vec<(i32, Option<i32>)>,
    trial: bool,
    secret: Option<String>,
}

fn add(
    conn: &mut crate::db::DbConnection,
    secrets: &crate::secrets::SecretBox,
    clock: &dyn Clock,
    args: NewAccountArgs,
) -> Result<(), CliError> {
    let NewAccountArgs {
        login,
        types,
        limits,
        trial,
        secret,
    } = args;
    let types = match types {
        Some(TypeList(types)) => types,
        None => all_types(conn)
            .map_err(domain_error)?
            .iter()
            .map(|t| t.id)
            .collect(),
    };
    let grants = grants(&types, &Default::default(), &limits)?;
    let secret = match secret {
        Some(s) => s,
        None => resellers::generate_secret().map_err(domain_error)?,
    };
    let account = NewAccount {
        login: &login,
        secret: &secret,
        trial,
        grants: &grants,
        now: clock.now().naive_utc(),
        by: &Source::Cli,
    };
    resellers::create(conn, &account, secrets).map_err(domain_error)?;
    println!("created reseller {login}");
    println!("secret: {secret}");
    println!("(shown once: give it to the reseller as the API secret key)");
    Ok(())
}

fn list(conn: &mut crate::db::DbConnection, format: Format) -> Result<(), CliError> {
    let rows: Vec<Vec<Cell>> = resellers::list(conn)
        .map_err(domain_error)?
        .into_iter()
        .map(|r| {
            vec![
                Cell::text(&r.login),
                Cell::text(state_word(r.blocked_reason.as_deref(), r.api_enabled)),
                Cell::opt_text(r.blocked_reason.clone()),
                Cell::Bool(r.trial),
                Cell::Bool(r.legacy_sha1),
                Cell::Time(r.created_at),
            ]
        })
        .collect();
    output::print(
        format,
        &[
            col("login", "LOGIN"),
            col("state", "STATE"),
            col("blocked_reason", "BLOCKED BECAUSE"),
            col("trial", "TRIAL"),
            col("legacy_sha1", "LEGACY SHA1"),
            col("created_at", "CREATED (UTC)"),
        ],
        &rows,
    );
    Ok(())
}

fn show(conn: &mut crate::db::DbConnection, login: &str) -> Result<(), CliError> {
    let r = resellers::get(conn, login).map_err(domain_error)?;
    let grants = resellers::grants_of(conn, r.id).map_err(domain_error)?;
    println!("login:        {}", r.login);
    println!(
        "state:        {}",
        state_word(r.blocked_reason.as_deref(), r.api_enabled)
    );
    if let Some(reason) = &r.blocked_reason {
        println!("blocked for:  {reason}");
    }
    println!("trial:        {}", yes_no(r.trial));
    println!("legacy sha1:  {}", yes_no(r.legacy_sha1));
    println!(
        "allow from:   {}",
        r.allow_from.as_deref().unwrap_or("anywhere")
    );
    println!(
        "created:      {} UTC",
        r.created_at.format("%Y-%m-%d %H:%M:%S")
    );
    let types: Vec<String> = grants
        .limits
        .iter()
        .map(|(t, l)| match l {
            Some(n) => format!("{t} (limit {n})"),
            None => t.to_string(),
        })
        .collect();
    println!(
        "types:        {}",
        if types.is_empty() {
            "none".into()
        } else {
            types.join(", ")
        }
    );
    Ok(())
}

/// Validates `CIDR,...` and returns its canonical text; empty means "anywhere" (None).
fn state_word(blocked: Option<&str>, api_enabled: bool) -> String {
    match (blocked, api_enabled) {
        (Some(_), _) => "blocked",
        (None, false) => "no-api",
        (None, true) => "active",
    }
    .to_string()
}

fn yes_no(v: bool) -> String {
    if v { "yes" } else { "no" }.to_string()
}

pub fn print_token(
    config: &Config,
    clock: &dyn Clock,
    login: &str,
    hmac: bool,
) -> Result<(), CliError> {
    let (mut conn, secrets) = connect(config)?;
    let reseller = resellers::get(&mut conn, login).map_err(domain_error)?;
    let secret = resellers::clear_secret(&reseller, &secrets).map_err(domain_error)?;
    let form = if hmac {
        HashForm::HmacSha256
    } else {
        HashForm::LegacySha1
    };
    println!(
        "{}",
        auth::mint(&reseller.login, &secret, clock.now().timestamp(), form)
    );
    Ok(())
}

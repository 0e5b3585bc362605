//! The operator's command line (clap). Every command prints one clear line on error and
//! exits non-zero; none panics.

mod admin_token;
mod args;
mod backup;
mod doctor;
mod dry_run;
pub mod error;
mod generated_docs;
mod import;
mod key;
mod license;
mod license_move;
mod mail;
mod output;
#[cfg(test)]
mod parsers_properties;
mod rekey;
mod report;
mod reseller;
mod reseller_reports;
mod reseller_secret;
mod serve;
mod table;
mod upstream;
mod user;
mod webhook;

use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::{self, migrate, DbConnection};
use crate::error::DomainError;
use crate::secrets::SecretBox;
use error::CliError;

#[derive(Debug, Parser)]
#[command(
    name = "ipls",
    version,
    about = "IP-license reseller API server (CLN-compatible)"
)]
pub struct Cli {
    /// Database: postgres://... or sqlite://PATH (default sqlite://ipls.db).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Run every rule of the change and roll it back: print what would happen, change
    /// nothing (commands that send something out, or write files, refuse it).
    #[arg(long, global = true)]
    dry_run: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (migrations are applied first).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage reseller accounts.
    #[command(subcommand)]
    Reseller(reseller::ResellerCommand),
    /// Print a token valid now for LOGIN, for curl.
    Token {
        login: String,
        /// Mint the HMAC-SHA256 form instead of the legacy sha1 form.
        #[arg(long)]
        hmac: bool,
    },
    /// List, register and remove licenses.
    #[command(subcommand)]
    License(license::LicenseCommand),
    /// Activation keys (KernelCare, Imunify) and the servers registered with them.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Reports: stale servers, usage for billing.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// The license history: who changed what, when, from where.
    Audit {
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, value_parser = args::license_ip)]
        ip: Option<crate::domain::ip::LicenseIp>,
        /// YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC), or a duration back from now (7d).
        #[arg(long)]
        since: Option<String>,
        /// Show at most the newest N events.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
    },
    /// Re-seal every reseller secret under a new master key (generated unless given).
    Rekey {
        /// The new key, 64 hex characters.
        #[arg(long)]
        new_key: Option<String>,
    },
    /// Monthly prices per type, for usage amounts.
    #[command(subcommand)]
    Price(report::PriceCommand),
    /// Web console users: operators and resellers' users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Operator tokens for the admin API (/api/admin/v1).
    #[command(subcommand)]
    AdminToken(admin_token::AdminTokenCommand),
    /// Webhook endpoints and their deliveries.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Mail to people, through IPLS_SMTP_URL.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions { shell: clap_complete::Shell },
    /// Write man pages for every command into DIR.
    #[command(hide = true)]
    Man { dir: std::path::PathBuf },
    /// Upstreams (CLN, or a CLN-compatible API) that licenses of some types are carried to.
    #[command(subcommand)]
    Upstream(upstream::UpstreamCommand),
    /// Bring licenses over from CLN (or a CLN-compatible service).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Check the setup: settings, database and schema, master key, TLS, bind address, trusted
    /// proxies, clock, mail. One line per check; exits non-zero when one fails.
    Doctor,
    /// Copy a live SQLite database and its master key file to DEST (and DEST.key), checked.
    Backup { dest: std::path::PathBuf },
    /// Put a backup in place of the configured SQLite database, after checking it opens with
    /// its key; --force replaces an existing database (stop ipls first).
    Restore {
        source: std::path::PathBuf,
        #[arg(long)]
        force: bool,
    },
}

/// The command line, or the process ends: `--help` and `--version` print in full and exit 0;
/// a usage error is one line, like every other error of ipls, and exits 2 (before anything
/// was opened or changed).
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    std::process::exit(0);
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    std::process::exit(2);
                }
                _ => {
                    // clap's first paragraph (the error, and what it names on the next
                    // lines), folded into one line; its usage block is left out.
                    let rendered = e.to_string();
                    let paragraph = rendered.split("\n\n").next().unwrap_or_default();
                    let words: Vec<&str> = paragraph.split_whitespace().collect();
                    eprintln!("{} (see ipls --help)", words.join(" "));
                    std::process::exit(2);
                }
            }
        }
    }
}

/// Parses the command line and runs it. Returns the process's error line, if any.
pub fn run() -> Result<(), CliError> {
    let cli = parse_args();
    // These need no settings and no database.
    match &cli.command {
        Command::Completions { shell } => return generated_docs::completions(*shell),
        Command::Man { dir } => return generated_docs::man_pages(dir),
        _ => {}
    }
    if let Command::Doctor = cli.command {
        // The doctor reports settings that do not parse instead of stopping at them.
        let config = Config::from_env().and_then(|mut config| {
            if let Some(url) = &cli.database_url {
                config.database_url = db::DatabaseUrl::parse(url)?
                    .behind_pooler(config.database_url.transaction_pooler);
            }
            Ok(config)
        });
        return doctor::run(config);
    }
    let mut config = Config::from_env()?;
    if let Some(url) = &cli.database_url {
        config.database_url =
            db::DatabaseUrl::parse(url)?.behind_pooler(config.database_url.transaction_pooler);
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    if cli.dry_run {
        dry_run::refuse_where_impossible(&cli.command)?;
        DRY_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let done = run_command(cli.command, config, clock);
    if cli.dry_run && done.is_ok() {
        output::line("dry run: every rule was checked and nothing was changed");
    }
    done
}

/// Set by `--dry-run`: connections begin a transaction that is never committed.
static DRY_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether this run is a dry run (`--dry-run`).
fn dry_run_requested() -> bool {
    DRY_RUN.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `work` (a command's calls through the pool) as a dry run when one was asked for.
async fn pooled<F: std::future::Future>(work: F) -> F::Output {
    if dry_run_requested() {
        db::dry_run::in_request(work).await
    } else {
        work.await
    }
}

fn run_command(command: Command, config: Config, clock: Arc<dyn Clock>) -> Result<(), CliError> {
    match command {
        Command::Serve(args) => serve::run(config, clock, args),
        Command::Migrate => {
            migrate::refuse_newer(&migrate::schema_state(&config.database_url)?)?;
            let applied = migrate::run_pending(&config.database_url)?;
            if applied.is_empty() {
                println!("database is up to date");
            }
            for version in applied {
                println!("applied {version}");
            }
            Ok(())
        }
        Command::Reseller(command) => reseller::run(&config, clock.as_ref(), command),
        Command::Token { login, hmac } => {
            reseller::print_token(&config, clock.as_ref(), &login, hmac)
        }
        Command::License(command) => license::run(&config, clock, command),
        Command::Key(command) => key::run(&config, clock.as_ref(), command),
        Command::Report(command) => report::run(&config, clock.as_ref(), command),
        Command::Audit {
            reseller,
            ip,
            since,
            limit,
            format,
        } => report::audit(
            &config,
            clock.as_ref(),
            report::AuditArgs {
                reseller,
                ip,
                since,
                limit,
                format,
            },
        ),
        Command::Price(command) => report::price(&config, clock.as_ref(), command),
        Command::Rekey { new_key } => rekey::run(&config, new_key),
        Command::User(command) => user::run(&config, clock.as_ref(), command),
        Command::AdminToken(command) => admin_token::run(&config, clock.as_ref(), command),
        Command::Webhook(command) => webhook::run(&config, clock.as_ref(), command),
        Command::Mail(command) => mail::run(&config, command),
        Command::Import(command) => import::run(&config, command),
        Command::Upstream(command) => upstream::run(&config, clock, command),
        // Handled before the settings are read, above.
        Command::Doctor | Command::Completions { .. } | Command::Man { .. } => Ok(()),
        Command::Backup { dest } => backup::backup(&config, &dest),
        Command::Restore { source, force } => backup::restore(&config, &source, force),
    }
}

/// Checks the schema is current, loads the master key, then opens one connection for an
/// operator command.
fn connect(config: &Config) -> Result<(DbConnection, SecretBox), CliError> {
    let (mut conn, secrets) = crate::bootstrap::prepare(config)?;
    if dry_run_requested() {
        db::dry_run::hold_open(&mut conn)?;
    }
    Ok((conn, secrets))
}

fn domain_error(e: DomainError) -> CliError {
    e.into()
}

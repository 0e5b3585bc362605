//! `ipls user ...`: console users (operators, and resellers' users).

use std::io::BufRead;

use clap::{Subcommand, ValueEnum};

use super::error::CliError;
use super::output::{self, col, Cell, Format};
use super::{connect, domain_error};
use crate::auth::password;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::resellers::{self, ChangedBy};
use crate::domain::users::{self, NewUser, Role};
use crate::domain::Source;
use crate::domain::{password_resets, two_factor};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResellerRole {
    /// CLN's "Full access": everything the reseller may do.
    Full,
    /// CLN's "Billing": usage figures and the licenses they count, changes nothing.
    Billing,
    /// CLN's "Server and license management".
    Licenses,
    /// CLN's "Server management only".
    Servers,
    /// CLN's "Read only, billing".
    BillingReadOnly,
    /// CLN's "Read only, server management".
    ServersReadOnly,
    /// Sees licenses and usage, changes nothing.
    ReadOnly,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a console user; prints a generated password once unless --password-stdin.
    Add {
        email: String,
        /// The reseller whose user this is.
        #[arg(
            long,
            conflicts_with = "operator",
            required_unless_present = "operator"
        )]
        reseller: Option<String>,
        #[arg(long, value_enum, default_value_t = ResellerRole::Full, conflicts_with = "operator")]
        role: ResellerRole,
        /// An operator: sees and manages every reseller.
        #[arg(long)]
        operator: bool,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (generated and printed once unless --password-stdin); ends the
    /// user's sessions.
    Passwd {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a one-time password reset link for the user (good once, for --hours); the
    /// user opens it on the console's address and chooses a new password.
    ResetLink {
        email: String,
        /// How long the link works.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=168))]
        hours: i64,
    },
    /// Turn the user's two-factor login off (a lost phone and lost recovery codes); they can
    /// set it up again after logging in with their password.
    #[command(name = "2fa-off")]
    TwoFactorOff { email: String },
    /// List console users.
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove a console user; their sessions end at once.
    Remove { email: String },
}

pub fn run(config: &Config, clock: &dyn Clock, command: UserCommand) -> Result<(), CliError> {
    let (mut conn, _) = connect(config)?;
    let conn = &mut conn;
    match command {
        UserCommand::Add {
            email,
            reseller,
            role,
            operator,
            password_stdin,
        } => {
            let (role, reseller_id, whose) = match (operator, reseller) {
                (true, _) => (Role::Operator, None, "operator".to_string()),
                (false, Some(login)) => {
                    let reseller = resellers::get(conn, &login).map_err(domain_error)?;
                    let role = match role {
                        ResellerRole::Full => Role::Full,
                        ResellerRole::Billing => Role::Billing,
                        ResellerRole::Licenses => Role::Licenses,
                        ResellerRole::Servers => Role::Servers,
                        ResellerRole::BillingReadOnly => Role::BillingReadOnly,
                        ResellerRole::ServersReadOnly => Role::ServersReadOnly,
                        ResellerRole::ReadOnly => Role::ReadOnly,
                    };
                    (
                        role,
                        Some(reseller.id),
                        format!("{} user of {login}", role.as_str()),
                    )
                }
                (false, None) => return Err("give --reseller LOGIN or --operator".into()),
            };
            let (plain, generated) = new_password(password_stdin)?;
            let hash = password::hash(&plain).map_err(domain_error)?;
            let user = users::create(
                conn,
                &NewUser {
                    email: &email,
                    password_hash: &hash,
                    role,
                    reseller_id,
                },
                &ChangedBy {
                    source: &Source::Cli,
                    now: clock.now().naive_utc(),
                },
            )
            .map_err(domain_error)?;
            println!("created {} ({whose})", user.email);
            if generated {
                println!("password: {plain}");
                println!("(shown once: the user logs in at /console/ with it)");
            }
        }
        UserCommand::Passwd {
            email,
            password_stdin,
        } => {
            let user = users::get(conn, &email).map_err(domain_error)?;
            let (plain, generated) = new_password(password_stdin)?;
            let hash = password::hash(&plain).map_err(domain_error)?;
            let by = ChangedBy {
                source: &Source::Cli,
                now: clock.now().naive_utc(),
            };
            users::set_password(conn, user.id, &hash, None, &by).map_err(domain_error)?;
            println!(
                "new password set for {}; their sessions have ended",
                user.email
            );
            if generated {
                println!("password: {plain}");
                println!("(shown once)");
            }
        }
        UserCommand::List { format } => {
            let logins: std::collections::HashMap<i64, String> = resellers::list(conn)
                .map_err(domain_error)?
                .into_iter()
                .map(|r| (r.id, r.login))
                .collect();
            let rows: Vec<Vec<Cell>> = users::list(conn, None)
                .map_err(domain_error)?
                .into_iter()
                .map(|u| {
                    let reseller = u.reseller_id.and_then(|id| logins.get(&id).cloned());
                    vec![
                        Cell::text(&u.email),
                        Cell::text(u.role().as_str()),
                        Cell::opt_text(reseller),
                        Cell::Time(u.created_at),
                    ]
                })
                .collect();
            output::print(
                format,
                &[
                    col("email", "EMAIL"),
                    col("role", "ROLE"),
                    col("reseller", "RESELLER"),
                    col("created_at", "CREATED (UTC)"),
                ],
                &rows,
            );
        }
        UserCommand::ResetLink { email, hours } => {
            let now = clock.now().naive_utc();
            let by = ChangedBy {
                source: &Source::Cli,
                now,
            };
            let expires = now + chrono::Duration::hours(hours);
            let token = password_resets::issue(conn, &email, expires, &by).map_err(domain_error)?;
            println!(
                "reset link for {} (works once, until {} UTC):",
                email.trim().to_lowercase(),
                expires.format("%Y-%m-%d %H:%M")
            );
            println!("{}?token={token}", password_resets::RESET_PATH);
            println!("(after the console's address, e.g. https://licenses.example.com)");
        }
        UserCommand::TwoFactorOff { email } => {
            let user = users::get(conn, &email).map_err(domain_error)?;
            let by = ChangedBy {
                source: &Source::Cli,
                now: clock.now().naive_utc(),
            };
            two_factor::disable(conn, user.id, &by).map_err(domain_error)?;
            println!("two-factor login is off for {}", user.email);
        }
        UserCommand::Remove { email } => {
            let user = users::get(conn, &email).map_err(domain_error)?;
            let by = ChangedBy {
                source: &Source::Cli,
                now: clock.now().naive_utc(),
            };
            users::remove(conn, user.id, &by).map_err(domain_error)?;
            println!("removed {}", user.email);
        }
    }
    Ok(())
}

/// The password to set, and whether it was generated here (then it is printed once).
fn new_password(from_stdin: bool) -> Result<(String, bool), CliError> {
    if !from_stdin {
        // 24 hex characters of the OS generator: 96 bits.
        let generated = resellers::generate_secret().map_err(domain_error)?;
        return Ok((generated[..24].to_string(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let line = line.trim_end_matches(['\n', '\r']).to_string();
    password::validate(&line).map_err(domain_error)?;
    Ok((line, false))
}

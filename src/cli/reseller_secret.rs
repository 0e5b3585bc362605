//! `ipls reseller secret add LOGIN NAME | list LOGIN | revoke LOGIN NAME`: an account's named
//! API secrets beside its first one (`rotate-secret` replaces that one).

use clap::Subcommand;

use super::domain_error;
use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use crate::db::DbConnection;
use crate::domain::resellers::secrets::{self, MAX_SECRETS};
use crate::domain::resellers::ChangedBy;
use crate::secrets::SecretBox;

const SECRET_COLUMNS: &[Column] = &[
    col("name", "NAME"),
    col("created_at", "CREATED (UTC)"),
    col("last_used_at", "LAST USED (UTC)"),
];

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a secret named NAME; prints it once.
    Add { login: String, name: String },
    /// List the account's secrets: name, created, last used (never the secrets).
    List {
        login: String,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Revoke the secret NAME: tokens made with it stop working.
    Revoke { login: String, name: String },
}

pub fn run(
    conn: &mut DbConnection,
    box_: &SecretBox,
    by: &ChangedBy<'_>,
    command: SecretCommand,
) -> Result<(), CliError> {
    match command {
        SecretCommand::Add { login, name } => {
            let secret = secrets::add(conn, &login, &name, box_, by).map_err(domain_error)?;
            output::line(&format!("secret {name} for {login}: {secret}"));
            output::line(&format!(
                "(shown once; a token made with any of the account's secrets, at most \
                 {MAX_SECRETS}, is accepted)"
            ));
        }
        SecretCommand::List { login, format } => {
            let all = secrets::list(conn, &login).map_err(domain_error)?;
            let cells: Vec<Vec<Cell>> = all
                .into_iter()
                .map(|s| {
                    vec![
                        Cell::text(s.name),
                        Cell::Time(s.created_at),
                        Cell::opt_time(s.last_used_at),
                    ]
                })
                .collect();
            output::print(format, SECRET_COLUMNS, &cells);
        }
        SecretCommand::Revoke { login, name } => {
            secrets::revoke(conn, &login, &name, by).map_err(domain_error)?;
            output::line(&format!(
                "revoked {login}'s secret {name} (running instances stop accepting it within \
                 IPLS_AUTH_CACHE_SECS, 2 s by default)"
            ));
        }
    }
    Ok(())
}

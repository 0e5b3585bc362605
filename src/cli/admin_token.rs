//! `ipls admin-token ...`: the admin API's operator tokens.

use clap::Subcommand;

use super::error::CliError;
use super::output::{self, col, Cell, Format};
use super::{connect, domain_error};
use crate::auth::admin::new_token;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::admin_tokens;

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create a token; prints it once (only its hash is stored).
    Create {
        name: String,
        /// The token may read but not change anything.
        #[arg(long)]
        read_only: bool,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// Output as an aligned table, CSV or JSON.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Revoke a token; calls with it are refused at once.
    Revoke { name: String },
}

pub fn run(config: &Config, clock: &dyn Clock, command: AdminTokenCommand) -> Result<(), CliError> {
    let (mut conn, _) = connect(config)?;
    let conn = &mut conn;
    let now = clock.now().naive_utc();
    match command {
        AdminTokenCommand::Create { name, read_only } => {
            let (token, hash) = new_token().map_err(domain_error)?;
            let created =
                admin_tokens::create(conn, &name, &hash, read_only, now).map_err(domain_error)?;
            let access = if created.read_only {
                "read-only"
            } else {
                "read-write"
            };
            println!("created admin token {} ({access})", created.name);
            println!("token: {token}");
            println!("(shown once: send it as Authorization: Bearer TOKEN to /api/admin/v1)");
        }
        AdminTokenCommand::List { format } => {
            let rows: Vec<Vec<Cell>> = admin_tokens::list(conn)
                .map_err(domain_error)?
                .into_iter()
                .map(|t| {
                    vec![
                        Cell::text(t.name),
                        Cell::Bool(t.read_only),
                        Cell::Time(t.created_at),
                        Cell::opt_time(t.revoked_at),
                    ]
                })
                .collect();
            output::print(
                format,
                &[
                    col("name", "NAME"),
                    col("read_only", "READ-ONLY"),
                    col("created_at", "CREATED (UTC)"),
                    col("revoked_at", "REVOKED (UTC)"),
                ],
                &rows,
            );
        }
        AdminTokenCommand::Revoke { name } => {
            admin_tokens::revoke(conn, &name, now).map_err(domain_error)?;
            println!("revoked admin token {name}");
        }
    }
    Ok(())
}

//! `--dry-run`: which commands can run as one. A change to the database is rolled back
//! (`db::dry_run`); a message sent out, a file written or a server started cannot be.
//! `ipls import` reads the other service and writes nothing in a dry run (its own rule).

use super::error::CliError;
use super::upstream::UpstreamCommand;
use super::webhook::WebhookCommand;
use super::Command;

/// Refuses `--dry-run` for a command whose effect is not (only) a database change.
pub fn refuse_where_impossible(command: &Command) -> Result<(), CliError> {
    let why = match command {
        Command::Serve(_) => "serve starts a server",
        Command::Migrate => "migrate changes the schema; run it on a copy instead",
        Command::Rekey { .. } => "rekey writes the master key file",
        Command::Backup { .. } | Command::Restore { .. } => "backup and restore write files",
        Command::Webhook(WebhookCommand::Test { .. }) => "webhook test sends a message",
        Command::Mail(_) => "mail test sends a message",
        Command::Upstream(UpstreamCommand::Test { .. } | UpstreamCommand::Reconcile(_)) => {
            "this upstream command calls the upstream"
        }
        _ => return Ok(()),
    };
    Err(format!("--dry-run is not available here: {why}").into())
}

//! `ipls mail test ADDRESS`: sends one message through the configured SMTP server, so that an
//! operator sees the setup work (or why not) before ipls has anything to tell anyone.
//! `ipls mail deliveries`: what became of the mail ipls queued (sent, retrying, failed).

use clap::{Subcommand, ValueEnum};

use super::error::CliError;
use super::output::{self, col, Cell, Column, Format};
use super::{connect, domain_error};
use crate::config::Config;
use crate::domain::mail::outbox::{self, Listing};
use crate::domain::resellers;
use crate::mail::{Mailer, Outgoing};

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message to ADDRESS through IPLS_SMTP_URL, from IPLS_MAIL_FROM.
    Test { address: String },
    /// The latest mail queued, newest first: to whom, what, its state and last error.
    Deliveries {
        /// Which: all, waiting (queued or retrying) or failed.
        #[arg(long, value_enum, default_value = "all")]
        state: StateFilter,
        /// Only one reseller's.
        #[arg(long)]
        reseller: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateFilter {
    All,
    Waiting,
    Failed,
}

const COLUMNS: &[Column] = &[
    col("id", "ID"),
    col("kind", "KIND"),
    col("to", "TO"),
    col("subject", "SUBJECT"),
    col("state", "STATE"),
    col("attempts", "ATTEMPTS"),
    col("next_attempt_at", "NEXT (UTC)"),
    col("sent_at", "SENT (UTC)"),
    col("error", "LAST ERROR"),
];

pub fn run(config: &Config, command: MailCommand) -> Result<(), CliError> {
    match command {
        MailCommand::Test { address } => test(config, &address),
        MailCommand::Deliveries {
            state,
            reseller,
            limit,
            format,
        } => {
            let (mut conn, _) = connect(config)?;
            let reseller_id = match reseller {
                Some(login) => Some(resellers::get(&mut conn, &login).map_err(domain_error)?.id),
                None => None,
            };
            let listing = match state {
                StateFilter::All => Listing::All,
                StateFilter::Waiting => Listing::Waiting,
                StateFilter::Failed => Listing::Failed,
            };
            let mails =
                outbox::list(&mut conn, listing, reseller_id, limit).map_err(domain_error)?;
            let rows: Vec<Vec<Cell>> = mails
                .into_iter()
                .map(|m| {
                    let waiting = m.sent_at.is_none() && m.failed_at.is_none();
                    vec![
                        Cell::Int(m.id),
                        Cell::text(m.kind.clone()),
                        Cell::text(m.to_address.clone()),
                        Cell::text(m.subject.clone()),
                        Cell::text(m.state()),
                        Cell::Int(i64::from(m.attempts)),
                        Cell::opt_time(waiting.then_some(m.next_attempt_at)),
                        Cell::opt_time(m.sent_at),
                        Cell::text(m.last_error.unwrap_or_default()),
                    ]
                })
                .collect();
            output::print(format, COLUMNS, &rows);
            Ok(())
        }
    }
}

fn test(config: &Config, address: &str) -> Result<(), CliError> {
    let settings = config
        .mail
        .as_ref()
        .ok_or("mail is off: set IPLS_SMTP_URL and IPLS_MAIL_FROM")?;
    let mailer = Mailer::new(settings)?;
    let text = format!(
        "This is a test message from ipls.\n\nIt went through {} from {}.\nNothing needs doing.\n",
        mailer.server, settings.from
    );
    mailer
        .send(&Outgoing {
            to: address,
            subject: "ipls: test message",
            text: &text,
            message_id: None,
            attachment: None,
        })
        .map_err(|e| format!("{address}: {e}"))?;
    println!("sent a test message to {address} through {}", mailer.server);
    Ok(())
}

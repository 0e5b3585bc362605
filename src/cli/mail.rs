//! `ipls mail test ADDRESS`: sends one message through the configured SMTP server, so that an
//! operator sees the setup work (or why not) before ipls has anything to tell anyone.

use clap::Subcommand;

use super::error::CliError;
use crate::config::Config;
use crate::mail::{Mailer, Outgoing};

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message to ADDRESS through IPLS_SMTP_URL, from IPLS_MAIL_FROM.
    Test { address: String },
}

pub fn run(config: &Config, command: MailCommand) -> Result<(), CliError> {
    let MailCommand::Test { address } = command;
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
            to: &address,
            subject: "ipls: test message",
            text: &text,
        })
        .map_err(|e| format!("{address}: {e}"))?;
    println!("sent a test message to {address} through {}", mailer.server);
    Ok(())
}

//! The mail worker inside `ipls serve` (when `IPLS_SMTP_URL` is set): one task that, at each
//! look, decides the report periods that are due (`domain::mail::reports`) and sends the
//! outbox's due messages, a few at a time under a lease, recording each outcome. It wakes when
//! this instance queues mail and polls for the rest (periods coming due, other instances'
//! mail, retries).
//!
//! Each message is leased alone before it is sent and recorded after the server's answer. A worker
//! killed while the SMTP server has not yet accepted the message leaves it to the next look
//! after the lease; killed in the moment between the server's acceptance and the record, the
//! message goes again, with the same Message-ID (docs/operations.md, "Mail").

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};

use super::settings::MailReportSettings;
use super::{MailError, Mailer, Outgoing};
use crate::clock::Clock;
use crate::db::{self, Pool};
use crate::domain::mail::composed::ReportSettings;
use crate::domain::mail::outbox::{self, Mail, Outcome, MAIL_QUEUED};
use crate::domain::mail::reports;
use crate::error::DomainError;

/// Messages leased at a time: one, so that each lease covers exactly one attempt (a batch's
/// last message could otherwise be sent after its lease ran out, and so twice).
const BATCH: i64 = 1;

/// What the worker takes from the running server.
#[derive(Clone)]
pub struct MailContext {
    pub pool: Pool,
    /// Report periods follow the server's clock; leases and retries the system's.
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<Mailer>,
    pub settings: MailReportSettings,
    pub reports: ReportSettings,
    /// The SMTP timeout: a lease lasts longer than any one attempt.
    pub timeout: Duration,
}

/// Starts the worker on the current runtime (it ends with it).
pub fn start(context: MailContext) {
    let instance = match crate::domain::random::bytes::<6>() {
        Ok(bytes) => hex::encode(bytes),
        Err(e) => {
            log::error!("mail will not be sent by this instance: {e}");
            return;
        }
    };
    actix_web::rt::spawn(
        Worker {
            context,
            owner: format!("mail-{instance}"),
        }
        .run(),
    );
}

struct Worker {
    context: MailContext,
    owner: String,
}

fn wall_now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

impl Worker {
    fn pool(&self) -> &Pool {
        &self.context.pool
    }

    /// Longer than one attempt can take: the SMTP timeout bounds each step of it (connect,
    /// greeting, TLS, login, sender, recipient, data, end of data), so ten of them and 5 s.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.context.timeout * 10 + Duration::from_secs(5))
            .unwrap_or(chrono::Duration::seconds(120))
    }

    async fn run(self) {
        loop {
            let woken = MAIL_QUEUED.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            self.decide_reports().await;
            loop {
                match self.send_due().await {
                    Ok(0) => break,
                    Ok(_) => continue,
                    Err(e) => {
                        log::warn!("sending mail: {e}");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = woken => {}
                _ = actix_web::rt::time::sleep(self.context.settings.poll) => {}
            }
        }
    }

    async fn decide_reports(&self) {
        let now = self.context.clock.now().naive_utc();
        let settings = self.context.reports.clone();
        let began = std::time::Instant::now();
        match db::run(self.pool(), move |c| reports::decide_due(c, now, &settings)).await {
            Ok((daily, statements)) => {
                let took = began.elapsed().as_millis();
                if let Some(n) = daily {
                    log::info!(
                        "daily report for {} decided: {n} mail(s) queued (the look took {took} ms)",
                        now.date()
                    );
                }
                if let Some(n) = statements {
                    log::info!(
                        "monthly statements decided: {n} mail(s) queued (the look took {took} ms)"
                    );
                }
            }
            Err(e) => log::warn!("deciding the reports: {e}"),
        }
    }

    /// Leases and sends one batch; returns how many it held.
    async fn send_due(&self) -> Result<usize, DomainError> {
        let now = wall_now();
        let until = now + self.lease();
        let owner = self.owner.clone();
        let batch = db::run(self.pool(), move |c| {
            outbox::claim(c, now, until, &owner, BATCH)
        })
        .await?;
        let held = batch.len();
        for mail in batch {
            let outcome = self.attempt(mail.clone()).await;
            let owner = self.owner.clone();
            let recorded = db::run(self.pool(), move |c| {
                outbox::record(c, mail.id, &owner, wall_now(), &outcome)
            })
            .await?;
            if !recorded {
                log::warn!("mail {}: its lease ran out before it was recorded", mail.id);
            }
        }
        Ok(held)
    }

    async fn attempt(&self, mail: Mail) -> Outcome {
        let mailer = self.context.mailer.clone();
        let attempts = usize::try_from(mail.attempts).unwrap_or(0) + 1;
        let sent = actix_web::rt::task::spawn_blocking(move || {
            mailer.send(&Outgoing {
                to: &mail.to_address,
                subject: &mail.subject,
                text: &mail.body,
                message_id: Some(&mail.message_id),
                attachment: mail
                    .attachment_name
                    .as_deref()
                    .zip(mail.attachment.as_deref()),
            })
        })
        .await
        .unwrap_or_else(|e| Err(MailError::Failed(format!("the sending task failed: {e}"))));
        match sent {
            Ok(()) => Outcome::Sent,
            Err(MailError::Refused(why)) => {
                log::warn!("mail refused for good: {why}");
                Outcome::Failed(why)
            }
            Err(MailError::Failed(why)) => {
                match crate::retry_schedule::next_delay(
                    &self.context.settings.retry_schedule,
                    attempts,
                ) {
                    Some(delay) => {
                        log::info!(
                            "mail not sent (attempt {attempts}), retried in {delay:?}: {why}"
                        );
                        Outcome::RetryAt(
                            wall_now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                            why,
                        )
                    }
                    None => Outcome::Failed(format!(
                        "{attempts} attempts failed (the retry schedule is used up): {why}"
                    )),
                }
            }
        }
    }
}

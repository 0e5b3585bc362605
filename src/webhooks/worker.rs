//! The delivery worker inside `ipls serve`: `workers` tasks on the server's runtime, each
//! taking the lease of one endpoint with due work, sending its queue in order until the head
//! fails or the queue is empty, then looking for the next. It wakes when this instance
//! commits deliveries and polls for the rest (other instances' events, retries coming due).
//! Between looks it also ends trials that ran out (`license.expired`).
//!
//! Delivery timing (leases, retries, the `webhook-timestamp` header) follows the system
//! clock, which every instance and receiver shares; trial expiry follows the server's clock.

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use reqwest::Client;

use super::sender::{self, Message};
use super::settings::WorkerContext;
use super::signature;
use crate::db::{self, Pool};
use crate::domain::licenses::{
    expire_due_trials, notice_expiring_trials, notice_stale, remove_due_suspensions,
};
use crate::domain::webhooks::deliveries::{self, Delivery, Lease, Next, Outcome};
use crate::domain::webhooks::endpoints;
use crate::domain::webhooks::outbox::DELIVERIES_QUEUED;
use crate::error::DomainError;
use crate::retry_schedule as schedule;

/// Deliveries read from an endpoint's queue per round trip, and recorded per commit. A batch
/// has about 5 ms of fixed database work (its read, its commit); 128 instead of 32 took a drain from
/// 4,828 to 12,217 events/s on Postgres (docs/benchmarks.md, "Webhook backlog"). A crash before
/// the record sends up to this many again.
const QUEUE_BATCH: i64 = 128;
/// How long a woken worker waits for more commits before it looks for work.
const GATHER: Duration = Duration::from_millis(20);
/// Trials ended per look.
const EXPIRY_BATCH: i64 = 100;

/// Starts the workers on the current runtime (they end with it); none when disabled.
pub fn start(state: &WorkerContext) {
    let settings = &state.settings;
    if settings.workers == 0 {
        return;
    }
    let client = match sender::client(settings) {
        Ok(client) => client,
        Err(e) => {
            log::error!("webhooks will not be delivered by this instance: {e}");
            return;
        }
    };
    let instance = match crate::domain::webhooks::outbox::new_message_id() {
        Ok(id) => id.replacen("msg_", "", 1),
        Err(e) => {
            log::error!("webhooks will not be delivered by this instance: {e}");
            return;
        }
    };
    for n in 0..settings.workers {
        let worker = Worker {
            state: state.clone(),
            client: client.clone(),
            owner: format!("{instance}-{n}"),
        };
        actix_web::rt::spawn(worker.run());
    }
}

struct Worker {
    state: WorkerContext,
    client: Client,
    /// Names this worker's leases.
    owner: String,
}

/// The system clock's now, as stored.
fn wall_now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

impl Worker {
    fn pool(&self) -> &Pool {
        &self.state.pool
    }

    /// How long a lease lasts: longer than any one attempt, so a live worker never loses it;
    /// a killed one's lease runs out this long after its last renewal.
    fn lease(&self) -> chrono::Duration {
        let attempt = self.state.settings.timeout;
        chrono::Duration::from_std(attempt * 2 + Duration::from_secs(5))
            .unwrap_or(chrono::Duration::seconds(60))
    }

    async fn run(self) {
        let poll = self.state.settings.poll;
        let mut last_expiry: Option<Instant> = None;
        loop {
            let woken = DELIVERIES_QUEUED.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if last_expiry.is_none_or(|at| at.elapsed() >= poll) {
                last_expiry = Some(Instant::now());
                self.end_due_licenses().await;
            }
            match self.serve_one_endpoint().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => log::warn!("webhook delivery: {e}"),
            }
            tokio::select! {
                // Woken by a commit: the changes committed in the next few milliseconds go
                // out in the same pass (one lease, one read of the queue, one commit of their
                // outcomes) instead of one pass per change.
                _ = woken => actix_web::rt::time::sleep(GATHER).await,
                _ = actix_web::rt::time::sleep(poll) => {}
            }
        }
    }

    /// Ends the trials that ran out and removes the suspended licenses whose grace period
    /// did (each records its history row and queues its webhook in its own transaction), then
    /// queues `license.stale` and `trial.expiring` where they are due.
    async fn end_due_licenses(&self) {
        let now = self.state.clock.now().naive_utc();
        match db::run(self.pool(), move |c| {
            expire_due_trials(c, now, EXPIRY_BATCH)
        })
        .await
        {
            Ok(0) => {}
            Ok(n) => log::info!("{n} trial license(s) ran out and were ended"),
            Err(e) => log::warn!("ending expired trials: {e}"),
        }
        match db::run(self.pool(), move |c| {
            remove_due_suspensions(c, now, EXPIRY_BATCH)
        })
        .await
        {
            Ok(0) => {}
            Ok(n) => {
                log::info!("{n} suspended license(s) reached their removal date and were removed")
            }
            Err(e) => log::warn!("removing suspended licenses past their grace period: {e}"),
        }
        let stale_after = self.state.settings.stale_after;
        match db::run(self.pool(), move |c| {
            Ok((
                notice_stale(c, now, stale_after, EXPIRY_BATCH)?,
                notice_expiring_trials(c, now, EXPIRY_BATCH)?,
            ))
        })
        .await
        {
            Ok((0, 0)) => {}
            Ok((stale, expiring)) => {
                log::info!("queued {stale} license.stale and {expiring} trial.expiring event(s)")
            }
            Err(e) => log::warn!("queueing license.stale and trial.expiring: {e}"),
        }
    }

    /// Serves one endpoint with due work; false when there was none.
    async fn serve_one_endpoint(&self) -> Result<bool, DomainError> {
        let now = wall_now();
        let until = now + self.lease();
        let owner = self.owner.clone();
        let claimed = db::run(self.pool(), move |c| {
            deliveries::claim(c, now, until, &owner)
        })
        .await?;
        let Some(endpoint_id) = claimed else {
            return Ok(false);
        };
        let result = self.send_queue(endpoint_id).await;
        let owner = self.owner.clone();
        let released = db::run(self.pool(), move |c| {
            deliveries::release(c, endpoint_id, &owner, wall_now())
        })
        .await;
        result.and(released).map(|_| true)
    }

    /// Sends the endpoint's queue in order while the head succeeds. The outcomes of a batch
    /// are recorded together (one commit); a crash before that commit sends the batch again
    /// with the same webhook-ids (at-least-once).
    async fn send_queue(&self, endpoint_id: i64) -> Result<(), DomainError> {
        let endpoint = db::run(self.pool(), move |c| endpoints::get(c, endpoint_id)).await?;
        let secret = endpoints::signing_secret(&endpoint.endpoint, &self.state.secrets)?;
        let key = signature::secret_key(&secret).map_err(DomainError::Internal)?;
        // The last id sent: each read of the queue starts after it.
        let mut after = 0;
        loop {
            let head = db::run(self.pool(), move |c| {
                deliveries::queue_head(c, endpoint_id, after, QUEUE_BATCH)
            })
            .await?;
            if head.is_empty() {
                return Ok(());
            }
            let mut batch = Vec::with_capacity(head.len());
            let mut stopped = false;
            // Recorded (and the lease renewed) well before the lease could run out.
            let batch_began = Instant::now();
            let record_by = (self.lease() / 2)
                .to_std()
                .unwrap_or(Duration::from_secs(5));
            for delivery in head {
                if batch_began.elapsed() > record_by {
                    break;
                }
                if delivery.next_attempt_at.is_some_and(|due| due > wall_now()) {
                    stopped = true;
                    break;
                }
                let (outcome, done) = self.attempt(&endpoint.endpoint.url, &key, &delivery).await;
                batch.push((delivery, outcome));
                if !done {
                    stopped = true;
                    break;
                }
            }
            let Some((last, _)) = batch.last() else {
                return Ok(());
            };
            after = last.id;
            let owner = self.owner.clone();
            let until = wall_now() + self.lease();
            let held = db::run(self.pool(), move |c| {
                let batch: Vec<(Delivery, Outcome<'_>)> = batch
                    .iter()
                    .map(|(d, o)| (d.clone(), o.as_outcome()))
                    .collect();
                let lease = Lease {
                    endpoint_id,
                    owner: &owner,
                    until,
                };
                deliveries::record(c, &batch, &lease)
            })
            .await?;
            if stopped || !held {
                return Ok(());
            }
        }
    }

    /// One attempt; its outcome, and whether it was delivered.
    async fn attempt(&self, url: &str, key: &[u8], delivery: &Delivery) -> (Attempted, bool) {
        let settings = &self.state.settings;
        let started = wall_now();
        let message = Message {
            url,
            signing_key: key,
            message_id: &delivery.message_id,
            timestamp: started.and_utc().timestamp(),
            body: &delivery.payload,
        };
        let answer = sender::send(&self.client, &message, settings.allow_private).await;
        let done = answer.succeeded();
        let failures = usize::try_from(delivery.attempts).unwrap_or(0) + 1;
        let next = if done {
            Next::Delivered
        } else if answer.status == Some(410) {
            Next::GiveUp("the endpoint answered 410 Gone".into())
        } else {
            match schedule::next_delay(&settings.retry_schedule, failures) {
                Some(delay) => Next::RetryAt(
                    wall_now() + chrono::Duration::from_std(delay).unwrap_or_default(),
                ),
                None => Next::GiveUp(format!(
                    "{failures} attempts failed (the retry schedule is used up)"
                )),
            }
        };
        if !done {
            log::info!(
                "webhook {} to endpoint {} failed (attempt {failures}): {}",
                delivery.message_id,
                delivery.endpoint_id,
                answer
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", answer.status.unwrap_or_default()))
            );
        }
        let attempted = Attempted {
            at: started,
            status: answer.status,
            duration_ms: i32::try_from(answer.elapsed.as_millis()).unwrap_or(i32::MAX),
            response: deliveries::logged_answer(&answer.body),
            error: answer.error,
            next,
        };
        (attempted, done)
    }
}

/// An attempt's outcome, owned, until its batch is recorded.
struct Attempted {
    at: NaiveDateTime,
    status: Option<u16>,
    duration_ms: i32,
    response: String,
    error: Option<String>,
    next: Next,
}

impl Attempted {
    fn as_outcome(&self) -> Outcome<'_> {
        Outcome {
            at: self.at,
            status: self.status,
            duration_ms: self.duration_ms,
            response: (!self.response.is_empty()).then_some(self.response.as_str()),
            error: self.error.as_deref(),
            next: self.next.clone(),
        }
    }
}

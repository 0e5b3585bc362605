//! The relay worker inside `ipls serve` (and `ipls upstream reconcile --repair`, which drains
//! what it queued): it carries due changes from the outbox, settles intents that crashed
//! requests left behind, raises and clears the "upstream failing" alert, refreshes the
//! relay's gauges, prunes old done changes, and reconciles each upstream on schedule (one
//! instance at a time, by a lease in the database).
//!
//! Leases, retries and the alert's age follow the system clock, which every instance shares;
//! the records' dates (history, intents) follow the server's clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use futures_util::future::join_all;

use super::carry::{carry, Carried};
use super::metrics::Gauges;
use super::reconcile::{self, holds, stored_counts, Options};
use super::settings::Relay;
use crate::db;
use crate::db::models::{Upstream, UpstreamOp};
use crate::domain::actor::Source;
use crate::domain::upstream::intents;
use crate::domain::upstream::ops::{self, OPS_QUEUED};
use crate::domain::upstream::upstreams::{self, Failing};
use crate::error::DomainError;

/// How long a woken worker waits for more commits before it looks for work.
const GATHER: Duration = Duration::from_millis(20);
/// Intents settled per look.
const SETTLE_BATCH: i64 = 100;
/// Done changes are kept this long (`upstream show` lists the recent ones).
const KEEP_DONE: chrono::Duration = chrono::Duration::days(7);
/// How long one instance holds an upstream's reconcile lease.
const RECONCILE_LEASE: chrono::Duration = chrono::Duration::minutes(30);

fn wall_now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Starts the worker on the current runtime (it ends with it); none when
/// `IPLS_UPSTREAM_WORKERS` is 0.
pub fn start(relay: &Relay) {
    if relay.settings.workers == 0 {
        return;
    }
    let owner = format!(
        "{}-{}",
        std::process::id(),
        wall_now().and_utc().timestamp_micros()
    );
    actix_web::rt::spawn(carry_loop(relay.clone()));
    actix_web::rt::spawn(housekeeping_loop(relay.clone(), owner));
}

async fn carry_loop(relay: Relay) {
    loop {
        let woken = OPS_QUEUED.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        match carry_due(&relay).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => log::warn!("relay: {e}"),
        }
        tokio::select! {
            _ = woken => actix_web::rt::time::sleep(GATHER).await,
            _ = actix_web::rt::time::sleep(relay.settings.poll) => {}
        }
    }
}

/// Carries the due changes (the head of each IP's queue), up to `workers` at once; returns
/// how many were tried.
pub async fn carry_due(relay: &Relay) -> Result<usize, DomainError> {
    let now = wall_now();
    let lease = chrono::Duration::from_std(relay.settings.lease()).unwrap_or_default();
    let limit = i32::try_from(relay.settings.workers.max(1)).unwrap_or(1);
    let due = db::run(&relay.pool, move |c| {
        if !ops::any_due(c, now)? {
            return Ok(Vec::new());
        }
        ops::claim_due(c, now, now + lease, limit)
    })
    .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut known: HashMap<i64, Upstream> = HashMap::new();
    for op in &due {
        if !known.contains_key(&op.upstream_id) {
            let id = op.upstream_id;
            let upstream = db::run(&relay.pool, move |c| upstreams::by_id(c, id)).await?;
            known.insert(id, upstream);
        }
    }
    let tried = due.len();
    let sends = due.into_iter().filter_map(|op: UpstreamOp| {
        let upstream = known.get(&op.upstream_id)?.clone();
        Some(async move {
            let (id, ip) = (op.id, op.ip.clone());
            match carry(relay, &upstream, op).await {
                Ok(Carried::Failed(why)) => {
                    log::warn!(
                        "relay: change {id} on {ip} to upstream {}: {why}",
                        upstream.name
                    )
                }
                Ok(_) => {}
                Err(e) => log::warn!("relay: change {id}: {e}"),
            }
        })
    });
    join_all(sends).await;
    Ok(tried)
}

/// Carries due changes until none is due or `deadline` passes (a command that queued
/// repairs and has no server's worker to count on). Returns how many were tried.
pub async fn drain(relay: &Relay, deadline: Instant) -> Result<usize, DomainError> {
    let mut tried = 0;
    while Instant::now() < deadline {
        match carry_due(relay).await? {
            0 => break,
            n => tried += n,
        }
    }
    Ok(tried)
}

async fn housekeeping_loop(relay: Relay, owner: String) {
    let running = Arc::new(AtomicBool::new(false));
    let mut last_prune: Option<Instant> = None;
    loop {
        if let Err(e) = look_after_upstreams(&relay, &owner, &running).await {
            log::warn!("relay: {e}");
        }
        if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3_600)) {
            last_prune = Some(Instant::now());
            let before = wall_now() - KEEP_DONE;
            if let Err(e) = db::run(&relay.pool, move |c| ops::prune_done(c, before)).await {
                log::warn!("relay: pruning done changes: {e}");
            }
        }
        actix_web::rt::time::sleep(relay.settings.poll).await;
    }
}

async fn look_after_upstreams(
    relay: &Relay,
    owner: &str,
    running: &Arc<AtomicBool>,
) -> Result<(), DomainError> {
    let all = db::run(&relay.pool, upstreams::list).await?;
    let mut gauges = BTreeMap::new();
    for view in all {
        let upstream = view.upstream;
        settle_intents(relay, &upstream).await?;
        gauges.insert(upstream.name.clone(), watch_health(relay, &upstream).await?);
        schedule_reconcile(relay, &upstream, owner, running).await?;
    }
    relay.metrics.set_gauges(gauges);
    Ok(())
}

/// Intents older than any live request: settled by what the upstream holds on their IPs.
async fn settle_intents(relay: &Relay, upstream: &Upstream) -> Result<(), DomainError> {
    let age = chrono::Duration::from_std(relay.settings.intent_age()).unwrap_or_default();
    let before = relay.clock.now().naive_utc() - age;
    let id = upstream.id;
    let stale = db::run(&relay.pool, move |c| {
        intents::stale(c, id, before, SETTLE_BATCH)
    })
    .await?;
    for batch in stale.chunks(super::cln::SERVER_BATCH) {
        let ips: Vec<String> = batch.iter().map(|l| l.ip.clone()).collect();
        let held = match holds(relay, upstream, &ips).await {
            Ok(held) => held,
            Err(e) => {
                log::warn!(
                    "relay: cannot settle {} intent(s) yet: {}",
                    batch.len(),
                    e.text()
                );
                return Ok(());
            }
        };
        for intent in batch.iter().cloned() {
            let there = held
                .get(&intent.ip)
                .is_some_and(|types| types.contains(&intent.type_id));
            log::info!(
                "relay: settling the interrupted registration of {} type {}: {}",
                intent.ip,
                intent.type_id,
                if there {
                    "the upstream holds it"
                } else {
                    "the upstream does not hold it"
                }
            );
            let (u, now) = (upstream.clone(), relay.clock.now().naive_utc());
            db::run(&relay.pool, move |c| {
                intents::settle(c, &intent, &u, there, now)
            })
            .await?;
        }
    }
    Ok(())
}

/// Reads the upstream's outbox health; raises or clears its alert.
async fn watch_health(relay: &Relay, upstream: &Upstream) -> Result<Gauges, DomainError> {
    let id = upstream.id;
    let health = db::run(&relay.pool, move |c| ops::health(c, id)).await?;
    let now = wall_now();
    let failing_for = health
        .failing
        .as_ref()
        .map_or(chrono::Duration::zero(), |(since, _)| now - *since);
    let bound = chrono::Duration::from_std(relay.settings.alert_after).unwrap_or_default();
    let alerting = health.failing.is_some() && failing_for >= bound;
    let u = upstream.clone();
    match (&health.failing, alerting) {
        (Some((since, error)), true) if upstream.failing_alerted_at.is_none() => {
            let (since, error, pending) = (*since, error.clone(), health.pending);
            let raised = db::run(&relay.pool, move |c| {
                let failing = Failing {
                    pending,
                    since,
                    last_error: &error,
                };
                upstreams::raise_alert(c, &u, &failing, now)
            })
            .await?;
            if raised {
                log::error!(
                    "relay: upstream {} has been failing for {} s: {} change(s) waiting",
                    upstream.name,
                    failing_for.num_seconds(),
                    health.pending
                );
            }
        }
        (None, _)
            if upstream.failing_alerted_at.is_some()
                && db::run(&relay.pool, move |c| upstreams::clear_alert(c, &u, now)).await? =>
        {
            log::info!("relay: upstream {} confirms changes again", upstream.name);
        }
        _ => {}
    }
    Ok(Gauges {
        pending: health.pending,
        failing_seconds: failing_for.num_seconds(),
        alerting,
        last_reconcile: upstream.last_reconcile_at.and_then(|at| {
            stored_counts(upstream.last_reconcile_counts.as_deref())
                .map(|c| (at.and_utc().timestamp(), c))
        }),
    })
}

/// Starts the upstream's scheduled reconcile when it is due and this instance takes its
/// lease; it runs apart, so changes keep flowing meanwhile.
async fn schedule_reconcile(
    relay: &Relay,
    upstream: &Upstream,
    owner: &str,
    running: &Arc<AtomicBool>,
) -> Result<(), DomainError> {
    let Some(every) = relay.settings.reconcile_every else {
        return Ok(());
    };
    let now = relay.clock.now().naive_utc();
    let every = chrono::Duration::from_std(every).unwrap_or_default();
    if upstream
        .last_reconcile_at
        .is_some_and(|at| now - at < every)
        || running.load(Ordering::Acquire)
    {
        return Ok(());
    }
    let (id, owner_text, wall) = (upstream.id, owner.to_string(), wall_now());
    let taken = db::run(&relay.pool, move |c| {
        upstreams::take_reconcile_lease(c, id, &owner_text, wall, wall + RECONCILE_LEASE)
    })
    .await?;
    if !taken {
        return Ok(());
    }
    running.store(true, Ordering::Release);
    let (relay, upstream, running) = (relay.clone(), upstream.clone(), running.clone());
    actix_web::rt::spawn(async move {
        let options = Options {
            repair: relay.settings.reconcile_repairs,
            adopt_into: None,
            source: Source::Upstream(upstream.name.clone()),
            checkins: true,
        };
        match reconcile::run(&relay, &upstream, &options).await {
            Ok(outcome) => log::info!(
                "relay: {}; check-ins updated {}",
                outcome.counts.line(&upstream.name),
                outcome.checkins
            ),
            Err(e) => {
                // The lease stays until the next try is due: no instance retries sooner.
                log::warn!("relay: reconciling upstream {}: {e}", upstream.name);
                let (id, retry_at) = (upstream.id, wall_now() + every.min(RECONCILE_LEASE));
                let held = db::run(&relay.pool, move |c| {
                    upstreams::hold_reconcile_lease(c, id, retry_at)
                })
                .await;
                if let Err(e) = held {
                    log::warn!("relay: {e}");
                }
            }
        }
        running.store(false, Ordering::Release);
    });
    Ok(())
}

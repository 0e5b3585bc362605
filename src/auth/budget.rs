//! Failed-authentication budgets: per source network (an IPv4 address, an IPv6 /64) and
//! per login, `burst` at once and `per_minute` more each minute.
//!
//! An attempt reserves a token of each of its budgets *before* its token is checked; the
//! reservation is given back when the token verifies and spent when it does not. Attempts
//! beyond the free tokens wait for those in flight to be settled (woken the moment one is), so
//! concurrent bad tokens can never all be verified, and concurrent good ones are not
//! refused: only failures spend a budget.
//!
//! Which budgets an attempt is charged to:
//! - from a source the login has used successfully (a known source): only the source's.
//!   The login's budget does not apply, so guesses from elsewhere cannot lock the reseller
//!   out of its own panel's address;
//! - from any other source: the source's and the login's.
//!
//! Reservations live in this process's memory. On Postgres every failure is also charged to
//! the table `auth_budgets` (one upsert per failure), which every instance reads before
//! checking a token from an unknown source, so all instances spend one budget; SQLite serves
//! one process, whose memory is the whole truth.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, NaiveDateTime};

use super::bucket::{MemoryBuckets, Quota, Reservation};
use super::error::AuthError;
use crate::db::{self, budgets, Backend, Pool};
use crate::error::DomainError;

/// Every this many shared charges, rows of full buckets are deleted.
const PRUNE_EVERY: u64 = 256;

/// Longest an attempt waits for attempts in flight on its budgets before it is refused.
const MAX_WAIT: StdDuration = StdDuration::from_secs(5);

/// The reservations of one attempt, settled by `succeeded` or `failed`. A permit dropped
/// unsettled (the client went away while its attempt waited on the database) gives its
/// reservations back, so an abandoned attempt can never hold a budget's tokens.
#[must_use]
pub struct Permit {
    keys: Vec<String>,
    at: NaiveDateTime,
    owner: Option<Arc<Budgets>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(budgets) = self.owner.take() {
            budgets.memory.settle(&self.keys, false, self.at);
            budgets.settled.notify_waiters();
        }
    }
}

pub struct Budgets {
    quota: Quota,
    memory: MemoryBuckets,
    shared_in_postgres: bool,
    shared_charges: AtomicU64,
    /// Woken whenever reservations are settled, for attempts waiting on them.
    settled: tokio::sync::Notify,
}

pub fn source_key(network: &str) -> String {
    format!("source:{network}")
}

pub fn login_key(login: &str) -> String {
    format!("login:{login}")
}

impl Budgets {
    pub fn new(backend: Backend, burst: u32, per_minute: u32) -> Self {
        let quota = Quota::new(burst, per_minute);
        Self {
            quota,
            memory: MemoryBuckets::new(quota),
            shared_in_postgres: backend == Backend::Postgres,
            shared_charges: AtomicU64::new(0),
            settled: tokio::sync::Notify::new(),
        }
    }

    /// Reserves a token of each of `keys`. With `consult_shared` (an attempt from an
    /// unknown source), the budgets shared by all instances are read first. Refused with
    /// the longest wait when any budget is spent.
    pub async fn charge(
        self: &Arc<Self>,
        pool: &Pool,
        keys: Vec<String>,
        consult_shared: bool,
        now: NaiveDateTime,
    ) -> Result<Permit, AuthError> {
        if consult_shared && self.shared_in_postgres {
            if let Some(wait) = self.spent_elsewhere(pool, &keys, now).await? {
                return Err(AuthError::TooManyFailures(wait));
            }
        }
        let deadline = Instant::now() + MAX_WAIT;
        loop {
            // Registered before looking, so a settlement in between is not missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            match self.memory.reserve_all(&keys, now) {
                Reservation::Granted => {
                    return Ok(Permit {
                        keys,
                        at: now,
                        owner: Some(Arc::clone(self)),
                    })
                }
                Reservation::Refused(wait) => return Err(AuthError::TooManyFailures(wait)),
                Reservation::Wait => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if tokio::time::timeout(left, settled).await.is_err() {
                        return Err(AuthError::TooManyFailures(1));
                    }
                }
            }
        }
    }

    /// The attempt verified (or never got to be judged): its reservations are given back.
    pub fn succeeded(&self, mut permit: Permit, now: NaiveDateTime) {
        permit.owner = None;
        self.memory.settle(&permit.keys, false, now);
        self.settled.notify_waiters();
    }

    /// The attempt failed: its reservations are spent; with `share`, on Postgres, the
    /// failure is charged to the shared budgets too, and this process's budgets are lowered
    /// to what they say is left.
    pub async fn failed(&self, pool: &Pool, mut permit: Permit, share: bool, now: NaiveDateTime) {
        permit.owner = None;
        self.memory.settle(&permit.keys, true, now);
        self.settled.notify_waiters();
        if !(share && self.shared_in_postgres) {
            return;
        }
        let quota = self.quota;
        let prune = self.shared_charges.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == 0;
        let full_after = Duration::milliseconds((quota.burst / quota.per_second * 1000.0) as i64);
        let keys = std::mem::take(&mut permit.keys);
        let charged = db::run(pool, move |c| {
            if prune {
                budgets::prune(c, now - full_after)?;
            }
            keys.into_iter()
                .map(|key| {
                    let tokens =
                        budgets::charge_failure(c, &key, quota.burst, quota.per_second, now)?;
                    Ok((key, tokens))
                })
                .collect::<Result<Vec<_>, DomainError>>()
        })
        .await;
        match charged {
            Ok(left) => {
                for (key, tokens) in left {
                    self.memory.lower_to(&key, tokens, now);
                }
            }
            Err(e) => log::warn!("could not record a failed authentication: {e}"),
        }
    }

    /// Seconds to wait when a shared budget of `keys` is spent.
    async fn spent_elsewhere(
        &self,
        pool: &Pool,
        keys: &[String],
        now: NaiveDateTime,
    ) -> Result<Option<u64>, DomainError> {
        let wanted = keys.to_vec();
        let rows: HashMap<String, (f64, NaiveDateTime)> =
            db::run(pool, move |c| budgets::levels(c, &wanted)).await?;
        let quota = self.quota;
        Ok(rows
            .values()
            .map(|(tokens, at)| quota.refilled(*tokens, *at, now))
            .filter(|tokens| *tokens < 1.0)
            .map(|tokens| quota.retry_after(tokens))
            .max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{build_pool, DatabaseUrl};

    #[test]
    fn a_dropped_permit_gives_its_reservation_back() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}/budget.db", dir.path().display())).unwrap();
        let options = crate::db::PoolOptions::default();
        let pool = build_pool(&url, &options);
        let budgets = Arc::new(Budgets::new(Backend::Sqlite, 1, 1));
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let keys = || vec![source_key("192.0.2.1")];
        actix_web::rt::System::new().block_on(async {
            let abandoned = budgets.charge(&pool, keys(), false, now).await.unwrap();
            // The attempt's future is dropped before it is judged (its client went away).
            drop(abandoned);
            let again = budgets.charge(&pool, keys(), false, now).await;
            assert!(again.is_ok(), "the only token came back");
            budgets.failed(&pool, again.unwrap(), false, now).await;
            assert!(matches!(
                budgets.charge(&pool, keys(), false, now).await,
                Err(AuthError::TooManyFailures(_))
            ));
        });
    }
}

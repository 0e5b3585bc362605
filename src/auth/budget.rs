//! Failed-authentication budgets: per source network (an IPv4 address, an IPv6 /64) and
//! per login, `burst` at once and `per_minute` more each minute.
//!
//! An attempt is charged *before* its token is checked and refunded when it verifies, so
//! that concurrent attempts cannot all be verified before the first failure is counted.
//! Which budgets an attempt is charged to, and where they are kept:
//! - from a source the login has used successfully (a known source): only the source's
//!   budget, in this process's memory; a failure is also charged to the shared budget, and
//!   the memory one is lowered to match. The login's budget does not apply, so guesses from
//!   elsewhere cannot lock the reseller out of its own panel's address;
//! - from any other source: the source's and the login's budgets, in the shared store
//!   (Postgres: table `auth_budgets`, one budget for all instances; SQLite: memory, one
//!   process).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, NaiveDateTime};

use super::bucket::{MemoryBuckets, Quota};
use crate::db::{self, budgets, Backend, Pool};
use crate::error::DomainError;

/// Every this many shared takes, rows of full buckets are deleted.
const PRUNE_EVERY: u64 = 256;

/// Where a charge was made, so that a refund or a failure goes to the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Charge {
    Memory(String),
    Shared(String),
}

/// The charges of one attempt, settled by `succeeded` or `failed`.
#[derive(Debug, Default)]
#[must_use]
pub struct Permit {
    charges: Vec<Charge>,
}

pub struct Budgets {
    quota: Quota,
    memory: MemoryBuckets,
    shared_in_postgres: bool,
    shared_takes: AtomicU64,
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
            shared_takes: AtomicU64::new(0),
        }
    }

    /// Charges one attempt: `local` keys to this process's memory, `shared` keys to the
    /// shared store. Refused with the longest wait when any budget is spent (whatever was
    /// charged is given back).
    pub async fn charge(
        &self,
        pool: &Pool,
        local: &[String],
        shared: &[String],
        now: NaiveDateTime,
    ) -> Result<Permit, DomainError> {
        let mut permit = Permit::default();
        let mut refused: Option<u64> = None;
        for key in local {
            match self.memory.take(key, now) {
                Ok(()) => permit.charges.push(Charge::Memory(key.clone())),
                Err(wait) => refused = refused.max(Some(wait)),
            }
        }
        if refused.is_none() && !shared.is_empty() {
            if self.shared_in_postgres {
                for (key, granted, tokens) in self.take_shared(pool, shared, now).await? {
                    if granted {
                        permit.charges.push(Charge::Shared(key));
                    } else {
                        refused = refused.max(Some(self.quota.retry_after(tokens)));
                    }
                }
            } else {
                for key in shared {
                    match self.memory.take(key, now) {
                        Ok(()) => permit.charges.push(Charge::Memory(key.clone())),
                        Err(wait) => refused = refused.max(Some(wait)),
                    }
                }
            }
        }
        match refused {
            None => Ok(permit),
            Some(wait) => {
                self.succeeded(pool, permit, now).await;
                Err(DomainError::Throttled(wait))
            }
        }
    }

    /// The attempt verified: every charge is given back.
    pub async fn succeeded(&self, pool: &Pool, permit: Permit, now: NaiveDateTime) {
        let mut shared = Vec::new();
        for charge in permit.charges {
            match charge {
                Charge::Memory(key) => self.memory.refund(&key, now),
                Charge::Shared(key) => shared.push(key),
            }
        }
        if shared.is_empty() {
            return;
        }
        let burst = self.quota.burst;
        let result = db::run(pool, move |c| {
            shared
                .iter()
                .try_for_each(|key| budgets::refund(c, key, burst))
        })
        .await;
        if let Err(e) = result {
            log::warn!("could not refund an authentication budget: {e}");
        }
    }

    /// The attempt failed: charges stay; memory-only charges are also made in the shared
    /// store, so that every instance counts the failure.
    pub async fn failed(&self, pool: &Pool, permit: Permit, now: NaiveDateTime) {
        if !self.shared_in_postgres {
            return;
        }
        let local: Vec<String> = permit
            .charges
            .into_iter()
            .filter_map(|charge| match charge {
                Charge::Memory(key) => Some(key),
                Charge::Shared(_) => None,
            })
            .collect();
        if local.is_empty() {
            return;
        }
        match self.take_shared(pool, &local, now).await {
            Ok(outcomes) => {
                for (key, _, tokens) in outcomes {
                    self.memory.lower_to(&key, tokens, now);
                }
            }
            Err(e) => log::warn!("could not record a failed authentication: {e}"),
        }
    }

    async fn take_shared(
        &self,
        pool: &Pool,
        keys: &[String],
        now: NaiveDateTime,
    ) -> Result<Vec<(String, bool, f64)>, DomainError> {
        let quota = self.quota;
        let keys = keys.to_vec();
        let prune = self.shared_takes.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == 0;
        let full_after = Duration::milliseconds((quota.burst / quota.per_second * 1000.0) as i64);
        db::run(pool, move |c| {
            if prune {
                budgets::prune(c, now - full_after)?;
            }
            keys.into_iter()
                .map(|key| {
                    let (granted, tokens) =
                        budgets::take(c, &key, quota.burst, quota.per_second, now)?;
                    Ok((key, granted, tokens))
                })
                .collect()
        })
        .await
    }
}

//! Connection lanes: reads, writes and the background workers each draw from a pool of their
//! own, so that a burst of writes, each holding its connection for a commit's flush, cannot
//! take the connections that check.json or a console page needs, and a webhook or relay
//! backlog cannot take either (docs/benchmarks.md, "Reads beside writes").
//!
//! A request's lane is set once, by the server's middleware (`in_lane`), from what the call
//! is; `db::run` then takes its connection from that lane's pool. Work outside a request uses
//! the lane of its `Pool` handle (`Pool::lane`): the workers' handles are `Background`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which pool a call's connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Calls that change something (and anything not known to be a read).
    Writes,
    /// Calls that only read: lookups, lists, pages, the admin API's GETs.
    Reads,
    /// The workers: webhook deliveries, the upstream relay, trial expiry.
    Background,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::Writes, Lane::Reads, Lane::Background];

    pub fn name(self) -> &'static str {
        match self {
            Lane::Writes => "writes",
            Lane::Reads => "reads",
            Lane::Background => "background",
        }
    }

    pub(super) fn index(self) -> usize {
        match self {
            Lane::Writes => 0,
            Lane::Reads => 1,
            Lane::Background => 2,
        }
    }
}

tokio::task_local! {
    /// The lane of the request this task is serving, when the middleware set one.
    static CURRENT: Lane;
}

/// Runs `work` (a request's handling) with `lane` as the lane of its database calls.
pub async fn in_lane<F: std::future::Future>(lane: Lane, work: F) -> F::Output {
    CURRENT.scope(lane, work).await
}

/// The lane the current request runs in, if a middleware set one.
pub fn current() -> Option<Lane> {
    CURRENT.try_with(|lane| *lane).ok()
}

/// How long calls waited for a connection of one lane (for `/metrics`).
#[derive(Debug, Default)]
pub struct Waits {
    checkouts: AtomicU64,
    /// Checkouts that found no free connection at once and had to wait.
    waited: AtomicU64,
    wait_micros: AtomicU64,
    /// Checkouts that gave up (the checkout timeout passed).
    timeouts: AtomicU64,
}

/// A wait shorter than this is a free connection handed over, not a wait.
const WAITED: Duration = Duration::from_micros(200);

impl Waits {
    pub fn record(&self, waited: Duration, got: bool) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        if waited >= WAITED {
            self.waited.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.wait_micros.fetch_add(micros, Ordering::Relaxed);
        if !got {
            self.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (checkouts, of them waited, seconds waited in all, timeouts)
    pub fn snapshot(&self) -> (u64, u64, f64, u64) {
        (
            self.checkouts.load(Ordering::Relaxed),
            self.waited.load(Ordering::Relaxed),
            self.wait_micros.load(Ordering::Relaxed) as f64 / 1e6,
            self.timeouts.load(Ordering::Relaxed),
        )
    }
}

//! Dry runs: a call's whole rule path runs against the real database and every write
//! transaction in it is rolled back at its end instead of committed, so the answer is what
//! the real call would have answered and nothing changes (no history, no outbox row, so no
//! webhook or upstream change). A request asks for it with `?dry_run=true` (the admin API's
//! middleware, a task-local for the request's `db::run` calls); the CLI's `--dry-run` sets it
//! for its own thread.

use std::cell::Cell;

use super::DbConnection;
use crate::error::DomainError;

tokio::task_local! {
    /// Set for a request that asked for a dry run.
    static REQUESTED: bool;
}

thread_local! {
    /// Set while this thread runs a dry-run call's database work.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` (a request's handling) as a dry run when `dry` is true.
pub async fn in_request<F: std::future::Future>(dry: bool, work: F) -> F::Output {
    REQUESTED.scope(dry, work).await
}

/// Whether the current request asked for a dry run (false outside a request).
pub fn requested() -> bool {
    REQUESTED.try_with(|dry| *dry).unwrap_or(false)
}

/// Whether this thread's write transactions are rolled back (`write_transaction`).
pub fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// While alive, this thread's write transactions roll back (when `dry`).
struct Guard {
    before: bool,
}

fn enter(dry: bool) -> Guard {
    let before = ACTIVE.with(|a| a.replace(dry || a.get()));
    Guard { before }
}

/// Runs `f` as a dry run: inside one write transaction that is rolled back at its end, so
/// that the writes of every step are seen by the next (each `write_transaction` in it is a
/// savepoint) and none of them stays. `f`'s answer is returned as the real call's would be.
pub fn rolled_back<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let _guard = enter(true);
    super::write_transaction(conn, f)
}

impl Drop for Guard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.before));
    }
}

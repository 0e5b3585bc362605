//! Write transactions that behave the same under concurrency on both backends.

use std::cell::Cell;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::{commit_signal, DbConnection};
use crate::error::DomainError;

/// Runs `f` in a transaction meant to write.
///
/// SQLite: writers of this process first wait their turn in the pool's `WriteGate` (first come
/// first served), then `BEGIN IMMEDIATE` takes the database's write lock before the first read. A
/// deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT when
/// another writer committed in between, and the busy timeout does not retry that; waiting
/// for the lock up front does. `f` must not open a transaction of its own (other than through
/// this function, which nests as a savepoint).
/// Postgres: an ordinary transaction (row locks and unique indexes do the rest); behind a
/// transaction pooler it starts with the pool's `SET LOCAL` bounds (`pooler`).
/// Inside another (a dry run's, `dry_run`), it is a savepoint.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let nested = DEPTH.with(Cell::get) > 0;
    let _depth = nested_scope();
    let result = if nested {
        nested_transaction(conn, f)
    } else {
        run_transaction(conn, f)
    };
    if !nested {
        // Workers whose outbox rows this transaction committed are woken now (`commit_signal`).
        commit_signal::transaction_ended(result.is_ok());
    }
    result
}

thread_local! {
    /// How many `write_transaction`s this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Leaves one level of `DEPTH`, however the transaction ended.
pub(super) struct Depth;

/// While alive, this thread's write transactions are nested ones (savepoints): for work
/// inside a transaction begun elsewhere (`dry_run::Session`).
pub(super) fn nested_scope() -> Depth {
    DEPTH.with(|d| d.set(d.get() + 1));
    Depth
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// A transaction inside another: a savepoint (diesel's on Postgres, which tracks the depth of
/// its own transactions; by hand on SQLite, whose outer one was begun by hand).
fn nested_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return conn.transaction(f);
    }
    conn.batch_execute("SAVEPOINT ipls_nested")?;
    let result = f(conn);
    if result.is_err() {
        conn.batch_execute("ROLLBACK TO ipls_nested")?;
    }
    conn.batch_execute("RELEASE ipls_nested")?;
    result
}

fn run_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return match super::pooler::current() {
            None => conn.transaction(f),
            Some(settings) => conn.transaction(|c| {
                c.batch_execute(&settings)?;
                f(c)
            }),
        };
    }
    // This process's writers queue in order here, then take SQLite's lock at once.
    let gate = super::write_gate::current();
    let _turn = match &gate {
        Some(gate) => Some(
            gate.wait_turn(Duration::from_millis(u64::from(
                super::SQLITE_BUSY_TIMEOUT_MS,
            )))
            .ok_or_else(|| {
                DomainError::Busy(
                    "database is locked: no turn to write within the busy timeout".into(),
                )
            })?,
        ),
        None => None,
    };
    conn.batch_execute("BEGIN IMMEDIATE")?;
    let result = f(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    if let Err(e) = conn.batch_execute(end) {
        let _ = conn.batch_execute("ROLLBACK");
        if result.is_ok() {
            return Err(e.into());
        }
    }
    result
}

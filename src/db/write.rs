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
/// In a dry run (`dry_run`) the outermost one ends in a rollback on both backends, and `f`'s
/// value is kept; nested ones are savepoints, released as usual.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let dry = super::dry_run::active();
    let nested = DEPTH.with(Cell::get) > 0;
    DEPTH.with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    let result = if nested {
        nested_transaction(conn, f)
    } else {
        run_transaction(conn, f, dry)
    };
    if !nested {
        // Workers whose outbox rows this transaction committed are woken now (`commit_signal`).
        commit_signal::transaction_ended(result.is_ok() && !dry);
    }
    result
}

thread_local! {
    /// How many `write_transaction`s this thread is inside.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Leaves one level of `DEPTH`, however the transaction ended.
struct Depth;

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Ends a dry run's transaction: the work succeeded, and is rolled back all the same.
const DRY_RUN_ROLLBACK: &str = "dry run: rolled back";

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
    dry: bool,
) -> Result<T, DomainError> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        let settings = super::pooler::current();
        let mut kept = None;
        let result = conn.transaction(|c| {
            if let Some(settings) = &settings {
                c.batch_execute(settings)?;
            }
            let value = f(c)?;
            if !dry {
                return Ok(value);
            }
            kept = Some(value);
            Err(DomainError::Internal(DRY_RUN_ROLLBACK.into()))
        });
        return match (kept, result) {
            (Some(value), Err(DomainError::Internal(m))) if m == DRY_RUN_ROLLBACK => Ok(value),
            (_, result) => result,
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
    let end = if result.is_ok() && !dry {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    if let Err(e) = conn.batch_execute(end) {
        let _ = conn.batch_execute("ROLLBACK");
        if result.is_ok() {
            return Err(e.into());
        }
    }
    result
}

//! Write transactions that behave the same under concurrency on both backends.

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
/// for the lock up front does. `f` must not open a transaction of its own.
/// Postgres: an ordinary transaction (row locks and unique indexes do the rest); behind a
/// transaction pooler it starts with the pool's `SET LOCAL` bounds (`pooler`).
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let result = run_transaction(conn, f);
    // Workers whose outbox rows this transaction committed are woken now (`commit_signal`).
    commit_signal::transaction_ended(result.is_ok());
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

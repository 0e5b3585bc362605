//! Dry runs: a call's whole rule path runs against the real database and nothing it writes
//! stays, so the answer is what the real call would have answered and nothing changes (no
//! history, no outbox row, so no webhook or upstream change).
//!
//! - A request asks with `?dry_run=true` (the admin API's middleware). Every `db::run` of that
//!   request then works on one connection, inside one transaction begun at its first call and
//!   never committed: a later step sees what an earlier one wrote (a handler that creates and
//!   then reads back answers as it would for real), and each `write_transaction` in it is a
//!   savepoint. The connection is marked lost, so that when the request ends the pool closes
//!   it instead of taking it back, and closing it rolls the transaction back.
//! - The CLI's `--dry-run` holds its connection's transaction open until the process ends
//!   (`hold_open`), or runs its calls through the pool as a request does (`in_request`).

use std::sync::{Arc, Mutex};

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2;
use diesel::Connection;

use super::{ConnectionManager, DbConnection};
use crate::error::DomainError;

type Pooled = r2d2::PooledConnection<ConnectionManager>;

/// The connection of one dry-run request, with its open transaction.
#[derive(Default)]
pub struct Session {
    conn: Mutex<Option<Pooled>>,
}

tokio::task_local! {
    /// Set for a request that asked for a dry run.
    static SESSION: Arc<Session>;
}

/// Runs `work` (a request's handling) as a dry run.
pub async fn in_request<F: std::future::Future>(work: F) -> F::Output {
    SESSION.scope(Arc::default(), work).await
}

/// Whether the current request asked for a dry run (false outside a request).
pub fn requested() -> bool {
    SESSION.try_with(|_| ()).is_ok()
}

/// The current request's dry-run session, if it asked for one.
pub(super) fn session() -> Option<Arc<Session>> {
    SESSION.try_with(Arc::clone).ok()
}

impl Session {
    /// Runs `f` on the session's connection (checked out of `pool` and its transaction begun
    /// on the first call), as a transaction nested in that one.
    pub(super) fn run<T>(
        &self,
        pool: &r2d2::Pool<ConnectionManager>,
        f: impl FnOnce(&mut DbConnection) -> Result<T, DomainError>,
    ) -> Result<T, DomainError> {
        let mut held = self
            .conn
            .lock()
            .map_err(|_| DomainError::Internal("a dry run's connection was poisoned".into()))?;
        if held.is_none() {
            let mut pooled = pool
                .get()
                .map_err(|e| DomainError::Unavailable(e.to_string()))?;
            // Never back into the pool: closed when the request ends, which rolls back.
            pooled.lost = true;
            begin(&mut pooled.conn)?;
            *held = Some(pooled);
        }
        let Some(pooled) = held.as_mut() else {
            return Err(DomainError::Internal("a dry run has no connection".into()));
        };
        let _nested = super::write::nested_scope();
        f(&mut pooled.conn)
    }
}

/// Opens the transaction nothing will commit: on Postgres through diesel's transaction
/// manager, so that the transactions inside it are savepoints; on SQLite by hand, as
/// `write_transaction` does, taking the write lock at once.
fn begin(conn: &mut DbConnection) -> Result<(), DomainError> {
    match conn {
        DbConnection::Sqlite(_) => conn.batch_execute("BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(_) => {
            <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?
        }
    }
    Ok(())
}

/// Opens on `conn` a transaction nothing will commit, for the rest of this thread's work on
/// it (the CLI's `--dry-run`: one command, one connection, then the process ends and the
/// connection closes, which rolls back). Every `write_transaction` of this thread from now
/// on is a savepoint inside it.
pub fn hold_open(conn: &mut DbConnection) -> Result<(), DomainError> {
    begin(conn)?;
    std::mem::forget(super::write::nested_scope());
    Ok(())
}

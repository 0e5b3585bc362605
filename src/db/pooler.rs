//! Postgres behind a transaction pooler (PgBouncer `pool_mode = transaction`,
//! `IPLS_PG_TRANSACTION_POOLER=true`): each transaction, or each statement outside one, may
//! run on a different server connection. So ipls then
//! - prepares no named statements (diesel's statement cache is off: each query is sent with
//!   its parameters in one message, which any server connection can run);
//! - sets no session parameters at connect (they would stay on one server connection): a
//!   write transaction sets `statement_timeout` and `lock_timeout` with `SET LOCAL` instead,
//!   and statements outside transactions (reads) get the role's or the pooler's settings;
//! - migrates in one transaction under a transaction-scoped advisory lock (`migrate.rs`),
//!   which a pooler cannot leave held on a server connection.

use std::cell::RefCell;

use diesel::connection::CacheSize;
use diesel::Connection;

use super::PoolOptions;

/// Statement cache off, for a connection to a transaction pooler.
pub fn prepare_connection(pg: &mut diesel::PgConnection) {
    pg.set_prepared_statement_cache_size(CacheSize::Disabled);
}

/// The `SET LOCAL` a write transaction starts with behind a pooler; None without a pooler
/// (the settings were made once per connection) or when both bounds are off.
pub fn local_settings(options: &PoolOptions, transaction_pooler: bool) -> Option<String> {
    if !transaction_pooler {
        return None;
    }
    let mut sql = String::new();
    if options.statement_timeout_ms > 0 {
        sql.push_str(&format!(
            "SET LOCAL statement_timeout = {};",
            options.statement_timeout_ms
        ));
    }
    if options.lock_timeout_ms > 0 {
        sql.push_str(&format!(
            "SET LOCAL lock_timeout = {};",
            options.lock_timeout_ms
        ));
    }
    (!sql.is_empty()).then_some(sql)
}

thread_local! {
    /// The `SET LOCAL` of the pool whose connection this thread is using (set by `db::run`).
    static CURRENT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Makes `settings` the current thread's until the guard is dropped.
pub fn enter(settings: Option<String>) -> Entered {
    Entered {
        previous: CURRENT.with(|c| c.replace(settings)),
    }
}

pub struct Entered {
    previous: Option<String>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// What a write transaction on this thread starts with.
pub fn current() -> Option<String> {
    CURRENT.with(|c| c.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_only_behind_a_pooler() {
        let options = PoolOptions::default();
        assert_eq!(local_settings(&options, false), None);
        assert_eq!(
            local_settings(&options, true).as_deref(),
            Some("SET LOCAL statement_timeout = 10000;SET LOCAL lock_timeout = 2000;")
        );
        let none = PoolOptions {
            statement_timeout_ms: 0,
            lock_timeout_ms: 0,
            ..PoolOptions::default()
        };
        assert_eq!(local_settings(&none, true), None);
    }

    #[test]
    fn the_guard_restores_what_was_there() {
        let _outer = enter(Some("a".into()));
        {
            let _inner = enter(None);
            assert_eq!(current(), None);
        }
        assert_eq!(current().as_deref(), Some("a"));
    }
}

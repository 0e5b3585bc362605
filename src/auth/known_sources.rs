//! Sources (an IPv4 address, an IPv6 /64) from which a reseller has authenticated within
//! the last `KNOWN_FOR_DAYS` days. Kept in the database, so that restarts and other
//! instances agree; a small in-process memo spares a query per call and a write per success.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{known_sources, resellers};
use crate::db::{self, DbConnection, Pool};
use crate::error::DomainError;

/// A source stays known this long after its last successful authentication.
pub const KNOWN_FOR_DAYS: i64 = 30;

/// A success is written to the database at most this often per (login, source).
const REFRESH_MINUTES: i64 = 60;

/// The memo holds at most this many (login, source) pairs.
const MEMO_LIMIT: usize = 10_000;

#[derive(Default)]
pub struct KnownSources {
    /// (login, network) → when this process last recorded a success from there.
    memo: Mutex<HashMap<(String, String), NaiveDateTime>>,
}

impl KnownSources {
    fn memo_says(&self, login: &str, network: &str, now: NaiveDateTime) -> bool {
        let memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        memo.get(&(login.to_string(), network.to_string()))
            .is_some_and(|at| now - *at < Duration::minutes(REFRESH_MINUTES) && *at <= now)
    }

    /// Whether `login` has authenticated from `network` within the last 30 days.
    pub async fn is_known(
        &self,
        pool: &Pool,
        login: &str,
        network: &str,
        now: NaiveDateTime,
    ) -> Result<bool, DomainError> {
        if self.memo_says(login, network, now) {
            return Ok(true);
        }
        let (login, network) = (login.to_string(), network.to_string());
        db::run(pool, move |c| last_success(c, &login, &network, now)).await
    }

    /// Records a successful authentication of `reseller_id` from `network`.
    pub async fn remember(
        &self,
        pool: &Pool,
        reseller_id: i64,
        login: &str,
        network: &str,
        now: NaiveDateTime,
    ) -> Result<(), DomainError> {
        if self.memo_says(login, network, now) {
            return Ok(());
        }
        let net = network.to_string();
        db::run(pool, move |c| record_success(c, reseller_id, &net, now)).await?;
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.len() >= MEMO_LIMIT {
            memo.clear();
        }
        memo.insert((login.to_string(), network.to_string()), now);
        Ok(())
    }
}

fn last_success(
    conn: &mut DbConnection,
    login: &str,
    network: &str,
    now: NaiveDateTime,
) -> Result<bool, DomainError> {
    let found: i64 = known_sources::table
        .inner_join(resellers::table)
        .filter(resellers::login.eq(login))
        .filter(known_sources::net.eq(network))
        .filter(known_sources::last_ok_at.ge(now - Duration::days(KNOWN_FOR_DAYS)))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Update first, insert when there was no row; a concurrent insert of the same row is
/// as good as ours.
fn record_success(
    conn: &mut DbConnection,
    reseller_id: i64,
    network: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let row = known_sources::table.find((reseller_id, network));
    let updated = diesel::update(row)
        .set(known_sources::last_ok_at.eq(now))
        .execute(conn)?;
    if updated > 0 {
        return Ok(());
    }
    let inserted = diesel::insert_into(known_sources::table)
        .values((
            known_sources::reseller_id.eq(reseller_id),
            known_sources::net.eq(network),
            known_sources::last_ok_at.eq(now),
        ))
        .execute(conn);
    match inserted.map_err(DomainError::from) {
        Ok(_) | Err(DomainError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

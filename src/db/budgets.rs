//! Failure budgets shared by every instance on one Postgres: one row per key in the UNLOGGED
//! table `auth_budgets`, taken with a single upsert (a row lock serialises takers of the same
//! key across instances). SQLite serves one process, which keeps its budgets in memory.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Text, Timestamp};

use super::DbConnection;
use crate::error::DomainError;

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Double)]
    tokens: f64,
    #[diesel(sql_type = Bool)]
    granted: bool,
}

/// The refilled level, in SQL: what the row holds plus what time has added, capped at burst.
const REFILLED: &str =
    "LEAST($2, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM ($4 - b.at))::float8) * $3)";

fn postgres(conn: &mut DbConnection) -> Result<&mut PgConnection, DomainError> {
    match conn {
        DbConnection::Postgresql(pg) => Ok(pg),
        DbConnection::Sqlite(_) => Err(DomainError::Internal(
            "shared budgets are kept in Postgres only".into(),
        )),
    }
}

/// Takes one token from `key`'s bucket if it has one. Returns whether it was granted and
/// the tokens left (a refused take leaves the bucket as it was).
pub fn take(
    conn: &mut DbConnection,
    key: &str,
    burst: f64,
    per_second: f64,
    now: NaiveDateTime,
) -> Result<(bool, f64), DomainError> {
    let sql = format!(
        "INSERT INTO auth_budgets AS b (key, tokens, at, granted) VALUES ($1, $2 - 1, $4, TRUE) \
         ON CONFLICT (key) DO UPDATE SET \
           granted = {REFILLED} >= 1, \
           tokens = {REFILLED} - CASE WHEN {REFILLED} >= 1 THEN 1 ELSE 0 END, \
           at = GREATEST(b.at, $4) \
         RETURNING tokens, granted"
    );
    let taken: Taken = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Double, _>(burst)
        .bind::<Double, _>(per_second)
        .bind::<Timestamp, _>(now)
        .get_result(postgres(conn)?)?;
    Ok((taken.granted, taken.tokens))
}

/// Gives a token back to `key` (an attempt that turned out well).
pub fn refund(conn: &mut DbConnection, key: &str, burst: f64) -> Result<(), DomainError> {
    diesel::sql_query("UPDATE auth_budgets SET tokens = LEAST($2, tokens + 1) WHERE key = $1")
        .bind::<Text, _>(key)
        .bind::<Double, _>(burst)
        .execute(postgres(conn)?)?;
    Ok(())
}

/// Drops rows untouched since `before`: by then they are full again, the same as no row.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, DomainError> {
    Ok(diesel::sql_query("DELETE FROM auth_budgets WHERE at < $1")
        .bind::<Timestamp, _>(before)
        .execute(postgres(conn)?)?)
}

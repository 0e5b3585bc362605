//! Failure budgets shared by every instance on one Postgres: one row per key in the UNLOGGED
//! table `auth_budgets`, charged with a single upsert per failure (a row lock serialises
//! chargers of the same key across instances) and read before an attempt from an unknown
//! source is checked. SQLite serves one process, which keeps its budgets in memory.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, Double, Text, Timestamp};

#[derive(QueryableByName)]
struct Level {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Double)]
    tokens: f64,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

use super::DbConnection;
use crate::error::DomainError;

#[derive(QueryableByName)]
struct Left {
    #[diesel(sql_type = Double)]
    tokens: f64,
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

/// Charges one failure to `key`'s bucket: one token, if it has one (a spent bucket stays as
/// it is, so a guesser who keeps failing keeps it spent without digging deeper). Returns the
/// tokens left.
pub fn charge_failure(
    conn: &mut DbConnection,
    key: &str,
    burst: f64,
    per_second: f64,
    now: NaiveDateTime,
) -> Result<f64, DomainError> {
    let sql = format!(
        "INSERT INTO auth_budgets AS b (key, tokens, at) VALUES ($1, $2 - 1, $4) \
         ON CONFLICT (key) DO UPDATE SET \
           tokens = {REFILLED} - CASE WHEN {REFILLED} >= 1 THEN 1 ELSE 0 END, \
           at = GREATEST(b.at, $4) \
         RETURNING tokens"
    );
    let left: Left = diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Double, _>(burst)
        .bind::<Double, _>(per_second)
        .bind::<Timestamp, _>(now)
        .get_result(postgres(conn)?)?;
    Ok(left.tokens)
}

/// The stored level of each of `keys` that has a row: (tokens, when), before refilling.
pub fn levels(
    conn: &mut DbConnection,
    keys: &[String],
) -> Result<std::collections::HashMap<String, (f64, NaiveDateTime)>, DomainError> {
    let rows: Vec<Level> =
        diesel::sql_query("SELECT key, tokens, at FROM auth_budgets WHERE key = ANY($1)")
            .bind::<Array<Text>, _>(keys)
            .load(postgres(conn)?)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.key, (r.tokens, r.at)))
        .collect())
}

/// Drops rows untouched since `before`: by then they are full again, the same as no row.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, DomainError> {
    Ok(diesel::sql_query("DELETE FROM auth_budgets WHERE at < $1")
        .bind::<Timestamp, _>(before)
        .execute(postgres(conn)?)?)
}

//! Per-type reseller limits: what counts against them and the lock that keeps the count
//! exact. A reseller limited to N licenses of a type holds at most N of it across IP
//! licenses and activation-key servers (keys.md, ours).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::held_at;
use crate::db::schema::{activation_keys, ip_licenses, resellers};
use crate::db::DbConnection;
use crate::error::DomainError;

/// Takes the reseller's row lock for the rest of the transaction, so that its writes are
/// serialised while a limit is counted (on SQLite `write_transaction` already holds the
/// database's write lock). Unlimited types skip it: the unique indexes settle races.
pub fn lock_reseller(conn: &mut DbConnection, reseller_id: i64) -> Result<(), DomainError> {
    diesel::update(resellers::table.find(reseller_id))
        .set(resellers::id.eq(reseller_id))
        .execute(conn)?;
    Ok(())
}

/// Licenses of `type_id` the reseller holds at `now`: IP licenses (expired trials do not
/// count) plus the servers registered with its keys of that type.
pub fn count_owned(
    conn: &mut DbConnection,
    reseller_id: i64,
    type_id: i32,
    now: NaiveDateTime,
) -> Result<i64, DomainError> {
    let ip: i64 = ip_licenses::table
        .filter(ip_licenses::reseller_id.eq(reseller_id))
        .filter(ip_licenses::type_id.eq(type_id))
        .filter(held_at(now))
        .count()
        .get_result(conn)?;
    // A reseller has a handful of keys per type: summed here rather than with SUM(), whose
    // result type differs between the backends.
    let per_key: Vec<i32> = activation_keys::table
        .filter(activation_keys::reseller_id.eq(reseller_id))
        .filter(activation_keys::type_id.eq(type_id))
        .select(activation_keys::servers)
        .load(conn)?;
    Ok(ip + per_key.into_iter().map(i64::from).sum::<i64>())
}

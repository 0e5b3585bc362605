//! What ipls may hold at an upstream: a claim is written before ipls asks the upstream to
//! register a license (and when it adopts or imports one), and dropped once the upstream
//! confirms the license's removal. Reconcile repairs only what a claim names; a license held
//! upstream that no claim names is foreign, reported and left alone.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::upstream_claims;
use crate::db::DbConnection;
use crate::error::DomainError;

/// Claims (upstream, ip, type) unless already claimed (in the caller's transaction).
pub fn claim(
    conn: &mut DbConnection,
    upstream_id: i64,
    ip: &str,
    type_id: i32,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let exists: i64 = upstream_claims::table
        .find((upstream_id, ip.to_string(), type_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(upstream_claims::table)
            .values((
                upstream_claims::upstream_id.eq(upstream_id),
                upstream_claims::ip.eq(ip),
                upstream_claims::type_id.eq(type_id),
                upstream_claims::since.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn unclaim(
    conn: &mut DbConnection,
    upstream_id: i64,
    ip: &str,
    type_id: i32,
) -> Result<(), DomainError> {
    diesel::delete(upstream_claims::table.find((upstream_id, ip.to_string(), type_id)))
        .execute(conn)?;
    Ok(())
}

/// Every (ip, type) claimed at an upstream.
pub fn all_of(
    conn: &mut DbConnection,
    upstream_id: i64,
) -> Result<std::collections::HashSet<(String, i32)>, DomainError> {
    let rows: Vec<(String, i32)> = upstream_claims::table
        .filter(upstream_claims::upstream_id.eq(upstream_id))
        .select((upstream_claims::ip, upstream_claims::type_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

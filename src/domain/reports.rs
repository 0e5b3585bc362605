//! Operator reports that read licenses directly: stale servers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::licensed_at;
use crate::db::models::License;
use crate::db::schema::{ip_licenses, resellers};
use crate::db::DbConnection;
use crate::error::DomainError;

/// Licenses whose server never checked in since the license was created before `cutoff`,
/// or last checked in before `cutoff` (CLN's "Systems Not Checking In"), oldest first.
pub fn stale(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    reseller_id: Option<i64>,
) -> Result<Vec<(License, String)>, DomainError> {
    let mut query = ip_licenses::table
        .inner_join(resellers::table)
        .filter(super::silent_since(cutoff))
        .filter(licensed_at(now))
        .select((License::as_select(), resellers::login))
        .order((
            ip_licenses::last_checkin,
            ip_licenses::created_at,
            ip_licenses::ip,
        ))
        .into_boxed();
    if let Some(id) = reseller_id {
        query = query.filter(ip_licenses::reseller_id.eq(id));
    }
    Ok(query.load(conn)?)
}

//! Servers of routed types check in with the upstream, not with ipls: reconcile brings what
//! the upstream knows of each (registered, last check-in, server_info) onto the local
//! licenses, so list.json, server.json, the stale-servers report and the console show it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::License;
use crate::db::schema::ip_licenses;
use crate::db::{write_transaction, DbConnection};
use crate::domain::checkin::MAX_SERVER_INFO;
use crate::error::DomainError;

/// What the upstream says of one license's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub ip: String,
    pub type_id: i32,
    pub registered: bool,
    pub last_checkin: Option<NaiveDateTime>,
    pub server_info: Option<String>,
}

/// Applies `seen` to the settled local licenses it names (one transaction); returns how many
/// changed. A check-in never moves back: an older upstream date than the local one (a server
/// that also checked in here) is left.
pub fn apply(conn: &mut DbConnection, seen: &[Seen]) -> Result<usize, DomainError> {
    let ips: Vec<&str> = seen.iter().map(|s| s.ip.as_str()).collect();
    write_transaction(conn, |c| {
        let local: Vec<License> = ip_licenses::table
            .filter(ip_licenses::ip.eq_any(&ips))
            .filter(ip_licenses::relay_state.is_null())
            .select(License::as_select())
            .load(c)?;
        let mut changed = 0;
        for license in &local {
            let Some(s) = seen
                .iter()
                .find(|s| s.ip == license.ip && s.type_id == license.type_id)
            else {
                continue;
            };
            let last_checkin = match (license.last_checkin, s.last_checkin) {
                (Some(here), Some(there)) => Some(here.max(there)),
                (here, there) => here.or(there),
            };
            let registered_at = match (s.registered, license.registered_at) {
                (true, Some(at)) => Some(at),
                (true, None) => Some(last_checkin.unwrap_or(license.created_at)),
                (false, _) => None,
            };
            let server_info = s
                .server_info
                .as_deref()
                .map(|info| crate::wire::cut(info, MAX_SERVER_INFO))
                .or(license.server_info.clone());
            if (registered_at, last_checkin, &server_info)
                == (
                    license.registered_at,
                    license.last_checkin,
                    &license.server_info,
                )
            {
                continue;
            }
            changed += diesel::update(ip_licenses::table.find(license.id))
                .set((
                    ip_licenses::registered_at.eq(registered_at),
                    ip_licenses::last_checkin.eq(last_checkin),
                    ip_licenses::server_info.eq(&server_info),
                ))
                .execute(c)?;
        }
        Ok(changed)
    })
}

//! The append-only license history: every mutation writes one row per license touched,
//! inside the mutation's own transaction.

use diesel::prelude::*;

use super::Actor;
use crate::db::models::{LicenseEvent, NewLicenseEvent};
use crate::db::schema::license_events;
use crate::db::DbConnection;
use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Register,
    Remove,
    Convert,
    Update,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Remove => "remove",
            Action::Convert => "convert",
            Action::Update => "update",
        }
    }
}

pub fn record(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    action: Action,
    ip: &str,
    type_id: i32,
    detail: Option<String>,
) -> Result<(), DomainError> {
    diesel::insert_into(license_events::table)
        .values(NewLicenseEvent {
            at: actor.now,
            reseller_id: Some(actor.reseller.id),
            action: action.as_str(),
            ip,
            type_id: Some(type_id),
            detail,
            source: Some(actor.source),
        })
        .execute(conn)?;
    Ok(())
}

/// Events about one IP, oldest first (tests, the operator's audit view).
pub fn for_ip(conn: &mut DbConnection, ip: &str) -> Result<Vec<LicenseEvent>, DomainError> {
    Ok(license_events::table
        .filter(license_events::ip.eq(ip))
        .order(license_events::id)
        .select(LicenseEvent::as_select())
        .load(conn)?)
}

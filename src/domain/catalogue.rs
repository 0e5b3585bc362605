//! The license-type catalogue (contract §5): types, their families, and which types a
//! reseller may register.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::{license_families, license_types, reseller_types};
use crate::db::DbConnection;
use crate::error::DomainError;

/// A license type with the rules of its family.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LicenseType {
    pub id: i32,
    pub name: String,
    pub family: String,
    pub exclusive: bool,
    pub convertible: bool,
}

impl LicenseType {
    /// The value of `ip_licenses.slot`: unique (ip, slot) makes an exclusive family hold
    /// one type per IP; other types get a slot of their own.
    pub fn slot(&self) -> String {
        if self.exclusive {
            self.family.clone()
        } else {
            self.id.to_string()
        }
    }
}

type TypeColumns = (
    license_types::id,
    license_types::name,
    license_types::family,
    license_families::exclusive,
    license_families::convertible,
);
const TYPE_COLUMNS: TypeColumns = (
    license_types::id,
    license_types::name,
    license_types::family,
    license_families::exclusive,
    license_families::convertible,
);

pub fn find_type(conn: &mut DbConnection, id: i32) -> Result<Option<LicenseType>, DomainError> {
    Ok(license_types::table
        .inner_join(license_families::table)
        .filter(license_types::id.eq(id))
        .select(TYPE_COLUMNS)
        .first(conn)
        .optional()?)
}

pub fn all_types(conn: &mut DbConnection) -> Result<Vec<LicenseType>, DomainError> {
    Ok(license_types::table
        .inner_join(license_families::table)
        .order(license_types::id)
        .select(TYPE_COLUMNS)
        .load(conn)?)
}

/// A type enabled for a reseller, with its limit (None = unlimited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledType {
    pub license_type: LicenseType,
    pub limit: Option<i32>,
}

/// The types enabled for one reseller, by id.
pub fn enabled_types(
    conn: &mut DbConnection,
    reseller_id: i64,
) -> Result<Vec<EnabledType>, DomainError> {
    Ok(enabled_types_of(conn, &[reseller_id])?
        .remove(&reseller_id)
        .unwrap_or_default())
}

/// The enabled types of several resellers in one statement, by reseller id, in type order
/// (a reseller with nothing enabled is absent).
pub fn enabled_types_of(
    conn: &mut DbConnection,
    reseller_ids: &[i64],
) -> Result<HashMap<i64, Vec<EnabledType>>, DomainError> {
    let rows: Vec<(i64, LicenseType, Option<i32>)> = reseller_types::table
        .inner_join(license_types::table.inner_join(license_families::table))
        .filter(reseller_types::reseller_id.eq_any(reseller_ids))
        .order((reseller_types::reseller_id, license_types::id))
        .select((
            reseller_types::reseller_id,
            TYPE_COLUMNS,
            reseller_types::license_limit,
        ))
        .load(conn)?;
    let mut by_reseller: HashMap<i64, Vec<EnabledType>> = HashMap::new();
    for (reseller_id, license_type, limit) in rows {
        by_reseller
            .entry(reseller_id)
            .or_default()
            .push(EnabledType {
                license_type,
                limit,
            });
    }
    Ok(by_reseller)
}

/// The caller's grant for one type: None when the type is not enabled for it.
pub fn grant(
    conn: &mut DbConnection,
    reseller_id: i64,
    type_id: i32,
) -> Result<Option<Option<i32>>, DomainError> {
    Ok(reseller_types::table
        .filter(reseller_types::reseller_id.eq(reseller_id))
        .filter(reseller_types::type_id.eq(type_id))
        .select(reseller_types::license_limit)
        .first(conn)
        .optional()?)
}

//! The rules of the product, free of HTTP: every function takes a `DbConnection` and runs
//! its writes in one transaction.

pub mod catalogue;
pub mod events;
pub mod ip;
pub mod licenses;
pub mod queries;
pub mod resellers;

use chrono::NaiveDateTime;

use crate::db::models::Reseller;
use crate::error::DomainError;

/// Operator settings the rules depend on.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Let private, loopback and other non-public addresses be licensed (labs, tests).
    pub allow_private_ips: bool,
}

/// Who is acting, from where, and when: recorded with every mutation.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub reseller: &'a Reseller,
    /// The caller's network address, or "cli" for the operator's commands.
    pub source: &'a str,
    pub now: NaiveDateTime,
}

/// Blocked accounts may read but not change anything (contract §1).
pub fn ensure_active(reseller: &Reseller) -> Result<(), DomainError> {
    match &reseller.blocked_reason {
        None => Ok(()),
        Some(reason) => Err(DomainError::refused(format!(
            "Account {} is blocked: {reason}",
            reseller.login
        ))),
    }
}

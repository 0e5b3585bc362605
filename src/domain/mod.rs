//! The rules of the product, free of HTTP: every function takes a `DbConnection` and runs
//! its writes in one transaction.

pub mod actor;
pub mod admin_tokens;
pub mod catalogue;
pub mod checkin;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod ip;
pub mod keys;
pub mod license_search;
pub mod license_trend;
pub mod licenses;
pub mod lookups;
pub mod mail;
pub mod month;
pub mod password_resets;
pub mod prices;
pub mod queries;
pub mod random;
pub mod rekey;
pub mod report_mailing;
pub mod reports;
pub mod resellers;
pub mod roles;
pub mod sessions;
pub mod two_factor;
pub mod type_limits;
pub mod upstream;
pub mod usage;
pub mod usage_history;
pub mod usage_trend;
pub mod users;
pub mod webhooks;

use chrono::NaiveDateTime;
use diesel::{BoolExpressionMethods, ExpressionMethods};

pub use actor::{ActingFor, Actor, Source};

use crate::db::models::Reseller;
use crate::error::DomainError;

/// Default lifetime of a trial license, in days.
pub const DEFAULT_TRIAL_DAYS: i64 = 30;

/// Operator settings the rules depend on.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Let private, loopback and other non-public addresses be licensed (labs, tests).
    pub allow_private_ips: bool,
    /// How long a trial license lasts before it stops counting as held.
    pub trial_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_private_ips: false,
            trial_days: DEFAULT_TRIAL_DAYS,
        }
    }
}

/// Text with a NUL character is refused before it is stored: Postgres cannot store it, and
/// both backends must answer the same.
pub fn refuse_nul(field: &str, text: &str) -> Result<(), DomainError> {
    if text.contains('\0') {
        return Err(DomainError::invalid(format!(
            "{field} must not contain NUL (\\0) characters"
        )));
    }
    Ok(())
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

/// SQL filter: a license, not a relay intent (`upstream::REGISTERING` / `WITHDRAWING`):
/// what list.json, server.json, counts and reports show.
#[diesel::dsl::auto_type]
pub fn licensed_at(now: NaiveDateTime) -> _ {
    let settled: diesel::dsl::IsNull<crate::db::schema::ip_licenses::relay_state> =
        crate::db::schema::ip_licenses::relay_state.is_null();
    let held: held_at = held_at(now);
    held.and(settled)
}

/// SQL filter: the license's server has not checked in since `since` (CLN's "not checking
/// in"): it last checked in before then, or never did and the license is older.
#[diesel::dsl::auto_type]
pub fn silent_since(since: NaiveDateTime) -> _ {
    crate::db::schema::ip_licenses::last_checkin.lt(since).or(
        crate::db::schema::ip_licenses::last_checkin
            .is_null()
            .and(crate::db::schema::ip_licenses::created_at.lt(since)),
    )
}

/// SQL filter: the license counts as held at `now` (not an expired trial). Intents count:
/// they hold their IP and their place in limits.
#[diesel::dsl::auto_type]
pub fn held_at(now: NaiveDateTime) -> _ {
    crate::db::schema::ip_licenses::trial_expires_at
        .is_null()
        .or(crate::db::schema::ip_licenses::trial_expires_at.gt(now))
}

//! The audit rows of changes to accounts rather than licenses: what the operator does to a
//! reseller (create, block, unblock, types and limits, settings, secrets) and to console
//! logins (added, removed, password changed). Each is written here, in the change's own
//! transaction, so every face (console, CLI, admin API) records it the same way, with who
//! acted. They live in the license history (`license_events`, with no IP), which is what the
//! console's audit and history pages and `ipls audit` read.

use diesel::prelude::*;

use super::ChangedBy;
use crate::db::schema::license_events;
use crate::db::DbConnection;
use crate::error::DomainError;

/// What changed in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    ResellerCreate,
    Block,
    Unblock,
    /// Its enabled types and limits (`detail`: the new ones).
    Types,
    /// Trial, API access, legacy SHA-1 tokens, allowed sources (`detail`: the new values of
    /// those that changed).
    Settings,
    /// The first secret replaced.
    SecretRotate,
    /// A named secret added or revoked (`detail`: `name=NAME`).
    SecretAdd,
    SecretRevoke,
    /// A console login added or removed, or its password set (`detail`: `user=EMAIL`, and
    /// the role of an added one).
    UserAdd,
    UserRemove,
    UserPassword,
    /// Two-factor login turned on or off for a login (`detail`: `user=EMAIL`).
    TwoFactorOn,
    TwoFactorOff,
    /// A one-time password reset link issued for a login (`detail`: `user=EMAIL`).
    ResetLink,
    /// A product family's report mailing set (`detail`: `family=F active=on|off to=A,B`).
    ReportMailing,
    /// The KernelCare monitoring token made or rotated, or revoked.
    MonitoringToken,
    MonitoringTokenRevoke,
}

impl AccountAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::ResellerCreate => "reseller_create",
            AccountAction::Block => "reseller_block",
            AccountAction::Unblock => "reseller_unblock",
            AccountAction::Types => "reseller_types",
            AccountAction::Settings => "reseller_settings",
            AccountAction::SecretRotate => "secret_rotate",
            AccountAction::SecretAdd => "secret_add",
            AccountAction::SecretRevoke => "secret_revoke",
            AccountAction::UserAdd => "user_add",
            AccountAction::UserRemove => "user_remove",
            AccountAction::UserPassword => "user_password",
            AccountAction::TwoFactorOn => "user_2fa_on",
            AccountAction::TwoFactorOff => "user_2fa_off",
            AccountAction::ResetLink => "user_reset_link",
            AccountAction::ReportMailing => "report_mailing",
            AccountAction::MonitoringToken => "monitoring_token",
            AccountAction::MonitoringTokenRevoke => "monitoring_token_revoke",
        }
    }
}

/// Writes one audit row: `reseller_id` is the account changed (None for an operator's own
/// login).
pub fn record(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    action: AccountAction,
    detail: Option<String>,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    diesel::insert_into(license_events::table)
        .values((
            license_events::at.eq(by.now),
            license_events::reseller_id.eq(reseller_id),
            license_events::action.eq(action.as_str()),
            license_events::ip.eq(""),
            license_events::detail.eq(detail),
            license_events::source.eq(Some(by.source.to_string())),
        ))
        .execute(conn)?;
    Ok(())
}

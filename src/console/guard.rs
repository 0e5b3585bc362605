//! The checks every state-changing console request passes before anything is done: the
//! form's CSRF token matches the session's, and the user's role has the permission
//! (`domain::roles`).

use crate::auth::session::{tokens_match, Console};
use crate::db::models::Reseller;
use crate::domain::ensure_active;
use crate::domain::roles::{Permission, Role};

use super::page::ConsoleError;

/// A reseller user's change: the CSRF token matches, the role has `permission` and the
/// account is not blocked (a blocked account reads but changes nothing, as in the API).
/// Returns the reseller acted for.
pub fn reseller_write<'a>(
    who: &'a Console,
    csrf: &str,
    permission: Permission,
) -> Result<&'a Reseller, ConsoleError> {
    csrf_matches(who, csrf)?;
    let reseller = reseller_read(who, permission)?;
    ensure_active(reseller)?;
    Ok(reseller)
}

/// A reseller user's page or read: the role has `permission`.
pub fn reseller_read(who: &Console, permission: Permission) -> Result<&Reseller, ConsoleError> {
    let reseller = who
        .reseller
        .as_ref()
        .ok_or(ConsoleError::Forbidden("This page is for reseller users."))?;
    if who.role().may(permission) {
        Ok(reseller)
    } else {
        Err(ConsoleError::Forbidden(refusal(permission)))
    }
}

/// Any reseller user (the Account page, where every login changes its own password).
pub fn reseller_user(who: &Console) -> Result<&Reseller, ConsoleError> {
    who.reseller
        .as_ref()
        .ok_or(ConsoleError::Forbidden("This page is for reseller users."))
}

/// Why a role may not: what it would need.
fn refusal(permission: Permission) -> &'static str {
    match permission {
        Permission::ViewLicenses => "Your login's role does not show licenses and servers.",
        Permission::ManageLicenses => {
            "Your login's role may not add, remove or change licenses and keys."
        }
        Permission::ManageServers => "Your login's role may not manage servers.",
        Permission::ViewBilling => "Your login's role does not show billing figures.",
        Permission::ManageAccount => {
            "Your login's role may not change the account's logins, secrets or settings."
        }
    }
}

/// A report page both kinds of user open: an operator sees everyone's rows (None), a
/// reseller's login its own, if its role has `permission`.
pub fn report_scope(who: &Console, permission: Permission) -> Result<Option<i64>, ConsoleError> {
    if who.role() == Role::Operator {
        return Ok(None);
    }
    Ok(Some(reseller_read(who, permission)?.id))
}

/// An operator's page.
pub fn operator_read(who: &Console) -> Result<(), ConsoleError> {
    if who.role() == Role::Operator {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden("This page is for operators."))
    }
}

/// An operator's write.
pub fn operator_write(who: &Console, csrf: &str) -> Result<(), ConsoleError> {
    csrf_matches(who, csrf)?;
    operator_read(who)
}

pub fn csrf_matches(who: &Console, csrf: &str) -> Result<(), ConsoleError> {
    if tokens_match(&who.csrf, csrf) {
        Ok(())
    } else {
        Err(ConsoleError::BadCsrf)
    }
}

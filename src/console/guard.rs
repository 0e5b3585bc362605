//! The checks every state-changing console request passes before anything is done: the
//! form's CSRF token matches the session's, and the user's role may write.

use crate::auth::session::{tokens_match, Console};
use crate::db::models::Reseller;
use crate::domain::ensure_active;
use crate::domain::users::Role;

use super::page::ConsoleError;

/// A reseller user's write: the CSRF token matches, the role is `full` and the account is
/// not blocked (a blocked account reads but changes nothing, as in the API). Returns the
/// reseller acted for.
pub fn reseller_write<'a>(who: &'a Console, csrf: &str) -> Result<&'a Reseller, ConsoleError> {
    csrf_matches(who, csrf)?;
    if who.role() != Role::Full {
        return Err(ConsoleError::Forbidden(
            "Your login is read-only: it can see this account but not change it.",
        ));
    }
    let reseller = who
        .reseller
        .as_ref()
        .ok_or(ConsoleError::Forbidden("This page is for reseller users."))?;
    ensure_active(reseller)?;
    Ok(reseller)
}

/// A reseller user's read: any role of a reseller.
pub fn reseller_read(who: &Console) -> Result<&Reseller, ConsoleError> {
    who.reseller
        .as_ref()
        .ok_or(ConsoleError::Forbidden("This page is for reseller users."))
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

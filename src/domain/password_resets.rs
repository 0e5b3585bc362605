//! One-time password reset links the operator issues for a console user (`ipls user
//! reset-link`): a random token, of which only the SHA-256 is kept, good once and until it
//! runs out. Using it sets the new password and ends the user's sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::resellers::audit::{self, AccountAction};
use super::resellers::ChangedBy;
use super::users;
use crate::db::models::ConsoleUser;
use crate::db::schema::{console_password_resets, console_users};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// The path a link leads to; the token follows as `?token=`.
pub const RESET_PATH: &str = "/console/reset";

fn hash_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a link for `email`, good until `expires_at`; returns the token (shown once). An
/// older link of the same user stops working.
pub fn issue(
    conn: &mut DbConnection,
    email: &str,
    expires_at: NaiveDateTime,
    by: &ChangedBy<'_>,
) -> Result<String, DomainError> {
    let token = hex::encode(super::random::bytes::<32>()?);
    write_transaction(conn, |c| {
        let user = users::get(c, email)?;
        diesel::delete(
            console_password_resets::table.filter(console_password_resets::user_id.eq(user.id)),
        )
        .execute(c)?;
        diesel::insert_into(console_password_resets::table)
            .values((
                console_password_resets::token_hash.eq(hash_of(&token)),
                console_password_resets::user_id.eq(user.id),
                console_password_resets::expires_at.eq(expires_at),
            ))
            .execute(c)?;
        let detail = format!("user={}", user.email);
        audit::record(
            c,
            user.reseller_id,
            AccountAction::ResetLink,
            Some(detail),
            by,
        )
    })?;
    Ok(token)
}

/// The user a live link is for.
pub fn find(
    conn: &mut DbConnection,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<ConsoleUser>, DomainError> {
    Ok(console_password_resets::table
        .inner_join(console_users::table)
        .filter(console_password_resets::token_hash.eq(hash_of(token)))
        .filter(console_password_resets::expires_at.gt(now))
        .select(ConsoleUser::as_select())
        .first(conn)
        .optional()?)
}

/// Uses the link: sets `password_hash` (ending every session of the user) and forgets the
/// link, in one transaction. A link used, replaced or run out is refused.
pub fn redeem(
    conn: &mut DbConnection,
    token: &str,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<ConsoleUser, DomainError> {
    write_transaction(conn, |c| {
        let user = find(c, token, now)?.ok_or_else(|| {
            DomainError::not_found("this reset link was used already, replaced, or ran out")
        })?;
        diesel::delete(console_password_resets::table.find(hash_of(token))).execute(c)?;
        let source = super::Source::Console(user.email.clone());
        let by = ChangedBy {
            source: &source,
            now,
        };
        users::set_password(c, user.id, password_hash, None, &by)?;
        Ok(user)
    })
}

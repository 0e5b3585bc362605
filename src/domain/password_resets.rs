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

/// How long a link asked for by e-mail works.
pub const MAILED_LINK_MINUTES: i64 = 60;
/// A user gets at most one mailed link in this many minutes, however often one is asked for.
pub const MAILED_LINK_EVERY_MINUTES: i64 = 5;

/// A user asks for a link by e-mail (the console's "Forgot your password?"): when `email` is
/// a login's and none was mailed to it in the last `MAILED_LINK_EVERY_MINUTES`, issues a link
/// good for `MAILED_LINK_MINUTES` and queues its mail, in one transaction. Returns whether a
/// mail was queued; the page says the same either way, so that it tells nobody which
/// addresses are logins.
pub fn mail_link(
    conn: &mut DbConnection,
    email: &str,
    public_url: &str,
    by: &ChangedBy<'_>,
) -> Result<bool, DomainError> {
    let Ok(email) = users::normalize_email(email) else {
        return Ok(false);
    };
    write_transaction(conn, |c| {
        let Some(user) = users::find_by_email(c, &email)? else {
            return Ok(false);
        };
        let recent =
            by.now + chrono::Duration::minutes(MAILED_LINK_MINUTES - MAILED_LINK_EVERY_MINUTES);
        let mailed_lately: i64 = console_password_resets::table
            .filter(console_password_resets::user_id.eq(user.id))
            .filter(console_password_resets::expires_at.gt(recent))
            .count()
            .get_result(c)?;
        if mailed_lately > 0 {
            return Ok(false);
        }
        let expires = by.now + chrono::Duration::minutes(MAILED_LINK_MINUTES);
        let token = issue(c, &user.email, expires, by)?;
        let body = format!(
            "A password reset was asked for the ipls console login {email}.\n\n\
             Choose a new password here (the link works once, for {MAILED_LINK_MINUTES} minutes):\n\
             {public_url}{RESET_PATH}?token={token}\n\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n",
            email = user.email,
        );
        super::mail::outbox::queue(
            c,
            &super::mail::outbox::NewMail {
                kind: super::mail::outbox::RESET,
                reseller_id: user.reseller_id,
                to: &user.email,
                subject: "ipls: reset your console password",
                body: &body,
                attachment: None,
            },
            by.now,
        )?;
        Ok(true)
    })
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

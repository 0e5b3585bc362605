//! Web console users: operators, and a reseller's users with a role (`roles`). Passwords arrive here already hashed (the hashing lives in `auth`).

use diesel::prelude::*;

use crate::db::models::{ConsoleUser, NewConsoleUser};
use crate::db::schema::{console_sessions, console_users};
use crate::db::{write_transaction, DbConnection};
use crate::domain::resellers::audit::{self, AccountAction};
use crate::domain::resellers::ChangedBy;
use crate::error::DomainError;

/// Longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

pub use super::roles::Role;

impl ConsoleUser {
    /// The stored role; a value the schema's CHECK would not let in reads as read-only.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::ReadOnly)
    }
}

/// An e-mail address as the login form's `type="email"` field accepts it (the HTML
/// standard's "valid e-mail address"), with a dot in the domain: the one rule for every face
/// that takes one (`ipls user add`, the Account page, the admin API, the login form itself).
static EMAIL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(crate::wire::patterns::EMAIL)
        .unwrap_or_else(|e| unreachable!("a constant pattern: {e}"))
});
/// Lower-cased and trimmed, or a clear refusal.
pub fn normalize_email(email: &str) -> Result<String, DomainError> {
    let email = email.trim().to_lowercase();
    if email.len() <= MAX_EMAIL && EMAIL.is_match(&email) {
        Ok(email)
    } else {
        Err(DomainError::invalid(format!(
            "{} is not an e-mail address (name@example.com)",
            crate::wire::shorten(&email)
        )))
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    /// None for an operator, the reseller's id otherwise.
    pub reseller_id: Option<i64>,
}

/// Adds a console login; the audit records it with who added it (`resellers::audit`).
pub fn create(
    conn: &mut DbConnection,
    user: &NewUser<'_>,
    by: &ChangedBy<'_>,
) -> Result<ConsoleUser, DomainError> {
    let email = normalize_email(user.email)?;
    if (user.role == Role::Operator) != user.reseller_id.is_none() {
        return Err(DomainError::invalid(
            "an operator belongs to no reseller; every other user belongs to one",
        ));
    }
    write_transaction(conn, |c| {
        if find_by_email(c, &email)?.is_some() {
            return Err(DomainError::conflict(format!(
                "user {email} already exists"
            )));
        }
        diesel::insert_into(console_users::table)
            .values(NewConsoleUser {
                email: &email,
                password_hash: user.password_hash,
                role: user.role.as_str(),
                reseller_id: user.reseller_id,
                created_at: by.now,
            })
            .execute(c)?;
        let detail = format!("user={email} role={}", user.role.as_str());
        audit::record(
            c,
            user.reseller_id,
            AccountAction::UserAdd,
            Some(detail),
            by,
        )?;
        get(c, &email)
    })
}

pub fn find_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<ConsoleUser>, DomainError> {
    Ok(console_users::table
        .filter(console_users::email.eq(email.trim().to_lowercase()))
        .select(ConsoleUser::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, email: &str) -> Result<ConsoleUser, DomainError> {
    find_by_email(conn, email)?
        .ok_or_else(|| DomainError::not_found(format!("no user {}", email.trim())))
}

/// Every user, or the users of one reseller; by e-mail.
pub fn list(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
) -> Result<Vec<ConsoleUser>, DomainError> {
    let mut query = console_users::table
        .select(ConsoleUser::as_select())
        .order(console_users::email)
        .into_boxed();
    if let Some(id) = reseller_id {
        query = query.filter(console_users::reseller_id.eq(id));
    }
    Ok(query.load(conn)?)
}

/// Sets a new password hash and ends the user's sessions, except `keep` (the session that
/// changed it, if any).
pub fn set_password(
    conn: &mut DbConnection,
    user_id: i64,
    password_hash: &str,
    keep: Option<&str>,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let user = by_id(c, user_id)?;
        diesel::update(console_users::table.find(user_id))
            .set(console_users::password_hash.eq(password_hash))
            .execute(c)?;
        let detail = format!("user={}", user.email);
        audit::record(
            c,
            user.reseller_id,
            AccountAction::UserPassword,
            Some(detail),
            by,
        )?;
        let others = console_sessions::table
            .filter(console_sessions::user_id.eq(user_id))
            .filter(console_sessions::id_hash.ne(keep.unwrap_or("")));
        diesel::delete(others).execute(c)?;
        Ok(())
    })
}

/// Removes the user and every session of theirs.
pub fn remove(
    conn: &mut DbConnection,
    user_id: i64,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let user = by_id(c, user_id)?;
        diesel::delete(console_sessions::table.filter(console_sessions::user_id.eq(user_id)))
            .execute(c)?;
        diesel::delete(console_users::table.find(user_id)).execute(c)?;
        let detail = format!("user={}", user.email);
        audit::record(
            c,
            user.reseller_id,
            AccountAction::UserRemove,
            Some(detail),
            by,
        )
    })
}

/// The user with this id, read in the caller's transaction.
fn by_id(conn: &mut DbConnection, user_id: i64) -> Result<ConsoleUser, DomainError> {
    console_users::table
        .find(user_id)
        .select(ConsoleUser::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DomainError::not_found("that user no longer exists"))
}

//! Web console users: operators, and a reseller's users with the role `full` or
//! `read-only`. Passwords arrive here already hashed (the hashing lives in `auth`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{ConsoleUser, NewConsoleUser};
use crate::db::schema::{console_sessions, console_users};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// Longest e-mail address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Runs ipls: every reseller, prices, the audit log.
    Operator,
    /// Everything the reseller itself may do.
    Full,
    /// Sees what the reseller sees, changes nothing.
    ReadOnly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Full => "full",
            Role::ReadOnly => "read-only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Role::Operator),
            "full" => Some(Role::Full),
            "read-only" => Some(Role::ReadOnly),
            _ => None,
        }
    }
}

impl ConsoleUser {
    /// The stored role; a value the schema's CHECK would not let in reads as read-only.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::ReadOnly)
    }
}

/// Lower-cased and trimmed, or a clear refusal.
pub fn normalize_email(email: &str) -> Result<String, DomainError> {
    let email = email.trim().to_lowercase();
    let well_formed = email.len() <= MAX_EMAIL
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(email)
    } else {
        Err(DomainError::invalid(format!(
            "{email:?} is not an e-mail address"
        )))
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    /// None for an operator, the reseller's id otherwise.
    pub reseller_id: Option<i64>,
    pub now: NaiveDateTime,
}

pub fn create(conn: &mut DbConnection, user: &NewUser<'_>) -> Result<ConsoleUser, DomainError> {
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
                created_at: user.now,
            })
            .execute(c)?;
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
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let changed = diesel::update(console_users::table.find(user_id))
            .set(console_users::password_hash.eq(password_hash))
            .execute(c)?;
        if changed == 0 {
            return Err(DomainError::not_found("that user no longer exists"));
        }
        let others = console_sessions::table
            .filter(console_sessions::user_id.eq(user_id))
            .filter(console_sessions::id_hash.ne(keep.unwrap_or("")));
        diesel::delete(others).execute(c)?;
        Ok(())
    })
}

/// Removes the user and every session of theirs.
pub fn remove(conn: &mut DbConnection, user_id: i64) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        diesel::delete(console_sessions::table.filter(console_sessions::user_id.eq(user_id)))
            .execute(c)?;
        let removed = diesel::delete(console_users::table.find(user_id)).execute(c)?;
        if removed == 0 {
            return Err(DomainError::not_found("that user no longer exists"));
        }
        Ok(())
    })
}

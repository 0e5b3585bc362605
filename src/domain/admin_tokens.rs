//! Operator API tokens (the admin API's credentials): named, read-only or not, revocable.
//! The token itself is shown once at creation; only its SHA-256 is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{AdminToken, NewAdminToken};
use crate::db::schema::admin_tokens;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// Longest token name.
const MAX_NAME: usize = 64;

pub fn create(
    conn: &mut DbConnection,
    name: &str,
    token_hash: &str,
    read_only: bool,
    now: NaiveDateTime,
) -> Result<AdminToken, DomainError> {
    let name = name.trim();
    let well_formed = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if !well_formed {
        return Err(DomainError::invalid(format!(
            "a token name has 1 to {MAX_NAME} letters, digits, '-', '_', '.' or '@'"
        )));
    }
    write_transaction(conn, |c| {
        if find_by_name(c, name)?.is_some() {
            return Err(DomainError::conflict(format!(
                "a token named {name} already exists"
            )));
        }
        diesel::insert_into(admin_tokens::table)
            .values(NewAdminToken {
                name,
                token_hash,
                read_only,
                created_at: now,
            })
            .execute(c)?;
        find_by_name(c, name)?.ok_or_else(DomainError::raced)
    })
}

pub fn find_by_name(
    conn: &mut DbConnection,
    name: &str,
) -> Result<Option<AdminToken>, DomainError> {
    Ok(admin_tokens::table
        .filter(admin_tokens::name.eq(name))
        .select(AdminToken::as_select())
        .first(conn)
        .optional()?)
}

/// The live (not revoked) token with this hash.
pub fn find_live(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<AdminToken>, DomainError> {
    Ok(admin_tokens::table
        .filter(admin_tokens::token_hash.eq(token_hash))
        .filter(admin_tokens::revoked_at.is_null())
        .select(AdminToken::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<AdminToken>, DomainError> {
    Ok(admin_tokens::table
        .order(admin_tokens::name)
        .select(AdminToken::as_select())
        .load(conn)?)
}

/// Revokes the token at once; it keeps its row (and name) for the record.
pub fn revoke(conn: &mut DbConnection, name: &str, now: NaiveDateTime) -> Result<(), DomainError> {
    let changed = diesel::update(
        admin_tokens::table
            .filter(admin_tokens::name.eq(name))
            .filter(admin_tokens::revoked_at.is_null()),
    )
    .set(admin_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    if changed == 0 {
        return Err(DomainError::not_found(format!(
            "no live token named {name}"
        )));
    }
    Ok(())
}

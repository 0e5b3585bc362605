//! Console sessions, stored in the database so that every instance sees the same ones and a
//! removed user or a blocked reseller is logged out everywhere. Only the SHA-256 of the
//! session id is stored; the id itself lives in the user's cookie.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{ConsoleSession, ConsoleUser, Reseller};
use crate::db::schema::{console_sessions, console_users, resellers};
use crate::db::DbConnection;
use crate::error::DomainError;

pub fn start(conn: &mut DbConnection, session: &ConsoleSession) -> Result<(), DomainError> {
    diesel::insert_into(console_sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// A live session with its user, and the user's reseller (None for an operator).
pub struct Found {
    pub session: ConsoleSession,
    pub user: ConsoleUser,
    pub reseller: Option<Reseller>,
}

pub fn find(conn: &mut DbConnection, id_hash: &str) -> Result<Option<Found>, DomainError> {
    let row: Option<(ConsoleSession, ConsoleUser)> = console_sessions::table
        .inner_join(console_users::table)
        .filter(console_sessions::id_hash.eq(id_hash))
        .select((ConsoleSession::as_select(), ConsoleUser::as_select()))
        .first(conn)
        .optional()?;
    let Some((session, user)) = row else {
        return Ok(None);
    };
    let reseller = match user.reseller_id {
        Some(id) => Some(
            resellers::table
                .find(id)
                .select(Reseller::as_select())
                .first(conn)?,
        ),
        None => None,
    };
    Ok(Some(Found {
        session,
        user,
        reseller,
    }))
}

/// Records use of the session (its idle clock restarts).
pub fn touch(
    conn: &mut DbConnection,
    id_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    diesel::update(console_sessions::table.find(id_hash))
        .set(console_sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn end(conn: &mut DbConnection, id_hash: &str) -> Result<(), DomainError> {
    diesel::delete(console_sessions::table.find(id_hash)).execute(conn)?;
    Ok(())
}

/// Ends the sessions of every user of the reseller (it was blocked).
pub fn end_for_reseller(conn: &mut DbConnection, reseller_id: i64) -> Result<(), DomainError> {
    let users = console_users::table
        .filter(console_users::reseller_id.eq(reseller_id))
        .select(console_users::id);
    diesel::delete(console_sessions::table.filter(console_sessions::user_id.eq_any(users)))
        .execute(conn)?;
    Ok(())
}

/// Deletes sessions unused since `idle_cutoff` or started before `absolute_cutoff`.
pub fn prune(
    conn: &mut DbConnection,
    idle_cutoff: NaiveDateTime,
    absolute_cutoff: NaiveDateTime,
) -> Result<usize, DomainError> {
    let dead = console_sessions::table.filter(
        console_sessions::last_seen_at
            .lt(idle_cutoff)
            .or(console_sessions::created_at.lt(absolute_cutoff)),
    );
    Ok(diesel::delete(dead).execute(conn)?)
}

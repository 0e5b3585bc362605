//! `Idempotency-Key` reservations: the first request with a key reserves it before doing
//! its work; a repeat with the same key and bytes waits for the first one's answer and
//! replays it; the key with other bytes is refused. A key is scoped to the admin token, the
//! method and the path, and kept `KEPT_HOURS`. An answer whose created resource is gone is
//! not replayed (the key is free again), so a retry never shows a dead resource.
//!
//! The reservation and the work commit separately: a request that dies between its work and
//! its answer's record leaves a `pending` reservation, which another request may take over
//! after `PENDING_LEASE_SECS` (and then does the work again).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{keys, resellers, webhooks};
use crate::db::models::StoredAnswer;
use crate::db::schema::idempotency_keys as ik;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// How long an answer is kept for replay (Stripe's habit).
pub const KEPT_HOURS: i64 = 24;
/// A `pending` reservation older than this was left by a request that died; it is taken over.
pub const PENDING_LEASE_SECS: i64 = 60;

const PENDING: &str = "pending";
const DONE: &str = "done";

/// What a key is scoped to.
#[derive(Debug, Clone)]
pub struct Scope {
    pub token_id: i64,
    pub method: String,
    pub path: String,
    pub key: String,
}

/// The row of `scope` (the table's primary key).
macro_rules! row_of {
    ($scope:expr) => {
        ik::table.find((
            $scope.token_id,
            $scope.method.clone(),
            $scope.path.clone(),
            $scope.key.clone(),
        ))
    };
}

impl Scope {
    /// The label a kept answer is sealed under: a sealed answer cannot be moved to another
    /// token, method, path or key.
    pub fn sealing_label(&self) -> String {
        format!(
            "idempotency:{}:{}:{}:{}",
            self.token_id, self.method, self.path, self.key
        )
    }
}

/// What reserving a key found.
#[derive(Debug)]
pub enum Reservation {
    /// This request holds the key: do the work, then `finish` (or `release` on failure).
    Won,
    /// The same request was answered before: replay this (sealed) answer.
    Replay { status: i32, sealed_body: String },
    /// The same request is being worked on by another call right now.
    InProgress,
    /// The key was used with other bytes.
    Mismatch,
}

fn label_of(row: &StoredAnswer) -> String {
    Scope {
        token_id: row.token_id,
        method: row.method.clone(),
        path: row.path.clone(),
        key: row.key.clone(),
    }
    .sealing_label()
}

/// Reserves the key for this request, or says what holds it. Of requests that reserve the
/// same key at once, the unique key lets one insert; the others look again and find it.
pub fn reserve(
    conn: &mut DbConnection,
    scope: &Scope,
    request_hash: &str,
    now: NaiveDateTime,
) -> Result<Reservation, DomainError> {
    let mut attempts = 0;
    loop {
        match reserve_once(conn, scope, request_hash, now) {
            Err(DomainError::Conflict(_)) if attempts < 3 => attempts += 1,
            other => return other,
        }
    }
}

fn reserve_once(
    conn: &mut DbConnection,
    scope: &Scope,
    request_hash: &str,
    now: NaiveDateTime,
) -> Result<Reservation, DomainError> {
    write_transaction(conn, |c| {
        // Answers past their time go whenever a key is reserved (admin POSTs are few).
        prune(c, now)?;
        let found: Option<StoredAnswer> = row_of!(scope)
            .select(StoredAnswer::as_select())
            .first(c)
            .optional()?;
        if let Some(row) = found {
            let abandoned = row.state == PENDING
                && row.created_at <= now - Duration::seconds(PENDING_LEASE_SECS);
            let dead = row.expires_at <= now
                || abandoned
                || (row.state == DONE && !resource_exists(c, row.resource.as_deref())?);
            if !dead {
                return Ok(if row.request_hash != request_hash {
                    Reservation::Mismatch
                } else if row.state == PENDING {
                    Reservation::InProgress
                } else {
                    match (row.status, row.body) {
                        (Some(status), Some(sealed_body)) => Reservation::Replay {
                            status,
                            sealed_body,
                        },
                        _ => Reservation::InProgress,
                    }
                });
            }
            diesel::delete(row_of!(scope)).execute(c)?;
        }
        diesel::insert_into(ik::table)
            .values(StoredAnswer {
                token_id: scope.token_id,
                method: scope.method.clone(),
                path: scope.path.clone(),
                key: scope.key.clone(),
                request_hash: request_hash.to_string(),
                state: PENDING.to_string(),
                status: None,
                body: None,
                resource: None,
                created_at: now,
                expires_at: now + Duration::hours(KEPT_HOURS),
            })
            .execute(c)?;
        Ok(Reservation::Won)
    })
}

/// Records the winning request's answer (sealed) and what it created.
pub fn finish(
    conn: &mut DbConnection,
    scope: &Scope,
    status: i32,
    sealed_body: &str,
    resource: Option<&str>,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        diesel::update(row_of!(scope))
            .set((
                ik::state.eq(DONE),
                ik::status.eq(Some(status)),
                ik::body.eq(Some(sealed_body)),
                ik::resource.eq(resource),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// The winning request failed: the key is free for a retry.
pub fn release(conn: &mut DbConnection, scope: &Scope) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        diesel::delete(row_of!(scope)).execute(c)?;
        Ok(())
    })
}

/// Drops kept answers that ran out; returns how many.
pub fn prune(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, DomainError> {
    Ok(diesel::delete(ik::table.filter(ik::expires_at.le(now))).execute(conn)?)
}

/// Whether what a kept answer created still exists (an answer that created nothing does).
fn resource_exists(conn: &mut DbConnection, resource: Option<&str>) -> Result<bool, DomainError> {
    let Some((kind, id)) = resource.and_then(|r| r.split_once('/')) else {
        return Ok(true);
    };
    match kind {
        "keys" => Ok(keys::find(conn, id)?.is_some()),
        "resellers" => Ok(resellers::find_by_login(conn, id)?.is_some()),
        "webhooks" => match id.parse::<i64>() {
            Ok(id) => Ok(webhooks::endpoints::find(conn, id)?.is_some()),
            Err(_) => Ok(false),
        },
        _ => Ok(true),
    }
}

/// `ipls rekey`: re-seals every kept answer under `new`. Returns the count.
pub fn reseal_all(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let rows: Vec<StoredAnswer> = ik::table
        .filter(ik::body.is_not_null())
        .select(StoredAnswer::as_select())
        .load(conn)?;
    for row in &rows {
        let label = label_of(row);
        let Some(sealed) = &row.body else { continue };
        let clear = old.open(&label, sealed).ok_or_else(|| {
            DomainError::Internal(format!(
                "a kept Idempotency-Key answer ({} {}) does not open with the old key",
                row.method, row.path
            ))
        })?;
        let resealed = new.seal(&label, &clear).map_err(DomainError::Internal)?;
        diesel::update(row_of!(row))
            .set(ik::body.eq(Some(resealed)))
            .execute(conn)?;
    }
    Ok(rows.len())
}

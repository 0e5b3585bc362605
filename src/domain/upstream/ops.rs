//! The relay's outbox: a change to carry to an upstream is a row written in the transaction
//! of the local change, so a change that rolls back carries nothing and one that commits is
//! carried (found by a worker, across restarts and instances). The changes on one IP go in
//! the order they were made: only the oldest pending change of an (upstream, IP) can be
//! leased. A change stays pending until the upstream confirms it; failures are retried with
//! a growing delay, never given up (an operator mends the upstream, or removes it).

use std::time::Duration as StdDuration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};

use super::claims;
use crate::db::commit_signal::Signal;
use crate::db::models::UpstreamOp;
use crate::db::schema::{ip_licenses, upstream_ops};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

pub const PENDING: &str = "pending";
pub const DONE: &str = "done";

/// Raised when a transaction that queued changes commits: this instance's relay worker starts
/// at once instead of at its next look.
pub static OPS_QUEUED: Signal = Signal::new();

/// What to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Register (ip, type) (a reconcile's repair of a license missing upstream).
    Register,
    /// Remove (ip, type): a local remove, a trial's end, a withdrawn intent, a stale claim.
    Remove,
    /// Set els_allowed on (ip, type).
    Update,
    /// Convert (ip, type) to `type_to`.
    Convert,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Register => "register",
            OpKind::Remove => "remove",
            OpKind::Update => "update",
            OpKind::Convert => "convert",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            OpKind::Register,
            OpKind::Remove,
            OpKind::Update,
            OpKind::Convert,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A change to queue.
#[derive(Debug, Clone)]
pub struct NewOp<'a> {
    pub upstream_id: i64,
    pub ip: &'a str,
    pub kind: OpKind,
    pub type_id: i32,
    pub els_allowed: Option<bool>,
    pub type_to: Option<i32>,
    /// Who made the local change (the history's source).
    pub source: &'a str,
    pub now: NaiveDateTime,
    /// Not carried before this (system clock): a withdrawal waits until the registration it
    /// undoes can no longer be on its way to the upstream.
    pub not_before: Option<NaiveDateTime>,
}

/// Queues a change in the caller's transaction.
pub fn enqueue(conn: &mut DbConnection, op: &NewOp<'_>) -> Result<(), DomainError> {
    diesel::insert_into(upstream_ops::table)
        .values((
            upstream_ops::upstream_id.eq(op.upstream_id),
            upstream_ops::ip.eq(op.ip),
            upstream_ops::op.eq(op.kind.as_str()),
            upstream_ops::type_id.eq(op.type_id),
            upstream_ops::els_allowed.eq(op.els_allowed),
            upstream_ops::type_to.eq(op.type_to),
            upstream_ops::source.eq(op.source),
            upstream_ops::created_at.eq(op.now),
            upstream_ops::state.eq(PENDING),
            upstream_ops::attempts.eq(0),
            upstream_ops::next_attempt_at.eq(op.not_before),
        ))
        .execute(conn)?;
    OPS_QUEUED.on_commit();
    Ok(())
}

/// Queues `kind` on (ip, type) for the upstream `type_id` is carried to, if any (in the
/// caller's transaction): the one call every local change of a license makes.
pub fn carry(
    conn: &mut DbConnection,
    ip: &str,
    type_id: i32,
    change: Change,
    source: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    let Some(upstream) = super::route_of(conn, type_id)? else {
        return Ok(());
    };
    let (kind, els_allowed, type_to) = match change {
        Change::Register { els_allowed } => (OpKind::Register, Some(els_allowed), None),
        Change::Remove => (OpKind::Remove, None, None),
        Change::Update { els_allowed } => (OpKind::Update, Some(els_allowed), None),
        Change::Convert { to } => (OpKind::Convert, None, Some(to)),
    };
    enqueue(
        conn,
        &NewOp {
            upstream_id: upstream.id,
            ip,
            kind,
            type_id,
            els_allowed,
            type_to,
            source,
            now,
            not_before: None,
        },
    )
}

/// A change to carry, with what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Register { els_allowed: bool },
    Remove,
    Update { els_allowed: bool },
    Convert { to: i32 },
}

/// How many changes on `ip` are still waiting to be carried to `upstream_id`.
pub fn pending_on(conn: &mut DbConnection, upstream_id: i64, ip: &str) -> Result<i64, DomainError> {
    Ok(upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::ip.eq(ip))
        .filter(upstream_ops::state.eq(PENDING))
        .count()
        .get_result(conn)?)
}

/// Changes `source` queued for `upstream_id` since `since` that are still waiting (what a
/// reconcile's repairs left behind).
pub fn pending_from(
    conn: &mut DbConnection,
    upstream_id: i64,
    source: &str,
    since: NaiveDateTime,
) -> Result<Vec<UpstreamOp>, DomainError> {
    Ok(upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::state.eq(PENDING))
        .filter(upstream_ops::source.eq(source))
        .filter(upstream_ops::created_at.ge(since))
        .select(UpstreamOp::as_select())
        .load(conn)?)
}

/// The (ip, type) pairs with a change still waiting, among `ips` (one statement for a page),
/// or among all when `ips` is None. A convert names both its types.
pub fn pending_among(
    conn: &mut DbConnection,
    ips: Option<&[String]>,
) -> Result<std::collections::HashSet<(String, i32)>, DomainError> {
    let mut query = upstream_ops::table
        .filter(upstream_ops::state.eq(PENDING))
        .select((
            upstream_ops::ip,
            upstream_ops::type_id,
            upstream_ops::type_to,
        ))
        .into_boxed();
    if let Some(ips) = ips {
        query = query.filter(upstream_ops::ip.eq_any(ips));
    }
    let rows: Vec<(String, i32, Option<i32>)> = query.load(conn)?;
    let mut out = std::collections::HashSet::new();
    for (ip, type_id, type_to) in rows {
        if let Some(to) = type_to {
            out.insert((ip.clone(), to));
        }
        out.insert((ip, type_id));
    }
    Ok(out)
}

/// The oldest pending change of each (upstream, IP) that is due and not leased, leased to
/// until `until`; at most `limit`.
const CLAIM: &str = "UPDATE upstream_ops SET lease_until = ? \
     WHERE id IN (SELECT o.id FROM upstream_ops o \
       WHERE o.state = 'pending' \
         AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?) \
         AND (o.lease_until IS NULL OR o.lease_until <= ?) \
         AND NOT EXISTS (SELECT 1 FROM upstream_ops p WHERE p.upstream_id = o.upstream_id \
           AND p.ip = o.ip AND p.state = 'pending' AND p.id < o.id) \
       ORDER BY o.id LIMIT ? LOCKING) \
     RETURNING id";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Whether any change is due (a read, so that an idle worker does not take SQLite's write
/// lock on every look).
pub fn any_due(conn: &mut DbConnection, now: NaiveDateTime) -> Result<bool, DomainError> {
    let due: Option<i64> = upstream_ops::table
        .filter(upstream_ops::state.eq(PENDING))
        .filter(
            upstream_ops::next_attempt_at
                .is_null()
                .or(upstream_ops::next_attempt_at.le(now)),
        )
        .filter(
            upstream_ops::lease_until
                .is_null()
                .or(upstream_ops::lease_until.le(now)),
        )
        .select(upstream_ops::id)
        .first(conn)
        .optional()?;
    Ok(due.is_some())
}

pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i32,
) -> Result<Vec<UpstreamOp>, DomainError> {
    let locking = match conn {
        DbConnection::Postgresql(_) => "FOR UPDATE SKIP LOCKED",
        DbConnection::Sqlite(_) => "",
    };
    let sql = CLAIM.replace("LOCKING", locking);
    write_transaction(conn, |c| {
        let claimed: Vec<Claimed> = crate::raw_sql!(
            c,
            &sql,
            [
                (Timestamp, until),
                (Timestamp, now),
                (Timestamp, now),
                (Integer, limit)
            ],
            load::<Claimed>
        )?;
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        Ok(upstream_ops::table
            .filter(upstream_ops::id.eq_any(ids))
            .order(upstream_ops::id)
            .select(UpstreamOp::as_select())
            .load(c)?)
    })
}

/// The upstream confirmed `op` (with `note` when it answered that there was nothing to
/// change): it is done, and what ipls may hold there follows (a register claims the license,
/// a remove drops the claim and the withdrawn intent it finishes, a convert moves the claim).
pub fn confirmed(
    conn: &mut DbConnection,
    op: &UpstreamOp,
    now: NaiveDateTime,
    note: Option<&str>,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        let done = diesel::update(
            upstream_ops::table
                .find(op.id)
                .filter(upstream_ops::state.eq(PENDING)),
        )
        .set((
            upstream_ops::state.eq(DONE),
            upstream_ops::done_at.eq(Some(now)),
            upstream_ops::last_error.eq(note
                .map(|n| crate::wire::cut(n, 500))
                .or(op.last_error.clone())),
            upstream_ops::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(c)?;
        if done == 0 {
            return Ok(()); // already recorded (another instance's retry of a lost lease)
        }
        // A change the upstream found nothing to apply to moves no claim.
        match OpKind::parse(&op.op).filter(|_| note.is_none()) {
            Some(OpKind::Register) => claims::claim(c, op.upstream_id, &op.ip, op.type_id, now)?,
            Some(OpKind::Remove) => {
                claims::unclaim(c, op.upstream_id, &op.ip, op.type_id)?;
                diesel::delete(
                    ip_licenses::table
                        .filter(ip_licenses::ip.eq(&op.ip))
                        .filter(ip_licenses::type_id.eq(op.type_id))
                        .filter(ip_licenses::relay_state.eq(super::WITHDRAWING)),
                )
                .execute(c)?;
            }
            Some(OpKind::Convert) => {
                if let Some(to) = op.type_to {
                    claims::unclaim(c, op.upstream_id, &op.ip, op.type_id)?;
                    claims::claim(c, op.upstream_id, &op.ip, to, now)?;
                }
            }
            Some(OpKind::Update) | None => {}
        }
        Ok(())
    })
}

/// The next delay after `attempts` failed attempts: 1 s, doubling, at most an hour.
pub fn retry_delay(attempts: i32) -> StdDuration {
    let exponent = u32::try_from(attempts.clamp(1, 13) - 1).unwrap_or(0);
    StdDuration::from_secs((1u64 << exponent).min(3_600))
}

/// The upstream did not confirm `op`: counted, its error kept, retried at `retry_at`.
pub fn failed(
    conn: &mut DbConnection,
    op: &UpstreamOp,
    error: &str,
    retry_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        diesel::update(
            upstream_ops::table
                .find(op.id)
                .filter(upstream_ops::state.eq(PENDING)),
        )
        .set((
            upstream_ops::attempts.eq(upstream_ops::attempts + 1),
            upstream_ops::last_error.eq(Some(crate::wire::cut(error, 500))),
            upstream_ops::first_failure_at.eq(op.first_failure_at.or(Some(now))),
            upstream_ops::next_attempt_at.eq(Some(retry_at)),
            upstream_ops::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(c)?;
        Ok(())
    })
}

/// An upstream's changes in a state, newest first.
pub fn list(
    conn: &mut DbConnection,
    upstream_id: i64,
    state: &str,
    limit: i64,
) -> Result<Vec<UpstreamOp>, DomainError> {
    Ok(upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::state.eq(state))
        .order(upstream_ops::id.desc())
        .limit(limit)
        .select(UpstreamOp::as_select())
        .load(conn)?)
}

/// An upstream's outbox at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Changes waiting.
    pub pending: i64,
    /// Since when the longest-failing waiting change has been failing, and its last error.
    pub failing: Option<(NaiveDateTime, String)>,
}

pub fn health(conn: &mut DbConnection, upstream_id: i64) -> Result<Health, DomainError> {
    let pending = upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::state.eq(PENDING))
        .count()
        .get_result(conn)?;
    let failing: Option<(Option<NaiveDateTime>, Option<String>)> = upstream_ops::table
        .filter(upstream_ops::upstream_id.eq(upstream_id))
        .filter(upstream_ops::state.eq(PENDING))
        .filter(upstream_ops::first_failure_at.is_not_null())
        .order(upstream_ops::first_failure_at)
        .select((upstream_ops::first_failure_at, upstream_ops::last_error))
        .first(conn)
        .optional()?;
    Ok(Health {
        pending,
        failing: failing.and_then(|(since, error)| Some((since?, error.unwrap_or_default()))),
    })
}

/// Done changes older than `before` go (they are history no one reads; the license history
/// keeps what happened).
pub fn prune_done(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, DomainError> {
    Ok(diesel::delete(
        upstream_ops::table
            .filter(upstream_ops::state.eq(DONE))
            .filter(upstream_ops::done_at.le(before)),
    )
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), StdDuration::from_secs(1));
        assert_eq!(retry_delay(2), StdDuration::from_secs(2));
        assert_eq!(retry_delay(5), StdDuration::from_secs(16));
        assert_eq!(retry_delay(13), StdDuration::from_secs(3_600));
        assert_eq!(retry_delay(1_000), StdDuration::from_secs(3_600));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [
            OpKind::Register,
            OpKind::Remove,
            OpKind::Update,
            OpKind::Convert,
        ] {
            assert_eq!(OpKind::parse(kind.as_str()), Some(kind));
        }
    }
}

//! The state of each delivery: which endpoint a worker holds (a lease, so one instance sends
//! an endpoint's events at a time and in order), the queue's head, the outcome of each
//! attempt, the log, and a retry by hand.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::endpoints;
use crate::db::raw::numbered;
use crate::db::schema::{webhook_attempts, webhook_deliveries};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

/// How much of an answer's body the log keeps.
pub const LOGGED_ANSWER_BYTES: usize = 2_048;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
pub struct Attempt {
    pub id: i64,
    pub delivery_id: i64,
    pub at: NaiveDateTime,
    pub status: Option<i32>,
    pub duration_ms: i32,
    pub response: Option<String>,
    pub error: Option<String>,
}

/// What one attempt ended in, and what follows it.
pub struct Outcome<'a> {
    pub at: NaiveDateTime,
    pub status: Option<u16>,
    pub duration_ms: i32,
    pub response: Option<&'a str>,
    pub error: Option<&'a str>,
    pub next: Next,
}

#[derive(Debug, Clone)]
pub enum Next {
    Delivered,
    /// Failed; try again at this time.
    RetryAt(NaiveDateTime),
    /// Failed for good: the delivery is marked failed and the endpoint disabled, why.
    GiveUp(String),
}

/// The endpoint whose queue head is due and which no live lease holds, least recently
/// served first; Postgres skips rows another instance is claiming at the same moment.
const CLAIM: &str = "UPDATE webhook_endpoints SET lease_until = ?, lease_owner = ? \
     WHERE id = (SELECT e.id FROM webhook_endpoints e \
       WHERE e.enabled AND (e.lease_until IS NULL OR e.lease_until <= ?) \
         AND EXISTS (SELECT 1 FROM webhook_deliveries d \
           WHERE d.id = (SELECT min(h.id) FROM webhook_deliveries h \
                          WHERE h.endpoint_id = e.id AND h.state = 'pending') \
             AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)) \
       ORDER BY e.lease_until NULLS FIRST, e.id LIMIT 1 LOCKING) \
     RETURNING id";

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Takes the lease of one endpoint with due work until `until`; returns its id.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
    owner: &str,
) -> Result<Option<i64>, DomainError> {
    let locking = match conn {
        DbConnection::Postgresql(_) => "FOR UPDATE SKIP LOCKED",
        // One writer at a time: `write_transaction` holds SQLite's write lock.
        DbConnection::Sqlite(_) => "",
    };
    let sql = CLAIM.replace("LOCKING", locking);
    write_transaction(conn, |c| {
        let rows: Vec<Claimed> = crate::raw_sql!(
            c,
            &sql,
            [
                (Timestamp, until),
                (Text, owner),
                (Timestamp, now),
                (Timestamp, now)
            ],
            load::<Claimed>
        )?;
        Ok(rows.first().map(|r| r.id))
    })
}

/// Extends a held lease; false when it was lost (expired and taken by another worker).
pub fn renew(
    conn: &mut DbConnection,
    endpoint_id: i64,
    owner: &str,
    until: NaiveDateTime,
) -> Result<bool, DomainError> {
    use crate::db::schema::webhook_endpoints as e;
    let rows = diesel::update(
        e::table
            .filter(e::id.eq(endpoint_id))
            .filter(e::lease_owner.eq(owner)),
    )
    .set(e::lease_until.eq(Some(until)))
    .execute(conn)?;
    Ok(rows == 1)
}

/// Gives the lease back, marking when the endpoint was last served (fair turns).
pub fn release(
    conn: &mut DbConnection,
    endpoint_id: i64,
    owner: &str,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    use crate::db::schema::webhook_endpoints as e;
    diesel::update(
        e::table
            .filter(e::id.eq(endpoint_id))
            .filter(e::lease_owner.eq(owner)),
    )
    .set((
        e::lease_until.eq(Some(now)),
        e::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(())
}

/// The first `limit` pending deliveries of the endpoint with an id above `after` (0: from the
/// start), in the order they were queued.
///
/// A worker passes the last id it sent, so a drain walks the pending index onwards instead of
/// stepping again over the entries of rows it already delivered (they stay until VACUUM). On
/// Postgres the walk is pinned for the statement (`SET LOCAL`, in its own transaction): a
/// table whose statistics predate a burst is estimated to hold a handful of pending rows, and
/// the planner then reads every pending row and sorts them for each batch (measured with
/// 100,000 pending and no ANALYZE since they were queued: 34 ms per batch of 32).
pub fn queue_head(
    conn: &mut DbConnection,
    endpoint_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Delivery>, DomainError> {
    let head = |c: &mut DbConnection| {
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::state.eq(PENDING))
            .filter(webhook_deliveries::id.gt(after))
            .order(webhook_deliveries::id)
            .limit(limit)
            .select(Delivery::as_select())
            .load(c)
    };
    match conn {
        DbConnection::Sqlite(_) => Ok(head(conn)?),
        DbConnection::Postgresql(_) => Ok(conn.transaction(|c| {
            c.batch_execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off")?;
            head(c)
        })?),
    }
}

/// Records a batch of attempts and moves their deliveries on, in one transaction (one commit
/// for the batch, not one per delivery), and renews the sender's lease. Returns whether the
/// lease is still held. The batch's successes are one update of their delivery rows; a
/// failure is also logged in `webhook_attempts`. A delivery no longer pending (removed, or retried by hand
/// meanwhile) keeps its state.
pub fn record(
    conn: &mut DbConnection,
    batch: &[(Delivery, Outcome<'_>)],
    lease: &Lease<'_>,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let mut delivered = Vec::with_capacity(batch.len());
        for (delivery, outcome) in batch {
            let row = webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(delivery.id))
                .filter(webhook_deliveries::state.eq(PENDING));
            let last = (
                webhook_deliveries::attempts.eq(delivery.attempts.saturating_add(1)),
                webhook_deliveries::last_status.eq(outcome.status.map(i32::from)),
                webhook_deliveries::last_duration_ms.eq(Some(outcome.duration_ms)),
                webhook_deliveries::last_response.eq(outcome.response),
                webhook_deliveries::last_error.eq(outcome.error),
            );
            if !matches!(outcome.next, Next::Delivered) {
                diesel::insert_into(webhook_attempts::table)
                    .values((
                        webhook_attempts::delivery_id.eq(delivery.id),
                        webhook_attempts::at.eq(outcome.at),
                        webhook_attempts::status.eq(outcome.status.map(i32::from)),
                        webhook_attempts::duration_ms.eq(outcome.duration_ms),
                        webhook_attempts::response.eq(outcome.response),
                        webhook_attempts::error.eq(outcome.error),
                    ))
                    .execute(c)?;
            }
            match &outcome.next {
                Next::Delivered => delivered.push((delivery, outcome)),
                Next::RetryAt(at) => {
                    diesel::update(row)
                        .set((last, webhook_deliveries::next_attempt_at.eq(Some(*at))))
                        .execute(c)?;
                }
                Next::GiveUp(reason) => {
                    diesel::update(row)
                        .set((last, webhook_deliveries::state.eq(FAILED)))
                        .execute(c)?;
                    endpoints::disable(c, delivery.endpoint_id, reason)?;
                }
            }
        }
        mark_delivered(c, &delivered)?;
        renew(c, lease.endpoint_id, lease.owner, lease.until)
    })
}

/// Marks the batch's delivered rows, each with its own answer, in one statement: under load
/// a worker records dozens at a time, and one statement each cost it a round trip apiece.
fn mark_delivered(
    conn: &mut DbConnection,
    delivered: &[(&Delivery, &Outcome<'_>)],
) -> Result<(), DomainError> {
    if delivered.is_empty() {
        return Ok(());
    }
    let case = vec!["WHEN ? THEN ?"; delivered.len()].join(" ");
    let sql = format!(
        "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, \
         delivered_at = CASE id {case} END, last_status = CASE id {case} END, \
         last_duration_ms = CASE id {case} END, last_response = CASE id {case} END, \
         last_error = NULL WHERE state = 'pending' AND id IN ({})",
        vec!["?"; delivered.len()].join(", ")
    );
    macro_rules! update {
        ($conn:expr, $sql:expr) => {{
            let mut query = diesel::sql_query($sql).into_boxed();
            for (d, o) in delivered {
                query = query.bind::<BigInt, _>(d.id).bind::<Timestamp, _>(o.at);
            }
            for (d, o) in delivered {
                query = query
                    .bind::<BigInt, _>(d.id)
                    .bind::<Nullable<Integer>, _>(o.status.map(i32::from));
            }
            for (d, o) in delivered {
                query = query
                    .bind::<BigInt, _>(d.id)
                    .bind::<Integer, _>(o.duration_ms);
            }
            for (d, o) in delivered {
                query = query
                    .bind::<BigInt, _>(d.id)
                    .bind::<Nullable<Text>, _>(o.response);
            }
            for (d, _) in delivered {
                query = query.bind::<BigInt, _>(d.id);
            }
            query.execute($conn)?
        }};
    }
    match conn {
        DbConnection::Postgresql(pg) => update!(pg, numbered(&sql)),
        DbConnection::Sqlite(lite) => update!(lite, sql),
    };
    Ok(())
}

/// Every attempt of a delivery, oldest first: the failed ones logged in `failed` (from
/// `attempts_of`), then its successful one, kept on the delivery row.
pub fn log_of(delivery: &Delivery, failed: &[Attempt]) -> Vec<Attempt> {
    let mut log: Vec<Attempt> = failed
        .iter()
        .filter(|a| a.delivery_id == delivery.id)
        .cloned()
        .collect();
    if let (Some(at), DELIVERED) = (delivery.delivered_at, delivery.state.as_str()) {
        log.push(Attempt {
            id: 0,
            delivery_id: delivery.id,
            at,
            status: delivery.last_status,
            duration_ms: delivery.last_duration_ms.unwrap_or_default(),
            response: delivery.last_response.clone(),
            error: delivery.last_error.clone(),
        });
    }
    log
}

/// The lease a sender holds while it sends: renewed with every batch it records.
pub struct Lease<'a> {
    pub endpoint_id: i64,
    pub owner: &'a str,
    pub until: NaiveDateTime,
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Delivery>, DomainError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(id))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?)
}

/// The endpoint's deliveries, newest first, older than `before_id` when given.
pub fn list(
    conn: &mut DbConnection,
    endpoint_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, DomainError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    Ok(query.load(conn)?)
}

/// The failed attempts of these deliveries, oldest first (`log_of` adds the successful one).
pub fn attempts_of(
    conn: &mut DbConnection,
    delivery_ids: &[i64],
) -> Result<Vec<Attempt>, DomainError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .order(webhook_attempts::id)
        .select(Attempt::as_select())
        .load(conn)?)
}

/// Queues the delivery again, due at once, and enables its endpoint if it was disabled.
pub fn retry(conn: &mut DbConnection, id: i64) -> Result<Delivery, DomainError> {
    write_transaction(conn, |c| {
        let Some(delivery) = find(c, id)? else {
            return Err(DomainError::not_found(format!("no webhook delivery {id}")));
        };
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(id)))
            .set((
                webhook_deliveries::state.eq(PENDING),
                webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
            ))
            .execute(c)?;
        endpoints::enable(c, delivery.endpoint_id)?;
        find(c, id)?.ok_or_else(|| DomainError::not_found(format!("no webhook delivery {id}")))
    })
}

/// The first `LOGGED_ANSWER_BYTES` of an answer, cut at a character boundary.
pub fn logged_answer(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(LOGGED_ANSWER_BYTES)]);
    let mut end = text.len().min(LOGGED_ANSWER_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

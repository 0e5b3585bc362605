//! The transactional outbox: `emit` writes one delivery row per subscribed endpoint inside the
//! transaction of the change it reports, so a change that rolls back sends nothing and one
//! that commits is delivered (the worker finds the rows, across restarts and instances).

use std::cell::Cell;

use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::RunQueryDsl;
use serde_json::{json, Value};

use super::EventType;
use crate::db::DbConnection;
use crate::error::DomainError;

/// One event, as partners receive it in `data`.
pub struct Event {
    pub kind: EventType,
    /// Whose event: operator endpoints get every reseller's, a reseller's endpoint its own.
    pub reseller_id: i64,
    pub at: NaiveDateTime,
    pub data: Value,
}

/// Every enabled endpoint that subscribed to the type (`*` or the name in its list) and may
/// see the reseller gets a row; none match, none are written.
const FAN_OUT: &str = "INSERT INTO webhook_deliveries \
     (endpoint_id, message_id, event_type, payload, created_at, state, attempts) \
     SELECT e.id, ?, ?, ?, ?, 'pending', 0 FROM webhook_endpoints e \
     WHERE e.enabled AND (e.reseller_id IS NULL OR e.reseller_id = ?) \
       AND (e.events = '*' OR e.events LIKE ?)";

thread_local! {
    /// Set when this thread's open transaction queued a delivery; read after its commit.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Queues `event` for its subscribers; returns how many deliveries were queued.
pub fn emit(conn: &mut DbConnection, event: Event) -> Result<usize, DomainError> {
    let message_id = new_message_id()?;
    let payload = json!({
        "type": event.kind.as_str(),
        "timestamp": iso_time(event.at),
        "data": event.data,
    })
    .to_string();
    let listed = format!("%,{},%", event.kind.as_str());
    let queued = crate::raw_sql!(
        conn,
        FAN_OUT,
        [
            (Text, &message_id),
            (Text, event.kind.as_str()),
            (Text, &payload),
            (Timestamp, event.at),
            (BigInt, event.reseller_id),
            (Text, &listed),
        ],
        execute
    )?;
    if queued > 0 {
        QUEUED.with(|q| q.set(true));
    }
    Ok(queued)
}

/// Called by `write_transaction` when a transaction ends: true when it committed deliveries,
/// so that this instance's worker is woken instead of waiting for its next poll.
pub fn take_queued() -> bool {
    QUEUED.with(|q| q.replace(false))
}

/// `msg_` and 128 random bits: the `webhook-id` every attempt of one delivery carries.
pub fn new_message_id() -> Result<String, DomainError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(format!("msg_{}", hex::encode(bytes)))
}

/// ISO 8601 in UTC with a `Z`, as every date in webhook payloads.
pub fn iso_time(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

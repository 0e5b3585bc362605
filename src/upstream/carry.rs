//! Carrying one change from the outbox to its upstream: the CLN call it becomes, and what
//! the answer means for the change. Every call is idempotent at the upstream (CLN's register
//! is idempotent for its owner, remove succeeds when there is nothing to remove, update and
//! convert set a value), so a change sent twice (a lease lost to a slow answer, an answer
//! cut after the upstream committed) does no harm.

use chrono::Utc;
use serde_json::Value;

use super::client::CallError;
use super::settings::Relay;
use crate::db;
use crate::db::models::{Upstream, UpstreamOp};
use crate::domain::upstream::ops::{self, OpKind};
use crate::domain::upstream::upstreams;
use crate::error::DomainError;

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// The upstream confirmed it.
    Done,
    /// The upstream answered that there was nothing to change (an update or convert of a
    /// license it does not hold as expected): done, with the reason kept; reconcile reports
    /// the difference.
    DoneWithNote(String),
    /// Not confirmed; retried later.
    Failed(String),
}

/// The call a change becomes.
fn call_of(op: &UpstreamOp) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    let ip = ("ip", op.ip.clone());
    let type_id = ("type", op.type_id.to_string());
    let els = || ("els_allowed", op.els_allowed.unwrap_or(false).to_string());
    Some(match OpKind::parse(&op.op)? {
        OpKind::Register => ("register", vec![ip, type_id, els()]),
        OpKind::Remove => ("remove", vec![ip, type_id]),
        OpKind::Update => ("update", vec![ip, type_id, els()]),
        OpKind::Convert => (
            "convert",
            vec![ip, type_id, ("type_to", op.type_to?.to_string())],
        ),
    })
}

/// Sends `op` to `upstream` and records the outcome.
pub async fn carry(
    relay: &Relay,
    upstream: &Upstream,
    op: UpstreamOp,
) -> Result<Carried, DomainError> {
    let outcome = match call_of(&op) {
        None => Carried::Failed(format!("change {} ({}) cannot be carried", op.id, op.op)),
        Some((endpoint, params)) => {
            let secret = upstreams::clear_secret(upstream, &relay.secrets)?;
            let answer = relay
                .client
                .call(
                    upstream,
                    &secret,
                    endpoint,
                    &params,
                    relay.settings.call_timeout,
                )
                .await;
            relay.metrics.call(&upstream.name, &answer);
            judge(&op, answer)
        }
    };
    record(relay, op, &outcome).await?;
    Ok(outcome)
}

fn judge(op: &UpstreamOp, answer: Result<Value, CallError>) -> Carried {
    match (OpKind::parse(&op.op), answer) {
        (Some(OpKind::Update | OpKind::Convert), Ok(Value::Bool(false))) => {
            Carried::DoneWithNote(format!(
                "upstream holds no license {} type {} to {}",
                op.ip, op.type_id, op.op
            ))
        }
        (_, Ok(_)) => Carried::Done,
        (_, Err(e)) => Carried::Failed(e.text().to_string()),
    }
}

async fn record(relay: &Relay, op: UpstreamOp, outcome: &Carried) -> Result<(), DomainError> {
    let now = relay.clock.now().naive_utc();
    let wall = Utc::now().naive_utc();
    match outcome.clone() {
        Carried::Done => db::run(&relay.pool, move |c| ops::confirmed(c, &op, now, None)).await,
        Carried::DoneWithNote(note) => {
            log::warn!("relay: {note}");
            db::run(&relay.pool, move |c| {
                ops::confirmed(c, &op, now, Some(&note))
            })
            .await
        }
        Carried::Failed(error) => {
            let delay = ops::retry_delay(op.attempts + 1);
            let retry_at = wall + chrono::Duration::from_std(delay).unwrap_or_default();
            db::run(&relay.pool, move |c| {
                ops::failed(c, &op, &error, retry_at, wall)
            })
            .await
        }
    }
}

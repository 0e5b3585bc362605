//! `POST /api/admin/v1/batches`: up to `MAX_OPERATIONS` license operations (register, remove,
//! move, suspend, resume, note) in one call under one `Idempotency-Key`, each answered with
//! its own result. With `atomic: true` they run in one transaction: all are applied, or none
//! (the first failure rolls back the rest and is named).

use actix_web::{web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::batch_ops::{BatchOp, Done};
use super::body;
use super::error::{AdminError, AdminResult};
use super::idempotency;
use super::types::IdempotencyKey;
use super::views::LicenseView;
use crate::auth::admin::AdminCaller;
use crate::db::{self, write_transaction};
use crate::domain::actor::{act, ActingFor};
use crate::domain::upstream::route_of;
use crate::error::DomainError;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// Operations a batch may hold.
pub const MAX_OPERATIONS: usize = 1_000;
/// The largest body a batch may have: a thousand operations with long notes (the rest of the
/// admin API keeps `IPLS_MAX_BODY_BYTES`).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// All or none, in one transaction (default false: each on its own).
    #[serde(default)]
    pub atomic: bool,
    /// 1 to 1,000 operations, run in order.
    #[schema(value_type = Vec<BatchOp>, min_items = 1, max_items = 1000)]
    pub operations: Vec<serde_json::Value>,
}

/// One operation's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpResult {
    pub index: usize,
    pub op: &'static str,
    /// Applied (in an atomic batch that failed: applied, then rolled back with the rest).
    pub ok: bool,
    /// The licenses it left (absent for remove).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<LicenseView>>,
    /// For remove: whether the reseller held anything there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// Atomic batches: rolled back with the rest, or not run after the failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub atomic: bool,
    /// Operations whose change stands.
    pub applied: usize,
    pub results: Vec<OpResult>,
}

/// Run up to 1,000 license operations; each gets its own result, in order. Non-atomic: each is
/// applied on its own, a registration of a routed type through its upstream. Atomic: all or
/// none in one transaction; a registration of a type carried to an upstream cannot be part
/// of one (it must hear the upstream first) and is refused before anything runs.
#[utoipa::path(post, path = "/api/admin/v1/batches", operation_id = "runBatch", tag = "licenses",
    request_body = BatchBody,
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "1 to 255 visible ASCII characters; repeats of the request with this key replay the first answer (kept 24 hours)")),
    responses((status = 201, description = "The batch ran; each operation's result", body = BatchAnswer),
        (status = 413, description = "The body is larger than a batch may be (1 MiB)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn run(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: HttpRequest,
    body: web::Bytes,
) -> AdminResult {
    caller.may_write()?;
    let input: BatchBody = body::object(&req, &body)?;
    let ops = parse(&input.operations)?;
    let atomic = input.atomic;
    let (state_ref, caller_ref) = (&state, &caller);
    idempotency::create(&state, &caller, &req, &body, ops, |ops| async move {
        let answer = if atomic {
            run_atomic(state_ref, caller_ref, ops).await?
        } else {
            run_each(state_ref, caller_ref, ops).await
        };
        Ok::<_, AdminError>((answer, "batches".to_string()))
    })
    .await
}

fn parse(values: &[serde_json::Value]) -> Result<Vec<BatchOp>, AdminError> {
    if values.is_empty() || values.len() > MAX_OPERATIONS {
        return Err(AdminError::invalid(format!(
            "a batch has 1 to {MAX_OPERATIONS} operations (got {})",
            values.len()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<BatchOp>(v.clone())
                .map_err(|e| AdminError::invalid(format!("operations[{i}]: {e}")))
        })
        .collect()
}

fn problem_of(e: &DomainError) -> Problem {
    let kind = Kind::of(e.kind());
    Problem {
        kind: kind.uri().to_string(),
        title: kind.title().to_string(),
        status: kind.status().as_u16(),
        detail: e.public_message().to_string(),
    }
}

fn result_of(index: usize, op: &BatchOp, done: Result<Done, DomainError>) -> OpResult {
    let mut result = OpResult {
        index,
        op: op.name(),
        ok: done.is_ok(),
        licenses: None,
        removed: None,
        problem: None,
        rolled_back: false,
        skipped: false,
    };
    match done {
        Ok(Done::Licenses(licenses)) => {
            let views = licenses
                .iter()
                .map(|l| LicenseView::new(l, op.reseller(), None))
                .collect();
            result.licenses = Some(views);
        }
        Ok(Done::Removed(removed)) => result.removed = Some(removed),
        Err(e) => result.problem = Some(problem_of(&e)),
    }
    result
}

/// Each operation on its own, in order.
async fn run_each(state: &AppState, caller: &AdminCaller, ops: Vec<BatchOp>) -> BatchAnswer {
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let who = ActingFor::Login(op.reseller().to_string());
        let done = match op.registration() {
            Ok(Some(request)) => state
                .register(who, caller.source(), request)
                .await
                .map(|l| Done::Licenses(vec![l])),
            Ok(None) => {
                let running = op.clone();
                state
                    .act_as(who, caller.source(), move |c, actor, policy| {
                        running.apply(c, actor, policy)
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        results.push(result_of(index, &op, done));
    }
    let applied = results.iter().filter(|r| r.ok).count();
    BatchAnswer {
        atomic: false,
        applied,
        results,
    }
}

/// All operations in one transaction, each nested in it; the first failure rolls back all.
async fn run_atomic(
    state: &AppState,
    caller: &AdminCaller,
    ops: Vec<BatchOp>,
) -> Result<BatchAnswer, AdminError> {
    let source = caller.source();
    let policy = state.policy();
    let now = state.clock.now().naive_utc();
    let results = db::run(&state.pool, move |c| {
        refuse_routed_registrations(c, &ops)?;
        let mut results: Vec<OpResult> = Vec::with_capacity(ops.len());
        let outcome = write_transaction(c, |c| {
            for (index, op) in ops.iter().enumerate() {
                let who = ActingFor::Login(op.reseller().to_string());
                let done = act(c, who, &source, now, |c, actor| op.apply(c, actor, &policy));
                let failed = done.as_ref().err().cloned();
                results.push(result_of(index, op, done));
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            Ok(())
        });
        if outcome.is_err() {
            let failed_at = results.len();
            for r in &mut results[..failed_at.saturating_sub(1)] {
                r.rolled_back = true;
            }
            for (index, op) in ops.iter().enumerate().skip(failed_at) {
                let mut skipped = result_of(index, op, Ok(Done::Removed(false)));
                (skipped.ok, skipped.removed, skipped.skipped) = (false, None, true);
                results.push(skipped);
            }
        }
        Ok(results)
    })
    .await?;
    let applied = results.iter().filter(|r| r.ok && !r.rolled_back).count();
    Ok(BatchAnswer {
        atomic: true,
        applied,
        results,
    })
}

/// A registration of a type carried to an upstream waits for the upstream's answer before
/// it stands (`upstream::relay`), which one transaction cannot hold open: refused up front.
fn refuse_routed_registrations(
    conn: &mut db::DbConnection,
    ops: &[BatchOp],
) -> Result<(), DomainError> {
    for (index, op) in ops.iter().enumerate() {
        let Some(type_id) = op.registered_type() else {
            continue;
        };
        if let Some(upstream) = route_of(conn, type_id)? {
            return Err(DomainError::refused(format!(
                "operations[{index}]: type {type_id} is carried to upstream {}, so its \
                 registration cannot be part of an atomic batch; send it in a batch with \
                 atomic false",
                upstream.name
            )));
        }
    }
    Ok(())
}

//! `Idempotency-Key` on POSTs that create (`domain::idempotency`): the request is read and
//! checked first; then the key is reserved, so of concurrent repeats exactly one does the work
//! and the others wait for its answer and replay it. The answer is kept (sealed with the
//! master key, as it may hold a secret) for `KEPT_HOURS`, scoped to the token, method and
//! path; the key with other bytes is refused.

use std::future::Future;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::{AdminError, AdminResult};
use super::types::IdempotencyKey;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::domain::idempotency::{self, Reservation, Scope};
use crate::problem::Kind;
use crate::state::AppState;

/// How often a repeat looks again while the first request with its key is still working.
const WAIT_STEP: Duration = Duration::from_millis(25);
/// How long a repeat waits for the first request's answer before it is told to retry.
const MAX_WAIT: Duration = Duration::from_secs(10);

fn key_of(req: &HttpRequest) -> Result<Option<String>, AdminError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| {
        AdminError::invalid("Idempotency-Key has 1 to 255 visible ASCII characters")
    })?;
    IdempotencyKey::parse(text)
        .map(|k| Some(k.0))
        .map_err(AdminError::invalid)
}

/// The answer to a POST that created something: 201, never cached on the way (it may hold
/// a secret shown once).
fn created_answer(status: u16, json: String, replayed: bool) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::CREATED);
    let mut answer = HttpResponse::build(status);
    answer
        .content_type("application/json")
        .insert_header(("cache-control", "no-store"));
    if replayed {
        answer.insert_header(("idempotent-replayed", "true"));
    }
    answer.body(json)
}

/// Runs a POST that creates. `input` is the request already read and checked; `work` does
/// the creation and returns the answer and what it created (`keys/KEY`, ...). Without an
/// `Idempotency-Key` the work simply runs.
pub async fn create<I, T, W, F>(
    state: &AppState,
    caller: &AdminCaller,
    req: &HttpRequest,
    body: &[u8],
    input: I,
    work: W,
) -> AdminResult
where
    W: FnOnce(I) -> F,
    F: Future<Output = Result<(T, String), AdminError>>,
    T: Serialize,
{
    let key = key_of(req)?;
    // A dry run changes nothing, so there is no answer to keep for a retry.
    let Some(key) = key.filter(|_| !crate::db::dry_run::requested()) else {
        let (answer, _) = work(input).await?;
        return Ok(created_answer(201, to_json(&answer)?, false));
    };
    let scope = Scope {
        token_id: caller.token.id,
        method: req.method().to_string(),
        path: req.path().to_string(),
        key,
    };
    let hash = hex::encode(Sha256::digest(body));
    let started = Instant::now();
    loop {
        let now = state.clock.now().naive_utc();
        let (s, h) = (scope.clone(), hash.clone());
        let found = db::run(&state.pool, move |c| idempotency::reserve(c, &s, &h, now)).await?;
        match found {
            Reservation::Won => return run_reserved(state, &scope, input, work).await,
            Reservation::Replay {
                status,
                sealed_body,
            } => {
                let json = state
                    .secrets
                    .open(&scope.sealing_label(), &sealed_body)
                    .ok_or_else(|| {
                        AdminError::new(Kind::Internal, "a kept answer cannot be opened")
                    })?;
                return Ok(created_answer(
                    u16::try_from(status).unwrap_or(201),
                    json,
                    true,
                ));
            }
            Reservation::Mismatch => {
                return Err(AdminError::new(
                    Kind::IdempotencyMismatch,
                    "this Idempotency-Key was used with another request",
                ))
            }
            Reservation::InProgress if started.elapsed() < MAX_WAIT => {
                actix_web::rt::time::sleep(WAIT_STEP).await;
            }
            Reservation::InProgress => {
                return Err(AdminError::new(
                    Kind::Conflict,
                    "a request with this Idempotency-Key is still being processed; retry later",
                ))
            }
        }
    }
}

/// The work of the request that holds the key; its answer is kept, or on failure the key is
/// freed for a retry.
async fn run_reserved<I, T, W, F>(state: &AppState, scope: &Scope, input: I, work: W) -> AdminResult
where
    W: FnOnce(I) -> F,
    F: Future<Output = Result<(T, String), AdminError>>,
    T: Serialize,
{
    let done = match work(input).await {
        Ok((answer, resource)) => to_json(&answer).map(|json| (json, resource)),
        Err(e) => Err(e),
    };
    let (json, resource) = match done {
        Ok(done) => done,
        Err(e) => {
            let s = scope.clone();
            if let Err(freed) = db::run(&state.pool, move |c| idempotency::release(c, &s)).await {
                log::warn!("could not free an Idempotency-Key after a failure: {freed}");
            }
            return Err(e);
        }
    };
    let sealed = state
        .secrets
        .seal(&scope.sealing_label(), &json)
        .map_err(|e| AdminError::new(Kind::Internal, e))?;
    let s = scope.clone();
    db::run(&state.pool, move |c| {
        idempotency::finish(c, &s, 201, &sealed, Some(&resource))
    })
    .await?;
    Ok(created_answer(201, json, false))
}

fn to_json<T: Serialize>(answer: &T) -> Result<String, AdminError> {
    serde_json::to_string(answer).map_err(|e| AdminError::new(Kind::Internal, e.to_string()))
}

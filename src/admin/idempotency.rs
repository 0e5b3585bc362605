//! `Idempotency-Key` on POSTs that create: the first answer is kept (sealed with the master
//! key, as it may hold a secret) and replayed to a repeat of the same request with the same
//! key from the same token; the key with another request is refused.

use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::error::AdminError;
use crate::auth::admin::AdminCaller;
use crate::db;
use crate::db::models::StoredAnswer;
use crate::domain::admin_tokens;
use crate::problem::Kind;
use crate::state::AppState;

const MAX_KEY: usize = 255;

fn key_of(req: &HttpRequest) -> Result<Option<String>, AdminError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AdminError::invalid("Idempotency-Key must be visible ASCII"))?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(AdminError::invalid(format!(
            "Idempotency-Key has 1 to {MAX_KEY} characters"
        )));
    }
    Ok(Some(key.to_string()))
}

fn sealing_name(caller: &AdminCaller, key: &str) -> String {
    format!("idempotency:{}:{key}", caller.token.id)
}

/// The kept answer to this key, if the same request came with it before.
async fn replay(
    state: &AppState,
    caller: &AdminCaller,
    key: &str,
    body: &[u8],
) -> Result<Option<HttpResponse>, AdminError> {
    let (token_id, lookup) = (caller.token.id, key.to_string());
    let Some(stored) = db::run(&state.pool, move |c| {
        admin_tokens::stored_answer(c, token_id, &lookup)
    })
    .await?
    else {
        return Ok(None);
    };
    if stored.request_hash != hex::encode(Sha256::digest(body)) {
        return Err(AdminError::new(
            Kind::IdempotencyMismatch,
            "this Idempotency-Key was used with another request",
        ));
    }
    let answer = state
        .secrets
        .open(&sealing_name(caller, key), &stored.body)
        .ok_or_else(|| AdminError::new(Kind::Internal, "a kept answer cannot be opened"))?;
    let status = actix_web::http::StatusCode::from_u16(stored.status as u16)
        .map_err(|e| AdminError::new(Kind::Internal, e.to_string()))?;
    Ok(Some(
        HttpResponse::build(status)
            .content_type("application/json")
            .insert_header(("idempotent-replayed", "true"))
            .body(answer),
    ))
}

async fn remember(
    state: &AppState,
    caller: &AdminCaller,
    key: &str,
    body: &[u8],
    status: u16,
    answer: &str,
) -> Result<(), AdminError> {
    let sealed = state
        .secrets
        .seal(&sealing_name(caller, key), answer)
        .map_err(|e| AdminError::new(Kind::Internal, e))?;
    let row = StoredAnswer {
        token_id: caller.token.id,
        key: key.to_string(),
        request_hash: hex::encode(Sha256::digest(body)),
        status: i32::from(status),
        body: sealed,
        created_at: state.clock.now().naive_utc(),
    };
    db::run(&state.pool, move |c| admin_tokens::store_answer(c, &row)).await?;
    Ok(())
}

/// The start of a POST that creates: its `Idempotency-Key`, and the kept answer when the
/// request is a repeat (then nothing else is done).
pub async fn begin(
    state: &AppState,
    caller: &AdminCaller,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Option<String>, Option<HttpResponse>), AdminError> {
    let key = key_of(req)?;
    let replayed = match &key {
        Some(key) => replay(state, caller, key, body).await?,
        None => None,
    };
    Ok((key, replayed))
}

/// The end of a POST that creates: the answer, 201, kept under its key when it has one. It
/// holds a secret shown once, so it is not cached anywhere on the way.
pub async fn created<T: serde::Serialize>(
    state: &AppState,
    caller: &AdminCaller,
    key: Option<&str>,
    body: &[u8],
    answer: &T,
) -> Result<HttpResponse, AdminError> {
    let json = serde_json::to_string(answer)
        .map_err(|e| AdminError::new(Kind::Internal, e.to_string()))?;
    if let Some(key) = key {
        remember(state, caller, key, body, 201, &json).await?;
    }
    Ok(HttpResponse::Created()
        .content_type("application/json")
        .insert_header(("cache-control", "no-store"))
        .body(json))
}

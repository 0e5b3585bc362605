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

pub fn key_of(req: &HttpRequest) -> Result<Option<String>, AdminError> {
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
pub async fn replay(
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
        return Err(AdminError(
            Kind::IdempotencyMismatch,
            "this Idempotency-Key was used with another request".into(),
        ));
    }
    let answer = state
        .secrets
        .open(&sealing_name(caller, key), &stored.body)
        .ok_or_else(|| AdminError(Kind::Internal, "a kept answer cannot be opened".into()))?;
    let status = actix_web::http::StatusCode::from_u16(stored.status as u16)
        .map_err(|e| AdminError(Kind::Internal, e.to_string()))?;
    Ok(Some(
        HttpResponse::build(status)
            .content_type("application/json")
            .insert_header(("idempotent-replayed", "true"))
            .body(answer),
    ))
}

pub async fn remember(
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
        .map_err(|e| AdminError(Kind::Internal, e))?;
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

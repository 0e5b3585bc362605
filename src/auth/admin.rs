//! The admin API's callers: operator API tokens sent as `Authorization: Bearer ipls_...`.
//! A token is looked up by its SHA-256; every failed attempt spends the failure budget of
//! the caller's source address, as a failed reseller token does.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use sha2::{Digest, Sha256};

use super::budget::source_key;
use super::context::AuthContext;
use crate::auth::client_address;
use crate::db;
use crate::db::models::AdminToken;
use crate::domain::admin_tokens;
use crate::domain::Source;
use crate::error::DomainError;
use crate::net::network_of;
use crate::problem::{Kind, ProblemError};

/// Every admin token starts so, which lets secret scanners recognise a leaked one.
pub const TOKEN_PREFIX: &str = "ipls_at_";

/// A new token (shown once) and the hash that is stored.
pub fn new_token() -> Result<(String, String), DomainError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = token_hash(&token);
    Ok((token, hash))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An admin API call whose token is live.
pub struct AdminCaller {
    pub token: AdminToken,
}

impl AdminCaller {
    /// How the history names changes made with this token.
    pub fn source(&self) -> Source {
        Source::AdminToken(self.token.name.clone())
    }

    /// Writes need a token that is not read-only.
    pub fn may_write(&self) -> Result<(), AdminRefused> {
        if self.token.read_only {
            Err(ProblemError::new(
                Kind::ReadOnlyToken,
                format!("token {} is read-only", self.token.name),
            ))
        } else {
            Ok(())
        }
    }
}

/// An admin request refused before it reached its handler (problem details).
pub type AdminRefused = ProblemError;

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl FromRequest for AdminCaller {
    type Error = AdminRefused;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminRefused>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AuthContext>>().cloned();
        let token = bearer(req);
        let source = state
            .as_ref()
            .and_then(|s| client_address::of_request(req, &s.settings.trusted_proxies));
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ProblemError::new(Kind::Internal, "authentication context missing")
            })?;
            let now = state.clock.now().naive_utc();
            let keys: Vec<String> = source
                .map(network_of)
                .map(|n| source_key(&n))
                .into_iter()
                .collect();
            let permit = state.budgets.charge(&state.pool, keys, true, now).await?;
            let found = match token {
                Some(token) if token.starts_with(TOKEN_PREFIX) => {
                    let hash = token_hash(&token);
                    match db::run(&state.pool, move |c| admin_tokens::find_live(c, &hash)).await {
                        Ok(found) => found,
                        Err(e) => {
                            state.budgets.succeeded(permit, now);
                            return Err(e.into());
                        }
                    }
                }
                _ => None,
            };
            match found {
                Some(token) => {
                    state.budgets.succeeded(permit, now);
                    Ok(AdminCaller { token })
                }
                None => {
                    state.budgets.failed(&state.pool, permit, true, now).await;
                    Err(ProblemError::new(
                        Kind::Unauthorized,
                        "send a live admin token: Authorization: Bearer ipls_at_...",
                    ))
                }
            }
        })
    }
}

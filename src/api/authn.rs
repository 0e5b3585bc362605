//! Turning a call's `token` into the authenticated reseller (contract §1), with
//! failed-authentication throttling and the per-reseller source allowlist.

use std::net::IpAddr;

use ipnet::IpNet;

use super::auth_cache::CachedAccount;
use super::call::Call;
use super::error::ApiError;
use crate::auth;
use crate::config::cidr_list;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::resellers;
use crate::error::DomainError;
use crate::state::AppState;

pub const NO_API_ACCESS: &str = "API access is available to reseller accounts only";

/// Stands in for the secret of a login that does not exist, so that an unknown login costs
/// the same hash computation as a wrong hash and cannot be told apart by timing.
const DECOY_SECRET: &str = "ipls-decoy-secret-for-unknown-logins";

/// Verifies the call's token. Every failure is the same `Authorization failed`.
pub async fn authenticate(state: &AppState, call: &Call) -> Result<Reseller, ApiError> {
    let token_text = call.get("token").unwrap_or_default();
    authenticate_token(state, token_text, call.peer.parse().ok()).await
}

pub async fn authenticate_token(
    state: &AppState,
    token_text: &str,
    client: Option<IpAddr>,
) -> Result<Reseller, ApiError> {
    let token = auth::parse(token_text);
    let login = token.as_ref().map(|t| t.login);
    if let Some(wait) = state.throttle.retry_after(client, login) {
        return Err(ApiError(DomainError::Throttled(wait.as_secs().max(1))));
    }
    match verify(state, token).await {
        Ok(reseller) => admit(reseller, client),
        Err(ApiError(DomainError::Unauthorized)) => {
            state.throttle.record_failure(client, login);
            Err(ApiError(DomainError::Unauthorized))
        }
        Err(other) => Err(other),
    }
}

async fn verify(state: &AppState, token: Option<auth::Token<'_>>) -> Result<Reseller, ApiError> {
    let unauthorized = || ApiError(DomainError::Unauthorized);
    let token = token.ok_or_else(unauthorized)?;
    let now = state.clock.now().timestamp();
    if !auth::within_window(token.ts, now, state.config.token_window) {
        return Err(unauthorized());
    }
    let verifies = |found: &Option<CachedAccount>| match found {
        Some(account) => auth::verify(&token, &account.secret, account.reseller.legacy_sha1),
        None => {
            let _ = auth::verify(&token, DECOY_SECRET, true);
            false
        }
    };
    let (mut found, cached) = lookup(state, token.login, true).await?;
    let mut verified = verifies(&found);
    // A cached account that does not verify may have a new secret: read it again, so a
    // rotation takes effect at once for the new secret (the old one lasts at most the TTL).
    if !verified && cached {
        found = lookup(state, token.login, false).await?.0;
        verified = verifies(&found);
    }
    match found {
        Some(account) if verified => Ok(account.reseller),
        _ => Err(unauthorized()),
    }
}

/// The account and its clear secret, and whether it came from the cache: from the cache
/// when allowed and fresh, else from the database (decrypted on the blocking pool).
async fn lookup(
    state: &AppState,
    login: &str,
    use_cache: bool,
) -> Result<(Option<CachedAccount>, bool), ApiError> {
    let now = state.clock.now();
    if let Some(hit) = use_cache
        .then(|| state.auth_cache.get(login, now))
        .flatten()
    {
        return Ok((Some(hit), true));
    }
    let login = login.to_string();
    let secrets = state.secrets.clone();
    let found = db::run(&state.pool, move |c| {
        let Some(reseller) = resellers::find_by_login(c, &login)? else {
            return Ok(None);
        };
        let secret = resellers::clear_secret(&reseller, &secrets)?;
        Ok(Some(CachedAccount { reseller, secret }))
    })
    .await?;
    if let Some(account) = &found {
        state.auth_cache.put(account.clone(), now);
    }
    Ok((found, false))
}

/// After the token verified: the source allowlist, then API access.
fn admit(reseller: Reseller, client: Option<IpAddr>) -> Result<Reseller, ApiError> {
    if let Some(list) = reseller
        .allow_from
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    {
        let allowed: Vec<IpNet> =
            cidr_list("allow_from", Some(list.to_string())).unwrap_or_default();
        if !client.is_some_and(|addr| allowed.iter().any(|net| net.contains(&addr))) {
            let from = client.map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
            return Err(ApiError::refused(format!(
                "Calls for account {} are not allowed from {from}",
                reseller.login
            )));
        }
    }
    if !reseller.api_enabled {
        return Err(ApiError::refused(NO_API_ACCESS));
    }
    Ok(reseller)
}

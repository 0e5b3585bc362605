//! Turning a CLN token into the authenticated reseller (contract §1): failure budgets
//! charged before the token is checked, the credentials cache, known sources, then the
//! per-reseller source allowlist and API access.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use chrono::NaiveDateTime;

use super::budget::{login_key, source_key};
use super::cache::CachedAccount;
use super::context::AuthContext;
use super::error::AuthError;
use crate::db;
use crate::db::models::Reseller;
use crate::domain::resellers;
use crate::error::DomainError;
use crate::net::cidr_list;
use crate::net::network_of;
use crate::token::{self, Token};

pub const NO_API_ACCESS: &str = "API access is available to reseller accounts only";

/// Stands in for the secret of a login that does not exist, so that an unknown login costs
/// the same hash computation as a wrong hash and cannot be told apart by timing.
const DECOY_SECRET: &str = "ipls-decoy-secret-for-unknown-logins";

/// Verifies `token_text` sent from `source` (canonical). Every failure of the token itself
/// is the same `AuthError::Unauthorized`; a spent budget is `TooManyFailures`.
pub async fn authenticate(
    state: &AuthContext,
    token_text: &str,
    source: Option<IpAddr>,
) -> Result<Reseller, AuthError> {
    let network = source.map(network_of);
    let source_keys: Vec<String> = network.iter().map(|n| source_key(n)).collect();
    let now = state.clock.now().naive_utc();
    let budgets = &state.budgets;
    let Some(token) = token::parse(token_text) else {
        // Nothing to verify and nothing learned by the caller: refused at once, charged to
        // the source in this process's memory only (no database work).
        let permit = budgets.charge(&state.pool, source_keys, false, now).await?;
        budgets.failed(&state.pool, permit, false, now).await;
        return Err(AuthError::Unauthorized);
    };
    let login = token.login;
    let known = match &network {
        Some(network) => {
            state
                .known_sources
                .is_known(&state.pool, login, network, now)
                .await?
        }
        None => false,
    };
    let permit = if known {
        budgets.charge(&state.pool, source_keys, false, now).await?
    } else {
        let mut keys = source_keys;
        keys.push(login_key(login));
        budgets.charge(&state.pool, keys, true, now).await?
    };
    match verify(state, token, now).await {
        Ok(reseller) => {
            budgets.succeeded(permit, now);
            let reseller = admit(reseller, source)?;
            // Only a call that was let in makes its source known.
            if let Some(network) = &network {
                let remembered = state
                    .known_sources
                    .remember(&state.pool, reseller.id, &reseller.login, network, now)
                    .await;
                if let Err(e) = remembered {
                    log::warn!("could not record a known source: {e}");
                }
            }
            Ok(reseller)
        }
        Err(AuthError::Unauthorized) => {
            budgets.failed(&state.pool, permit, true, now).await;
            Err(AuthError::Unauthorized)
        }
        Err(other) => {
            budgets.succeeded(permit, now);
            Err(other)
        }
    }
}

async fn verify(
    state: &AuthContext,
    token: Token<'_>,
    now: NaiveDateTime,
) -> Result<Reseller, AuthError> {
    if !token::within_window(
        token.ts,
        now.and_utc().timestamp(),
        state.settings.token_window,
    ) {
        return Err(AuthError::Unauthorized);
    }
    // Which secret verified: None, the first (Some(None)) or a named one (Some(Some(id))).
    // At most `MAX_SECRETS` hashes per look (the first secret, then the named ones); a cached
    // account that does not verify is looked at once more, read afresh.
    let verifies = |found: &Option<CachedAccount>| -> Option<Option<i64>> {
        state
            .metrics
            .auth_verifications
            .fetch_add(1, Ordering::Relaxed);
        let Some(account) = found else {
            let _ = token::verify(&token, DECOY_SECRET, true);
            return None;
        };
        let legacy = account.reseller.legacy_sha1;
        if token::verify(&token, &account.secret, legacy) {
            return Some(None);
        }
        account
            .named
            .iter()
            .find(|n| token::verify(&token, &n.secret, legacy))
            .map(|n| Some(n.id))
    };
    let (mut found, cached) = lookup(state, token.login, true).await?;
    let mut verified = verifies(&found);
    // A cached account that does not verify may have a new secret: read it again, so the
    // new secret works at once (the old one keeps working for at most the cache's TTL).
    if verified.is_none() && cached {
        found = lookup(state, token.login, false).await?.0;
        verified = verifies(&found);
    }
    match (found, verified) {
        (Some(account), Some(secret)) => {
            note_use(state, account.reseller.id, secret, now);
            Ok(account.reseller)
        }
        _ => Err(AuthError::Unauthorized),
    }
}

/// Records when a secret last verified, at most once a minute per secret (`secret_use`), in
/// the background on the workers' lane of connections: the call does not wait for it, and
/// a write that must wait (SQLite's lock held by a long write) takes no reads connection. A
/// failure to write is logged, never the caller's problem.
fn note_use(state: &AuthContext, reseller_id: i64, secret: Option<i64>, now: NaiveDateTime) {
    let Some(minute) = state.secret_use.due(reseller_id, secret, now) else {
        return;
    };
    let pool = state.pool.lane(crate::db::lanes::Lane::Background);
    actix_web::rt::spawn(async move {
        let written = db::run(&pool, move |c| {
            resellers::secrets::mark_used(c, reseller_id, secret, minute)
        })
        .await;
        if let Err(e) = written {
            log::warn!("could not record when an API secret was last used: {e}");
        }
    });
}

/// The account and its clear secret, and whether it came from the cache: from the cache
/// when allowed and fresh, else from the database (decrypted on the blocking pool).
async fn lookup(
    state: &AuthContext,
    login: &str,
    use_cache: bool,
) -> Result<(Option<CachedAccount>, bool), DomainError> {
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
        let named = resellers::secrets::clear_named(c, &reseller, &secrets)?;
        Ok(Some(CachedAccount {
            reseller,
            secret,
            named,
        }))
    })
    .await?;
    if let Some(account) = &found {
        state.auth_cache.put(account.clone(), now);
    }
    Ok((found, false))
}

/// After the token verified: the source allowlist, then API access.
fn admit(reseller: Reseller, source: Option<IpAddr>) -> Result<Reseller, DomainError> {
    if let Some(list) = reseller
        .allow_from
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    {
        let allowed = cidr_list("allow_from", Some(list.to_string())).unwrap_or_default();
        if !source.is_some_and(|addr| allowed.iter().any(|net| net.contains(&addr))) {
            let from = source.map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
            return Err(DomainError::refused(format!(
                "Calls for account {} are not allowed from {from}",
                reseller.login
            )));
        }
    }
    if !reseller.api_enabled {
        return Err(DomainError::refused(NO_API_ACCESS));
    }
    Ok(reseller)
}

//! Turning a call's `token` into the authenticated reseller (contract §1).

use super::call::Call;
use super::error::ApiError;
use crate::auth;
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
    authenticate_token(state, token_text).await
}

pub async fn authenticate_token(state: &AppState, token_text: &str) -> Result<Reseller, ApiError> {
    let unauthorized = || ApiError(DomainError::Unauthorized);
    let token = auth::parse(token_text).ok_or_else(unauthorized)?;
    let now = state.clock.now().timestamp();
    if !auth::within_window(token.ts, now, state.config.token_window) {
        return Err(unauthorized());
    }
    let login = token.login.to_string();
    let found = db::run(&state.pool, move |c| resellers::find_by_login(c, &login)).await?;
    let verified = match &found {
        Some(reseller) => auth::verify(&token, &reseller.secret, reseller.legacy_sha1),
        None => {
            let _ = auth::verify(&token, DECOY_SECRET, true);
            false
        }
    };
    match found {
        Some(reseller) if verified => {
            if reseller.api_enabled {
                Ok(reseller)
            } else {
                Err(ApiError::refused(NO_API_ACCESS))
            }
        }
        _ => Err(unauthorized()),
    }
}

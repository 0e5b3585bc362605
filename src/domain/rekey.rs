//! `ipls rekey`: every value sealed with the master key, re-sealed under a new one in one
//! transaction: resellers' secrets (first and named), webhook endpoints' signing secrets, the admin API's kept
//! Idempotency-Key answers, upstreams' secrets, and console users' TOTP secrets.

use super::{idempotency, resellers, two_factor, upstream, webhooks};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// Re-seals everything under `new`; returns how many values were re-sealed.
pub fn reseal_all(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    write_transaction(conn, |c| {
        let secrets = resellers::reseal_secrets(c, old, new)?;
        let named = resellers::secrets::reseal_named(c, old, new)?;
        let endpoints = webhooks::endpoints::reseal_all(c, old, new)?;
        let kept_answers = idempotency::reseal_all(c, old, new)?;
        let upstreams = upstream::upstreams::reseal_all(c, old, new)?;
        let second_factors = two_factor::reseal_all(c, old, new)?;
        Ok(secrets + named + endpoints + kept_answers + upstreams + second_factors)
    })
}

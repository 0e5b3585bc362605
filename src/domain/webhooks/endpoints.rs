//! Webhook endpoints: created with a fresh `whsec_` secret (sealed at rest with the master
//! key, shown once), listed, removed, and disabled or enabled again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Subscription;
use crate::db::schema::{resellers, webhook_endpoints};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// Longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2_000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub reseller_id: Option<i64>,
    pub events: String,
    /// Sealed; `signing_secret` opens it.
    pub secret: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// An endpoint with its owner's login, as the CLI and the admin API show it.
#[derive(Debug, Clone)]
pub struct EndpointView {
    pub endpoint: Endpoint,
    pub reseller: Option<String>,
    pub subscription: Subscription,
}

pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub reseller_id: Option<i64>,
    pub subscription: &'a Subscription,
    pub now: NaiveDateTime,
}

/// The associated data a secret is sealed under: it binds the secret to its endpoint's URL.
fn seal_label(url: &str) -> String {
    format!("webhook:{url}")
}

/// A new signing secret: `whsec_` and 24 random bytes in base64 (Standard Webhooks).
pub fn generate_secret() -> Result<String, DomainError> {
    use base64::Engine;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Creates the endpoint; returns it with its signing secret in clear (shown once). The
/// caller has checked that the URL is a safe target (`crate::webhooks::target`).
pub fn create(
    conn: &mut DbConnection,
    new: &NewEndpoint<'_>,
    secrets: &SecretBox,
) -> Result<(EndpointView, String), DomainError> {
    let secret = generate_secret()?;
    let sealed = secrets
        .seal(&seal_label(new.url), &secret)
        .map_err(DomainError::Internal)?;
    let id = write_transaction(conn, |c| {
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::url.eq(new.url),
                webhook_endpoints::reseller_id.eq(new.reseller_id),
                webhook_endpoints::events.eq(new.subscription.stored()),
                webhook_endpoints::secret.eq(&sealed),
                webhook_endpoints::enabled.eq(true),
                webhook_endpoints::created_at.eq(new.now),
            ))
            .execute(c)?;
        Ok(webhook_endpoints::table
            .filter(webhook_endpoints::secret.eq(&sealed))
            .select(webhook_endpoints::id)
            .first::<i64>(c)?)
    })?;
    Ok((get(conn, id)?, secret))
}

/// The signing secret in clear.
pub fn signing_secret(endpoint: &Endpoint, secrets: &SecretBox) -> Result<String, DomainError> {
    secrets
        .open(&seal_label(&endpoint.url), &endpoint.secret)
        .ok_or_else(|| {
            DomainError::Internal(format!(
                "the master key does not open webhook endpoint {}'s secret",
                endpoint.id
            ))
        })
}

fn view(endpoint: Endpoint, reseller: Option<String>) -> EndpointView {
    let subscription = Subscription::from_stored(&endpoint.events);
    EndpointView {
        endpoint,
        reseller,
        subscription,
    }
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<EndpointView>, DomainError> {
    let row: Option<(Endpoint, Option<String>)> = webhook_endpoints::table
        .left_join(resellers::table)
        .filter(webhook_endpoints::id.eq(id))
        .select((Endpoint::as_select(), resellers::login.nullable()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(e, login)| view(e, login)))
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<EndpointView, DomainError> {
    find(conn, id)?.ok_or_else(|| DomainError::not_found(format!("no webhook endpoint {id}")))
}

/// Every endpoint, or one reseller's, oldest first.
pub fn list(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
) -> Result<Vec<EndpointView>, DomainError> {
    let mut query = webhook_endpoints::table
        .left_join(resellers::table)
        .order(webhook_endpoints::id)
        .select((Endpoint::as_select(), resellers::login.nullable()))
        .into_boxed();
    if let Some(id) = reseller_id {
        query = query.filter(webhook_endpoints::reseller_id.eq(id));
    }
    let rows: Vec<(Endpoint, Option<String>)> = query.load(conn)?;
    Ok(rows.into_iter().map(|(e, login)| view(e, login)).collect())
}

/// Removes the endpoint; its queued deliveries and their log go with it (ON DELETE CASCADE,
/// which SQLite enforces because every connection turns foreign keys on).
pub fn remove(conn: &mut DbConnection, id: i64) -> Result<(), DomainError> {
    let deleted = diesel::delete(webhook_endpoints::table.filter(webhook_endpoints::id.eq(id)))
        .execute(conn)?;
    if deleted == 0 {
        return Err(DomainError::not_found(format!("no webhook endpoint {id}")));
    }
    Ok(())
}

/// Stops deliveries to the endpoint (after a 410, or once retries ran out); what is queued
/// stays queued, and no new event is queued for it until it is enabled again.
pub fn disable(conn: &mut DbConnection, id: i64, reason: &str) -> Result<(), DomainError> {
    diesel::update(webhook_endpoints::table.filter(webhook_endpoints::id.eq(id)))
        .set((
            webhook_endpoints::enabled.eq(false),
            webhook_endpoints::disabled_reason.eq(Some(reason)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn enable(conn: &mut DbConnection, id: i64) -> Result<(), DomainError> {
    diesel::update(webhook_endpoints::table.filter(webhook_endpoints::id.eq(id)))
        .set((
            webhook_endpoints::enabled.eq(true),
            webhook_endpoints::disabled_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// `ipls rekey`: re-seals every endpoint secret under `new` (in the caller's transaction).
pub fn reseal_all(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let all: Vec<Endpoint> = webhook_endpoints::table
        .select(Endpoint::as_select())
        .load(conn)?;
    for endpoint in &all {
        let clear = signing_secret(endpoint, old)?;
        let value = new
            .seal(&seal_label(&endpoint.url), &clear)
            .map_err(DomainError::Internal)?;
        diesel::update(webhook_endpoints::table.filter(webhook_endpoints::id.eq(endpoint.id)))
            .set(webhook_endpoints::secret.eq(value))
            .execute(conn)?;
    }
    Ok(all.len())
}

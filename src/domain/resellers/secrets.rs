//! Several named API secrets per account: the first (`resellers.secret`, named `default`,
//! replaced by rotate-secret) and up to `MAX_SECRETS - 1` more, each added (shown once),
//! listed (never shown again) and revoked on its own, so that an integration's secret can be
//! replaced without breaking the others. A CLN token verifies against any of them
//! (`auth::reseller`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, AccountAction};
use super::{generate_secret, get, ChangedBy};
use crate::db::models::Reseller;
use crate::db::schema::{reseller_secrets, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::webhooks::{outbox, EventType};
use crate::error::DomainError;
use crate::secrets::SecretBox;

/// Secrets an account may hold at once, its first one included.
pub const MAX_SECRETS: usize = 5;
/// The first secret's name.
pub const DEFAULT_NAME: &str = "default";

/// A secret as listed: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    /// When it was made (the first one: last set, or the account's creation).
    pub created_at: NaiveDateTime,
    /// Last verified a token, to the minute; None: never since it was made.
    pub last_used_at: Option<NaiveDateTime>,
}

/// A named secret in clear, for verifying tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedSecret {
    pub id: i64,
    pub name: String,
    pub secret: String,
}

/// The label a named secret is sealed under: its account and its name, so that a sealed value
/// cannot be moved to another row and still open.
pub fn sealing_label(login: &str, name: &str) -> String {
    format!("{login}#secret:{name}")
}

/// Names go on command lines and in URLs: 1-40 letters, digits, `.`, `_` or `-`.
pub fn validate_name(name: &str) -> Result<(), DomainError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if name.is_empty() || name.len() > 40 || !name.chars().all(ok) {
        return Err(DomainError::invalid(format!(
            "invalid secret name {}: use 1-40 letters, digits, . _ or -",
            crate::wire::shorten(name)
        )));
    }
    Ok(())
}

/// Every secret of `login`, the first one first, then by name.
pub fn list(conn: &mut DbConnection, login: &str) -> Result<Vec<SecretInfo>, DomainError> {
    let reseller = get(conn, login)?;
    let (set_at, used_at): (Option<NaiveDateTime>, Option<NaiveDateTime>) = resellers::table
        .find(reseller.id)
        .select((resellers::secret_set_at, resellers::secret_used_at))
        .first(conn)?;
    let mut all = vec![SecretInfo {
        name: DEFAULT_NAME.to_string(),
        created_at: set_at.unwrap_or(reseller.created_at),
        last_used_at: used_at,
    }];
    let named: Vec<(String, NaiveDateTime, Option<NaiveDateTime>)> = reseller_secrets::table
        .filter(reseller_secrets::reseller_id.eq(reseller.id))
        .order(reseller_secrets::name)
        .select((
            reseller_secrets::name,
            reseller_secrets::created_at,
            reseller_secrets::last_used_at,
        ))
        .load(conn)?;
    all.extend(
        named
            .into_iter()
            .map(|(name, created_at, last_used_at)| SecretInfo {
                name,
                created_at,
                last_used_at,
            }),
    );
    Ok(all)
}

/// The named secrets of an account in clear (not the first one).
pub fn clear_named(
    conn: &mut DbConnection,
    reseller: &Reseller,
    secrets: &SecretBox,
) -> Result<Vec<NamedSecret>, DomainError> {
    let rows: Vec<(i64, String, String)> = reseller_secrets::table
        .filter(reseller_secrets::reseller_id.eq(reseller.id))
        .order(reseller_secrets::id)
        .select((
            reseller_secrets::id,
            reseller_secrets::name,
            reseller_secrets::secret,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name, sealed)| {
            let secret = secrets
                .open(&sealing_label(&reseller.login, &name), &sealed)
                .ok_or_else(|| {
                    DomainError::Internal(format!(
                        "the secret {name} of {} does not open with the master key",
                        reseller.login
                    ))
                })?;
            Ok(NamedSecret { id, name, secret })
        })
        .collect()
}

/// Adds a secret named `name` to `login`'s account and returns it in clear: the only time it
/// is shown. Refused past `MAX_SECRETS`, or when the name is taken.
pub fn add(
    conn: &mut DbConnection,
    login: &str,
    name: &str,
    secrets: &SecretBox,
    by: &ChangedBy<'_>,
) -> Result<String, DomainError> {
    validate_name(name)?;
    if name == DEFAULT_NAME {
        return Err(DomainError::conflict(
            "the first secret is named default; give the new one another name",
        ));
    }
    let clear = generate_secret()?;
    write_transaction(conn, |c| {
        let reseller = get(c, login)?;
        // One at a time per account, so that two adds cannot both take the last place.
        crate::domain::type_limits::lock_reseller(c, reseller.id)?;
        let held: i64 = reseller_secrets::table
            .filter(reseller_secrets::reseller_id.eq(reseller.id))
            .count()
            .get_result(c)?;
        if held as usize + 1 >= MAX_SECRETS {
            return Err(DomainError::refused(format!(
                "account {login} already has {MAX_SECRETS} secrets; revoke one first"
            )));
        }
        let taken: i64 = reseller_secrets::table
            .filter(reseller_secrets::reseller_id.eq(reseller.id))
            .filter(reseller_secrets::name.eq(name))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(DomainError::conflict(format!(
                "account {login} already has a secret named {name}"
            )));
        }
        let sealed = secrets
            .seal(&sealing_label(login, name), &clear)
            .map_err(DomainError::Internal)?;
        diesel::insert_into(reseller_secrets::table)
            .values((
                reseller_secrets::reseller_id.eq(reseller.id),
                reseller_secrets::name.eq(name),
                reseller_secrets::secret.eq(sealed),
                reseller_secrets::created_at.eq(by.now),
            ))
            .execute(c)?;
        record(
            c,
            &reseller,
            AccountAction::SecretAdd,
            name,
            by,
            EventType::ResellerSecretAdded,
        )
    })?;
    Ok(clear)
}

/// Revokes `login`'s secret `name`: tokens made with it fail from now on (after the
/// credentials cache's few seconds). The first secret is replaced (rotate-secret), not revoked.
pub fn revoke(
    conn: &mut DbConnection,
    login: &str,
    name: &str,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    if name == DEFAULT_NAME {
        return Err(DomainError::refused(
            "the first secret cannot be revoked: replace it with rotate-secret",
        ));
    }
    write_transaction(conn, |c| {
        let reseller = get(c, login)?;
        let deleted = diesel::delete(
            reseller_secrets::table
                .filter(reseller_secrets::reseller_id.eq(reseller.id))
                .filter(reseller_secrets::name.eq(name)),
        )
        .execute(c)?;
        if deleted == 0 {
            return Err(DomainError::not_found(format!(
                "account {login} has no secret named {name}"
            )));
        }
        record(
            c,
            &reseller,
            AccountAction::SecretRevoke,
            name,
            by,
            EventType::ResellerSecretRevoked,
        )
    })
}

/// Records that a secret verified a token at `at` (the first one when `id` is None).
pub fn mark_used(
    conn: &mut DbConnection,
    reseller_id: i64,
    id: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), DomainError> {
    write_transaction(conn, |c| {
        match id {
            None => diesel::update(resellers::table.find(reseller_id))
                .set(resellers::secret_used_at.eq(Some(at)))
                .execute(c)?,
            Some(id) => diesel::update(
                reseller_secrets::table
                    .find(id)
                    .filter(reseller_secrets::reseller_id.eq(reseller_id)),
            )
            .set(reseller_secrets::last_used_at.eq(Some(at)))
            .execute(c)?,
        };
        Ok(())
    })
}

/// Re-seals every named secret under `new` (in the caller's transaction: `rekey`). Returns the
/// count.
pub fn reseal_named(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let rows: Vec<(i64, String, String, String)> = reseller_secrets::table
        .inner_join(resellers::table)
        .select((
            reseller_secrets::id,
            resellers::login,
            reseller_secrets::name,
            reseller_secrets::secret,
        ))
        .load(conn)?;
    for (id, login, name, sealed) in &rows {
        let label = sealing_label(login, name);
        let clear = old.open(&label, sealed).ok_or_else(|| {
            DomainError::Internal(format!("the secret {name} of {login} does not open"))
        })?;
        let value = new.seal(&label, &clear).map_err(DomainError::Internal)?;
        diesel::update(reseller_secrets::table.find(id))
            .set(reseller_secrets::secret.eq(value))
            .execute(conn)?;
    }
    Ok(rows.len())
}

/// The history row (the audit) and the webhook event of an added or revoked secret.
fn record(
    conn: &mut DbConnection,
    reseller: &Reseller,
    action: AccountAction,
    name: &str,
    by: &ChangedBy<'_>,
    kind: EventType,
) -> Result<(), DomainError> {
    let source = by.source.to_string();
    audit::record(
        conn,
        Some(reseller.id),
        action,
        Some(format!("name={name}")),
        by,
    )?;
    let data = serde_json::json!({
        "reseller": reseller.login,
        "reseller_id": reseller.id,
        "name": name,
        "source": source,
        "at": crate::wire::iso(by.now),
    });
    outbox::emit(
        conn,
        outbox::Event {
            kind,
            reseller_id: reseller.id,
            at: by.now,
            data,
        },
    )?;
    Ok(())
}

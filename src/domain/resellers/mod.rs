//! Reseller accounts: lookups (the one behind authentication too), logins and secrets; what
//! the operator changes is in `account`.

mod account;
pub mod audit;
pub mod secrets;

pub use account::{
    allowed_sources, block_reason, create, grants_of, replace_grants, update, AccountChanges,
    ChangedBy, Grants, NewAccount, MAX_ALLOWED_BLOCKS, MAX_BLOCK_REASON_CHARS,
};

use diesel::prelude::*;

use crate::db::models::Reseller;
use crate::db::schema::resellers;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;
use crate::secrets::{is_sealed, SecretBox};

pub fn find_by_login(
    conn: &mut DbConnection,
    login: &str,
) -> Result<Option<Reseller>, DomainError> {
    Ok(resellers::table
        .filter(resellers::login.eq(login))
        .select(Reseller::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, login: &str) -> Result<Reseller, DomainError> {
    find_by_login(conn, login)?
        .ok_or_else(|| DomainError::not_found(format!("no reseller with login {login:?}")))
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Reseller>, DomainError> {
    Ok(resellers::table
        .order(resellers::login)
        .select(Reseller::as_select())
        .load(conn)?)
}

/// Every reseller's login by id, for naming resellers in reports and views.
pub fn logins_by_id(
    conn: &mut DbConnection,
) -> Result<std::collections::HashMap<i64, String>, DomainError> {
    let rows: Vec<(i64, String)> = resellers::table
        .select((resellers::id, resellers::login))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// One reseller by id.
pub fn by_id(conn: &mut DbConnection, id: i64) -> Result<Reseller, DomainError> {
    resellers::table
        .find(id)
        .select(Reseller::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DomainError::not_found(format!("no reseller with id {id}")))
}

/// One reseller's login by id.
pub fn login_of(conn: &mut DbConnection, id: i64) -> Result<String, DomainError> {
    Ok(resellers::table
        .find(id)
        .select(resellers::login)
        .first(conn)?)
}

/// Logins go into tokens (`LOGIN|TS|HASH`) and URLs: keep them to a safe alphabet.
pub fn validate_login(login: &str) -> Result<(), DomainError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._@-".contains(c);
    if login.is_empty() || login.len() > 64 || !login.chars().all(ok_char) {
        return Err(DomainError::invalid(format!(
            "invalid login {login:?}: use 1-64 characters among letters, digits and . _ @ -"
        )));
    }
    Ok(())
}

/// Secrets are what resellers paste into billing panels: long enough to resist guessing,
/// and never in the sealed form's syntax.
pub fn validate_secret(secret: &str) -> Result<(), DomainError> {
    if secret.len() < 16 {
        return Err(DomainError::invalid(
            "a secret needs at least 16 characters",
        ));
    }
    if is_sealed(secret) || secret.len() > 256 {
        return Err(DomainError::invalid(
            "a secret may not start with \"v1:\" or \"v2:\" or exceed 256 characters",
        ));
    }
    Ok(())
}

/// A reseller's secret in clear, for verifying or minting tokens.
pub fn clear_secret(reseller: &Reseller, secrets: &SecretBox) -> Result<String, DomainError> {
    secrets
        .open(&reseller.login, &reseller.secret)
        .ok_or_else(|| {
            DomainError::Internal(format!(
                "the secret of {} does not open with the master key",
                reseller.login
            ))
        })
}

/// Start-up: seals every secret still stored in clear (databases from before encryption),
/// then checks that every sealed secret opens with this key, so that a wrong key stops the
/// start instead of failing every call. Returns how many were sealed.
pub fn seal_plaintext(conn: &mut DbConnection, secrets: &SecretBox) -> Result<usize, DomainError> {
    write_transaction(conn, |c| {
        let mut sealed = 0;
        for reseller in list(c)? {
            if is_sealed(&reseller.secret) {
                clear_secret(&reseller, secrets).map_err(|_| {
                    DomainError::refused(format!(
                        "the master key does not open the stored secrets (account {}): \
                         wrong IPLS_MASTER_KEY or key file?",
                        reseller.login
                    ))
                })?;
                continue;
            }
            let value = secrets
                .seal(&reseller.login, &reseller.secret)
                .map_err(DomainError::Internal)?;
            diesel::update(resellers::table.find(reseller.id))
                .set(resellers::secret.eq(value))
                .execute(c)?;
            sealed += 1;
        }
        Ok(sealed)
    })
}

/// Re-seals every reseller's secret under `new` (in the caller's transaction: `rekey`).
/// Returns the count.
pub fn reseal_secrets(
    conn: &mut DbConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DomainError> {
    let all = list(conn)?;
    for reseller in &all {
        let clear = if is_sealed(&reseller.secret) {
            clear_secret(reseller, old)?
        } else {
            reseller.secret.clone()
        };
        let value = new
            .seal(&reseller.login, &clear)
            .map_err(DomainError::Internal)?;
        diesel::update(resellers::table.find(reseller.id))
            .set(resellers::secret.eq(value))
            .execute(conn)?;
    }
    Ok(all.len())
}

/// A new secret: 24 random bytes from the OS, as 48 hex characters.
pub fn generate_secret() -> Result<String, DomainError> {
    Ok(hex::encode(crate::domain::random::bytes::<24>()?))
}

//! The read-only monitoring token of the Nagios reseller form (keys.md): one per reseller,
//! made and rotated by the reseller, kept as its SHA-256. It reads the KernelCare status and
//! nothing else; the IP secret key is another credential.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::models::Reseller;
use crate::db::schema::{monitoring_tokens, resellers};
use crate::db::{write_transaction, DbConnection};
use crate::domain::resellers::audit::{self, AccountAction};
use crate::domain::resellers::ChangedBy;
use crate::error::DomainError;

/// New tokens have this many characters `[A-Za-z0-9]` (keys.md allows 16 to 32).
pub const TOKEN_LENGTH: usize = 32;

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token for the reseller, replacing any it had (which stops working at once); the
/// only time the token is shown.
pub fn rotate(
    conn: &mut DbConnection,
    reseller_id: i64,
    by: &ChangedBy<'_>,
) -> Result<String, DomainError> {
    let token = new_token()?;
    let hash = digest(&token);
    write_transaction(conn, |c| {
        diesel::delete(monitoring_tokens::table.find(reseller_id)).execute(c)?;
        diesel::insert_into(monitoring_tokens::table)
            .values((
                monitoring_tokens::reseller_id.eq(reseller_id),
                monitoring_tokens::token_sha256.eq(&hash),
                monitoring_tokens::created_at.eq(by.now),
            ))
            .execute(c)?;
        audit::record(
            c,
            Some(reseller_id),
            AccountAction::MonitoringToken,
            None,
            by,
        )
    })?;
    Ok(token)
}

/// Ends the reseller's token; false when it had none.
pub fn revoke(
    conn: &mut DbConnection,
    reseller_id: i64,
    by: &ChangedBy<'_>,
) -> Result<bool, DomainError> {
    write_transaction(conn, |c| {
        let gone = diesel::delete(monitoring_tokens::table.find(reseller_id)).execute(c)?;
        if gone > 0 {
            let action = AccountAction::MonitoringTokenRevoke;
            audit::record(c, Some(reseller_id), action, None, by)?;
        }
        Ok(gone > 0)
    })
}

/// When the reseller's token was made; None when it has none.
pub fn made_at(
    conn: &mut DbConnection,
    reseller_id: i64,
) -> Result<Option<NaiveDateTime>, DomainError> {
    Ok(monitoring_tokens::table
        .find(reseller_id)
        .select(monitoring_tokens::created_at)
        .first(conn)
        .optional()?)
}

/// Why the reseller form is refused, in the words the Datadog check looks for.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    ResellerNotFound,
    TokenNotFound,
}

/// The reseller `login`'s id when `token` is its monitoring token.
pub fn verify(
    conn: &mut DbConnection,
    login: &str,
    token: &str,
) -> Result<Result<Reseller, TokenRefusal>, DomainError> {
    let reseller: Option<Reseller> = resellers::table
        .filter(resellers::login.eq(login))
        .select(Reseller::as_select())
        .first(conn)
        .optional()?;
    let Some(reseller) = reseller else {
        return Ok(Err(TokenRefusal::ResellerNotFound));
    };
    let shaped =
        (16..=32).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric());
    let stored: Option<String> = monitoring_tokens::table
        .find(reseller.id)
        .select(monitoring_tokens::token_sha256)
        .first(conn)
        .optional()?;
    let matches = stored
        .is_some_and(|hash| shaped && bool::from(hash.as_bytes().ct_eq(digest(token).as_bytes())));
    Ok(if matches {
        Ok(reseller)
    } else {
        Err(TokenRefusal::TokenNotFound)
    })
}

fn new_token() -> Result<String, DomainError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(TOKEN_LENGTH);
    while out.len() < TOKEN_LENGTH {
        for byte in crate::domain::random::bytes::<64>()? {
            // 248 = 4 × 62: bytes above it would bias the draw.
            if byte < 248 && out.len() < TOKEN_LENGTH {
                out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

//! Console passwords: argon2id (RustCrypto's `argon2` with its default parameters, 19 MiB,
//! two passes), stored as PHC strings with a random salt.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::DomainError;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer passwords are refused before hashing (hashing cost grows with input).
pub const MAX_PASSWORD_BYTES: usize = 1_024;

pub fn validate(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(DomainError::invalid(format!(
            "a password may have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Validates and hashes a new password.
pub fn hash(password: &str) -> Result<String, DomainError> {
    validate(password)?;
    hash_unchecked(password)
}

/// `hash` on the blocking pool: argon2 takes tens of milliseconds of CPU, which must not
/// stall the async workers that serve other requests.
pub async fn hash_off_thread(password: String) -> Result<String, DomainError> {
    actix_web::web::block(move || hash(&password))
        .await
        .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))?
}

fn hash_unchecked(password: &str) -> Result<String, DomainError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| DomainError::Internal(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("password hash: {e}")))
}

/// Whether `password` matches the stored hash. An unreadable hash matches nothing.
pub fn verify(stored: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Costs what `verify` costs, for an e-mail address that has no user, so that a login
/// attempt does not tell by its timing whether the address exists.
pub fn verify_decoy(password: &str) {
    static DECOY: OnceLock<String> = OnceLock::new();
    let decoy = DECOY.get_or_init(|| hash_unchecked("ipls-decoy-password").unwrap_or_default());
    let _ = verify(decoy, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(&stored, "correct horse battery"));
        assert!(!verify(&stored, "correct horse batterY"));
        assert!(!verify("not a hash", "correct horse battery"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(validate("twelve chars").is_ok());
    }
}

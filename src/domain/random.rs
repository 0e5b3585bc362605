//! Randomness from the operating system, for secrets, tokens and codes.

use crate::error::DomainError;

/// `N` random bytes from the OS generator.
pub fn bytes<const N: usize>() -> Result<[u8; N], DomainError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("no randomness from the OS: {e}")))?;
    Ok(bytes)
}

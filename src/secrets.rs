//! Reseller secrets at rest: sealed with XChaCha20-Poly1305 under the operator's master key,
//! so that a database dump alone reveals no secret. The login is the associated data, so a
//! sealed secret cannot be moved to another account.
//!
//! Stored form: `v1:` + hex(24-byte random nonce || ciphertext and tag). Anything without the
//! prefix is a plaintext secret from before encryption and is sealed at start-up.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};

use crate::config::Config;
use crate::db::Backend;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
pub const KEY_LEN: usize = 32;

/// Where the master key came from: it decides where `ipls rekey` puts the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `IPLS_MASTER_KEY` (hex) in the environment.
    Environment,
    /// A key file (`IPLS_MASTER_KEY_FILE`, or the default beside the SQLite database).
    File(PathBuf),
}

pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    pub source: KeySource,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBox({:?})", self.source)
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

pub fn generate_key() -> Result<[u8; KEY_LEN], String> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(key)
}

pub fn parse_key(hex_text: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes =
        hex::decode(hex_text.trim()).map_err(|_| "the master key is not hex".to_string())?;
    bytes.try_into().map_err(|_| {
        format!(
            "the master key must be {KEY_LEN} bytes ({} hex characters)",
            KEY_LEN * 2
        )
    })
}

impl SecretBox {
    pub fn new(key: &[u8; KEY_LEN], source: KeySource) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
            source,
        }
    }

    pub fn seal(&self, login: &str, secret: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness from the OS: {e}"))?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: login.as_bytes(),
                },
            )
            .map_err(|_| "cannot encrypt the secret".to_string())?;
        Ok(format!(
            "{PREFIX}{}{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// The clear secret; None when the stored value was not sealed by this key for this login.
    pub fn open(&self, login: &str, stored: &str) -> Option<String> {
        let bytes = hex::decode(stored.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let clear = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: login.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(clear).ok()
    }
}

/// The key file used for a SQLite database when no key is configured: `PATH.key`.
pub fn default_key_file(sqlite_path: &str) -> PathBuf {
    PathBuf::from(format!("{sqlite_path}.key"))
}

/// Reads a key file; refuses one that others may read.
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], String> {
    let meta =
        fs::metadata(path).map_err(|e| format!("master key file {}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "master key file {} is readable by others; chmod 600 it",
            path.display()
        ));
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("master key file {}: {e}", path.display()))?;
    parse_key(&text).map_err(|e| format!("master key file {}: {e}", path.display()))
}

/// Writes a new key file with mode 0600; fails if the file exists.
pub fn create_key_file(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create master key file {}: {e}", path.display()))?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write master key file {}: {e}", path.display()))
}

/// The master key as configured: `IPLS_MASTER_KEY`, else `IPLS_MASTER_KEY_FILE`, else (SQLite
/// only) `DATABASE.key` beside the database, created with mode 0600 on first start.
pub fn load(config: &Config) -> Result<SecretBox, String> {
    if let Some(hex_key) = &config.master_key {
        let key = parse_key(&hex_key.0).map_err(|e| format!("IPLS_MASTER_KEY: {e}"))?;
        return Ok(SecretBox::new(&key, KeySource::Environment));
    }
    let path = match (&config.master_key_file, config.database_url.backend) {
        (Some(path), _) => path.clone(),
        (None, Backend::Sqlite) => default_key_file(&config.database_url.target),
        (None, Backend::Postgres) => {
            return Err(
                "Postgres needs a master key for reseller secrets: set IPLS_MASTER_KEY \
                 (64 hex characters) or IPLS_MASTER_KEY_FILE"
                    .into(),
            )
        }
    };
    if !path.exists() {
        create_key_file(&path, &generate_key()?)?;
        log::warn!(
            "created master key file {} (mode 0600): back it up with the database",
            path.display()
        );
    }
    Ok(SecretBox::new(
        &read_key_file(&path)?,
        KeySource::File(path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> SecretBox {
        SecretBox::new(&[byte; KEY_LEN], KeySource::Environment)
    }

    #[test]
    fn round_trip_and_binding() {
        let b = sealer(7);
        let sealed = b.seal("acme", "the-secret").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("the-secret"));
        assert_ne!(
            sealed,
            b.seal("acme", "the-secret").unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(b.open("acme", &sealed).as_deref(), Some("the-secret"));
        assert_eq!(b.open("other", &sealed), None, "bound to the login");
        assert_eq!(sealer(8).open("acme", &sealed), None, "another key");
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(b.open("acme", &tampered), None);
        assert_eq!(
            b.open("acme", "the-secret"),
            None,
            "plaintext is not sealed"
        );
        assert_eq!(b.open("acme", "v1:zz"), None);
    }

    #[test]
    fn key_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = generate_key().unwrap();
        create_key_file(&path, &key).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_key_file(&path).unwrap(), key);
        assert!(create_key_file(&path, &key).is_err(), "never overwritten");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_key_file(&path).unwrap_err().contains("chmod 600"));
        assert!(parse_key("abcd").is_err());
    }
}

//! Reseller secrets at rest: sealed with XChaCha20-Poly1305 under the operator's master key,
//! so that a database dump alone reveals no secret. The login is the associated data, so a
//! sealed secret cannot be moved to another account.
//!
//! Stored form: `v2:KEYID:` + hex(24-byte random nonce || ciphertext and tag), where KEYID
//! names the master key (the first 4 bytes of its SHA-256, hex). `v1:` values (no key id,
//! from before key ids) are still opened by trying each key. Anything without a prefix is a
//! plaintext secret from before encryption and is sealed at start-up.
//!
//! A process holds a key ring: the key that seals plus keys that only open. A value sealed
//! under a key id it does not hold makes it read its key file again (and `FILE.new`, which
//! `ipls rekey` writes before re-sealing), so a rotation does not break running instances.

mod key_file;

pub use key_file::{
    create_key_file, default_key_file, load, pending_key_file, read_key_file, MasterKeySettings,
    Redacted,
};

use std::fmt;
use std::path::PathBuf;
use std::sync::RwLock;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};

use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const LEGACY_PREFIX: &str = "v1:";
const PREFIX: &str = "v2:";
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

struct RingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

pub struct SecretBox {
    /// The first key seals; all of them open.
    ring: RwLock<Vec<RingKey>>,
    pub source: KeySource,
}

/// The first 4 bytes of the key's SHA-256, hex: names a key without revealing it.
pub fn key_id(key: &[u8; KEY_LEN]) -> String {
    hex::encode(&Sha256::digest(key)[..4])
}

fn ring_key(key: &[u8; KEY_LEN]) -> RingKey {
    RingKey {
        id: key_id(key),
        cipher: XChaCha20Poly1305::new(key.into()),
    }
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBox({:?})", self.source)
    }
}

pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX) || stored.starts_with(LEGACY_PREFIX)
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
        Self::with_ring(key, &[], source)
    }

    /// `seal_with` seals and opens; `also_open` only open (a rotation's previous keys).
    pub fn with_ring(
        seal_with: &[u8; KEY_LEN],
        also_open: &[[u8; KEY_LEN]],
        source: KeySource,
    ) -> Self {
        let mut ring = vec![ring_key(seal_with)];
        ring.extend(also_open.iter().map(ring_key));
        Self {
            ring: RwLock::new(ring),
            source,
        }
    }

    /// The id of the key that seals.
    #[cfg(test)]
    fn sealing_key_id(&self) -> String {
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        ring.first().map(|k| k.id.clone()).unwrap_or_default()
    }

    pub fn seal(&self, login: &str, secret: &str) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness from the OS: {e}"))?;
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let key = ring.first().ok_or("no master key")?;
        let sealed = key
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
            "{PREFIX}{}:{}{}",
            key.id,
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// The clear secret; None when the stored value was not sealed by a key of the ring (after
    /// reading the key file again) for this login.
    pub fn open(&self, login: &str, stored: &str) -> Option<String> {
        let (wanted, body) = match stored.strip_prefix(PREFIX) {
            Some(rest) => {
                let (id, body) = rest.split_once(':')?;
                (Some(id), body)
            }
            None => (None, stored.strip_prefix(LEGACY_PREFIX)?),
        };
        let bytes = hex::decode(body).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let attempt = |ring: &[RingKey]| {
            ring.iter()
                .filter(|k| wanted.is_none_or(|id| id == k.id))
                .find_map(|k| {
                    k.cipher
                        .decrypt(
                            XNonce::from_slice(nonce),
                            Payload {
                                msg: sealed,
                                aad: login.as_bytes(),
                            },
                        )
                        .ok()
                })
        };
        let (opened, id_unknown) = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            let id_unknown = wanted.is_some_and(|id| ring.iter().all(|k| k.id != id));
            (attempt(&ring), id_unknown)
        };
        let clear = match opened {
            Some(clear) => clear,
            // Sealed under a key this process has not seen: a rotation is under way.
            None if id_unknown && self.reload() => {
                let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
                attempt(&ring)?
            }
            None => return None,
        };
        String::from_utf8(clear).ok()
    }

    /// Reads the key file (and `FILE.new`) again and adds keys not yet in the ring; the
    /// key in the file itself becomes the one that seals. Whether any key was added.
    fn reload(&self) -> bool {
        let KeySource::File(path) = &self.source else {
            return false;
        };
        let mut found = Vec::new();
        if let Ok(key) = read_key_file(path) {
            found.push((key, true));
        }
        if let Ok(key) = read_key_file(&pending_key_file(path)) {
            found.push((key, false));
        }
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        let mut added = false;
        for (key, in_main_file) in found {
            let id = key_id(&key);
            let position = ring.iter().position(|k| k.id == id);
            let position = match position {
                Some(p) => p,
                None => {
                    added = true;
                    log::info!("master key {id} added from the key file");
                    ring.push(ring_key(&key));
                    ring.len() - 1
                }
            };
            if in_main_file && position != 0 {
                let key = ring.remove(position);
                ring.insert(0, key);
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

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
        assert!(sealed.starts_with(&format!("v2:{}:", key_id(&[7; KEY_LEN]))));
    }

    #[test]
    fn a_ring_opens_old_and_new() {
        let old = sealer(1);
        let sealed_old = old.seal("acme", "s1").unwrap();
        let ring = SecretBox::with_ring(&[2; KEY_LEN], &[[1; KEY_LEN]], KeySource::Environment);
        assert_eq!(ring.open("acme", &sealed_old).as_deref(), Some("s1"));
        let sealed_new = ring.seal("acme", "s2").unwrap();
        assert_eq!(old.open("acme", &sealed_new), None);
        assert_eq!(sealer(2).open("acme", &sealed_new).as_deref(), Some("s2"));
    }

    #[test]
    fn a_file_ring_picks_up_a_rotated_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        create_key_file(&path, &[1; KEY_LEN]).unwrap();
        let running = SecretBox::new(
            &read_key_file(&path).unwrap(),
            KeySource::File(path.clone()),
        );
        let rotated = SecretBox::new(&[2; KEY_LEN], KeySource::Environment);
        let sealed = rotated.seal("acme", "s").unwrap();
        assert_eq!(
            running.open("acme", &sealed),
            None,
            "the new key is nowhere yet"
        );
        create_key_file(&pending_key_file(&path), &[2; KEY_LEN]).unwrap();
        assert_eq!(
            running.open("acme", &sealed).as_deref(),
            Some("s"),
            "from FILE.new"
        );
        assert_eq!(running.sealing_key_id(), key_id(&[1; KEY_LEN]));
        fs::rename(pending_key_file(&path), &path).unwrap();
        let sealed3 = SecretBox::new(&[3; KEY_LEN], KeySource::Environment)
            .seal("a", "x")
            .unwrap();
        assert_eq!(running.open("a", &sealed3), None);
        assert_eq!(
            running.sealing_key_id(),
            key_id(&[2; KEY_LEN]),
            "the file's key seals"
        );
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

//! Where the master key comes from: the environment, or a key file (mode 0600, created
//! beside a SQLite database on first start), and the settings that say which.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{generate_key, parse_key, KeySource, SecretBox, KEY_LEN};

/// A setting that must never be printed (Debug shows `***`).
#[derive(Clone)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where the master key is to be found, as configured.
#[derive(Debug, Clone, Default)]
pub struct MasterKeySettings {
    /// `IPLS_MASTER_KEY`: `NEW[,OLD...]`, hex.
    pub hex: Option<Redacted>,
    /// `IPLS_MASTER_KEY_FILE`.
    pub file: Option<PathBuf>,
    /// The SQLite database's path, whose `.key` sibling is the default key file; None for
    /// Postgres, which has no default.
    pub sqlite_database: Option<String>,
}

/// Where `ipls rekey` writes the new key before re-sealing: `FILE.new`.
pub fn pending_key_file(path: &Path) -> PathBuf {
    let mut pending = path.as_os_str().to_os_string();
    pending.push(".new");
    PathBuf::from(pending)
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
pub fn load(settings: &MasterKeySettings) -> Result<SecretBox, String> {
    if let Some(hex_keys) = &settings.hex {
        // `NEW[,OLD...]`: the first seals, the others open too (during a rotation).
        let keys = hex_keys
            .0
            .split(',')
            .map(|k| parse_key(k).map_err(|e| format!("IPLS_MASTER_KEY: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let (first, rest) = keys.split_first().ok_or("IPLS_MASTER_KEY is empty")?;
        return Ok(SecretBox::with_ring(first, rest, KeySource::Environment));
    }
    let path = match (&settings.file, &settings.sqlite_database) {
        (Some(path), _) => path.clone(),
        (None, Some(database)) => default_key_file(database),
        (None, None) => {
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

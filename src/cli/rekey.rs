//! `ipls rekey`: re-seal every reseller secret under a new master key.

use std::fs;

use super::error::CliError;
use super::{connect, domain_error};
use crate::config::Config;
use crate::domain::rekey::reseal_all;
use crate::secrets::{
    create_key_file, generate_key, parse_key, pending_key_file, KeySource, SecretBox,
};

pub fn run(config: &Config, new_key_hex: Option<String>) -> Result<(), CliError> {
    let (mut conn, old) = connect(config)?;
    let given = new_key_hex.is_some();
    let new_key = match new_key_hex {
        Some(hex_key) => parse_key(&hex_key).map_err(|e| format!("--new-key: {e}"))?,
        None => generate_key()?,
    };
    match &old.source {
        KeySource::File(path) => {
            // The new key reaches the disk before the database changes, and replaces the old
            // file only after the commit: a crash in between leaves both keys on disk.
            let pending = pending_key_file(path);
            create_key_file(&pending, &new_key).map_err(|e| {
                format!("{e} (a previous rekey may have been interrupted: check which key opens the secrets)")
            })?;
            let new = SecretBox::new(&new_key, KeySource::File(path.clone()));
            let count = match reseal_all(&mut conn, &old, &new) {
                Ok(count) => count,
                Err(e) => {
                    let _ = fs::remove_file(&pending);
                    return Err(domain_error(e));
                }
            };
            fs::rename(&pending, path).map_err(|e| {
                format!(
                    "secrets re-sealed, but the key file was not replaced: move {} to {}: {e}",
                    pending.display(),
                    path.display()
                )
            })?;
            println!(
                "re-sealed {count} secret(s); {} holds the new key",
                path.display()
            );
            println!("running instances using this key file pick the new key up by themselves");
        }
        KeySource::Environment => {
            let new = SecretBox::new(&new_key, KeySource::Environment);
            let count = reseal_all(&mut conn, &old, &new).map_err(domain_error)?;
            println!("re-sealed {count} secret(s) under the new key");
            if !given {
                println!("IPLS_MASTER_KEY={}", hex::encode(new_key));
                println!("(shown once)");
            }
            println!(
                "instances started with IPLS_MASTER_KEY=NEW,OLD open both during the rotation; \
                 set IPLS_MASTER_KEY to the new key for every ipls process"
            );
        }
    }
    Ok(())
}

//! Opening a database for use: migrations first (on one concrete connection, under the
//! Postgres advisory lock), then the master key (sealing any secret still in clear and
//! checking the key opens the rest), then the pool.

use crate::config::Config;
use crate::db::{self, migrate, DbConnection, Pool};
use crate::domain::keys::manage::backfill_default_keys;
use crate::domain::resellers::seal_plaintext;
use crate::error::DomainError;
use crate::secrets::{self, SecretBox};

/// Migrates (refusing a schema newer than this binary), then `open`: for `ipls serve`.
pub fn migrate_and_open(config: &Config) -> Result<(DbConnection, SecretBox), String> {
    migrate::refuse_newer(&migrate::schema_state(&config.database_url)?)?;
    let applied = migrate::run_pending(&config.database_url)?;
    for version in &applied {
        log::info!("applied migration {version}");
    }
    let (mut conn, secrets) = open(config)?;
    match crate::domain::license_search::fill_missing_ip_keys(&mut conn) {
        Ok(0) => {}
        Ok(filled) => log::info!("gave {filled} license(s) their address order key"),
        Err(e) => return Err(format!("cannot fill in the licenses' address order: {e}")),
    }
    // Resellers from before activation keys (or whose grants were written by SQL) get the
    // default keys their products come with.
    let now = chrono::Utc::now().naive_utc();
    match backfill_default_keys(&mut conn, now) {
        Ok(0) => {}
        Ok(made) => log::info!("created {made} default activation key(s)"),
        Err(e) => return Err(format!("cannot create default activation keys: {e}")),
    }
    Ok((conn, secrets))
}

/// For operator commands, which never change the schema: refuses a database whose schema
/// is behind or ahead of this binary, then `open`.
pub fn prepare(config: &Config) -> Result<(DbConnection, SecretBox), String> {
    let state = migrate::schema_state(&config.database_url)?;
    migrate::refuse_newer(&state)?;
    if let migrate::SchemaState::Behind(pending) = state {
        return Err(format!(
            "the database schema is behind this ipls binary ({pending} migration(s) pending): \
             run `ipls migrate` (or start `ipls serve`) first"
        ));
    }
    open(config)
}

/// Loads the master key and seals plaintext secrets, on one connection.
fn open(config: &Config) -> Result<(DbConnection, SecretBox), String> {
    let secrets = secrets::load(&config.master_key_settings())?;
    let mut conn = db::establish(&config.database_url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let sealed = seal_plaintext(&mut conn, &secrets).map_err(|e| match e {
        DomainError::Refused(message) => message,
        other => other.to_string(),
    })?;
    if sealed > 0 {
        log::warn!("sealed {sealed} reseller secret(s) that were stored in clear");
    }
    Ok((conn, secrets))
}

/// `migrate_and_open`, then the pool for serving.
pub fn open_database(config: &Config) -> Result<(Pool, SecretBox), String> {
    let (_, secrets) = migrate_and_open(config)?;
    Ok((db::build_pool(&config.database_url, &config.pool), secrets))
}

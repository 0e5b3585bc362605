//! Opening a database for use: migrations first (on one concrete connection, under the
//! Postgres advisory lock), then the pool.

use crate::config::Config;
use crate::db::{self, migrate, Pool};

/// Applies pending migrations and builds the pool. Logs what it applied.
pub fn open_database(config: &Config) -> Result<Pool, String> {
    let applied = migrate::run_pending(&config.database_url)?;
    for version in &applied {
        log::info!("applied migration {version}");
    }
    Ok(db::build_pool(&config.database_url, &config.pool))
}

//! Embedded migrations, one set per backend with the same version names.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{establish, DatabaseUrl, DbConnection};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Key of the Postgres advisory lock held while migrating, so that several instances
/// starting together apply each migration once. ("ipls" in ASCII.)
const MIGRATION_LOCK_KEY: i64 = 0x6970_6c73;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(url: &DatabaseUrl) -> Result<Vec<String>, String> {
    let mut conn = establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    apply(&mut conn).map_err(|e| format!("migration failed: {e}"))
}

fn apply(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let applied = match conn {
        DbConnection::Postgresql(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = pg.run_pending_migrations(POSTGRES).map(versions);
            // Released whatever the outcome; the session ending would release it too.
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result?
        }
        DbConnection::Sqlite(lite) => lite.run_pending_migrations(SQLITE).map(versions)?,
    };
    Ok(applied)
}

/// Reverts every applied migration (tests and `ipls migrate --revert-all`).
pub fn revert_all(url: &DatabaseUrl) -> Result<Vec<String>, String> {
    let mut conn = establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    let reverted: Result<_, BoxError> = match &mut conn {
        DbConnection::Postgresql(pg) => pg.revert_all_migrations(POSTGRES).map(versions),
        DbConnection::Sqlite(lite) => lite.revert_all_migrations(SQLITE).map(versions),
    };
    reverted.map_err(|e| format!("revert failed: {e}"))
}

fn versions(list: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    list.iter().map(|v| v.to_string()).collect()
}

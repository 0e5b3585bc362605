//! Embedded migrations, one set per backend with the same version names.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{establish, DatabaseUrl, DbConnection};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Key of the Postgres advisory lock held by the migrating transaction, so that several
/// instances starting together apply each migration once. ("ipls" in ASCII.)
const MIGRATION_LOCK_KEY: i64 = 0x6970_6c73;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(url: &DatabaseUrl) -> Result<Vec<String>, String> {
    let mut conn = establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    apply(&mut conn).map_err(|e| format!("migration failed: {e}"))
}

fn apply(conn: &mut DbConnection) -> Result<Vec<String>, BoxError> {
    let applied = match conn {
        // One transaction, under a lock that ends with it: instances starting together
        // migrate one at a time, a failed migration leaves no half-applied set, and behind a
        // transaction pooler no server connection keeps the lock after it (a session lock
        // taken through a pooler could stay held on a server connection for good).
        DbConnection::Postgresql(pg) => pg.transaction(|pg| -> Result<_, BoxError> {
            pg.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))?;
            pg.run_pending_migrations(POSTGRES).map(versions)
        })?,
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

/// How the database's schema compares with the migrations this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    Current,
    /// This many of the binary's migrations are not applied yet.
    Behind(usize),
    /// Applied migrations this binary does not know: a newer ipls migrated the database.
    Newer(Vec<String>),
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Reads the applied versions without creating anything (diesel's own harness would create
/// its bookkeeping table on a fresh database).
pub fn schema_state(url: &DatabaseUrl) -> Result<SchemaState, String> {
    let mut conn = establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    let read = |e: diesel::result::Error| format!("cannot read the schema version: {e}");
    // The same two queries on either backend; only the catalogue of tables differs.
    macro_rules! applied_on {
        ($conn:expr, $tables:literal) => {{
            let exists: Count = diesel::sql_query(concat!(
                "SELECT count(*) AS n FROM ",
                $tables,
                " = '__diesel_schema_migrations'"
            ))
            .get_result($conn)
            .map_err(read)?;
            if exists.n > 0 {
                diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
                    .load::<Version>($conn)
                    .map_err(read)?
            } else {
                Vec::new()
            }
        }};
    }
    let (known, applied) = match &mut conn {
        DbConnection::Postgresql(pg) => (
            embedded::<diesel::pg::Pg>(&POSTGRES)?,
            applied_on!(
                pg,
                "pg_tables WHERE schemaname = current_schema() AND tablename"
            ),
        ),
        DbConnection::Sqlite(lite) => (
            embedded::<diesel::sqlite::Sqlite>(&SQLITE)?,
            applied_on!(lite, "sqlite_master WHERE type = 'table' AND name"),
        ),
    };
    let applied: Vec<String> = applied.into_iter().map(|r| r.version).collect();
    Ok(compare(&known, &applied))
}

fn embedded<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> Result<Vec<String>, String>
where
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    diesel::migration::MigrationSource::<DB>::migrations(source)
        .map(|list| {
            list.iter()
                .map(|m| m.name().version().to_string())
                .collect()
        })
        .map_err(|e| format!("cannot list migrations: {e}"))
}

fn compare(known: &[String], applied: &[String]) -> SchemaState {
    let newer: Vec<String> = applied
        .iter()
        .filter(|v| !known.contains(v))
        .cloned()
        .collect();
    if !newer.is_empty() {
        return SchemaState::Newer(newer);
    }
    match known.iter().filter(|v| !applied.contains(v)).count() {
        0 => SchemaState::Current,
        pending => SchemaState::Behind(pending),
    }
}

/// Refuses a schema newer than this binary knows (every command, `serve` included).
pub fn refuse_newer(state: &SchemaState) -> Result<(), String> {
    match state {
        SchemaState::Newer(versions) => Err(format!(
            "the database schema is newer than this ipls binary (unknown migration(s) {}): \
             upgrade ipls before using this database",
            versions.join(", ")
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn compares_versions() {
        let known = v(&["1", "2"]);
        assert_eq!(compare(&known, &v(&["1", "2"])), SchemaState::Current);
        assert_eq!(compare(&known, &v(&["1"])), SchemaState::Behind(1));
        assert_eq!(compare(&known, &[]), SchemaState::Behind(2));
        assert_eq!(
            compare(&known, &v(&["1", "2", "3"])),
            SchemaState::Newer(v(&["3"]))
        );
    }
}

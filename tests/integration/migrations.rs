//! Migrations apply, revert and apply again on a fresh database of each backend.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use ipls::db::migrate;
use ipls::db::schema::license_types;

use ipls::domain::resellers::{self, Grants, NewAccount};

use crate::common::{test_secrets, Kind, TestDatabase};

/// Migrations shipped for a backend: one directory each.
fn shipped(kind: Kind) -> usize {
    let dir = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    std::fs::read_dir(path)
        .expect("migrations dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count()
}

fn up_down_up(kind: Kind) {
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    let applied = migrate::run_pending(&db.url).expect("up");
    assert_eq!(applied.len(), shipped(kind), "{kind:?}: {applied:?}");
    assert!(
        migrate::run_pending(&db.url).expect("again").is_empty(),
        "idempotent"
    );
    let count = |db: &TestDatabase| -> i64 {
        license_types::table
            .count()
            .get_result(&mut ipls::db::establish(&db.url).expect("connect"))
            .expect("catalogue")
    };
    assert_eq!(
        count(&db),
        29,
        "{kind:?}: the §5 catalogue and type 50 (Imunify Clean keys)"
    );
    let reverted = migrate::revert_all(&db.url).expect("down");
    assert_eq!(reverted.len(), shipped(kind));
    let gone = license_types::table
        .count()
        .get_result::<i64>(&mut ipls::db::establish(&db.url).expect("connect"));
    assert!(gone.is_err(), "{kind:?}: tables dropped");
    assert_eq!(
        migrate::run_pending(&db.url).expect("up again").len(),
        shipped(kind)
    );
    assert_eq!(count(&db), 29);
}

/// The activation keys migration rolls back on a database whose resellers hold keys (the
/// benchmark's migration timing does that): the key tables go before the catalogue row
/// they point at.
fn keys_down_with_keys_present(kind: Kind) {
    let Some(db) = TestDatabase::create_migrated(kind) else {
        return;
    };
    let mut conn = ipls::db::establish(&db.url).expect("connect");
    resellers::create(
        &mut conn,
        &NewAccount {
            login: "keyholder",
            secret: "secret-of-keyholder-0123456789",
            trial: false,
            grants: &Grants {
                limits: [(16, None), (50, None)].into_iter().collect(),
            },
            now: chrono::Utc::now().naive_utc(),
            by: &ipls::domain::Source::Cli,
        },
        &test_secrets(),
    )
    .expect("reseller with default keys");
    let dir = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    let down = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir)
            .join("2026-11-29-000009_activation_keys/down.sql"),
    )
    .expect("down.sql");
    conn.batch_execute(&format!("BEGIN; {down} COMMIT;"))
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let left = license_types::table
        .filter(license_types::id.eq(50))
        .count()
        .get_result::<i64>(&mut conn)
        .expect("catalogue");
    assert_eq!(left, 0, "{kind:?}: type 50 gone with the key tables");
}

#[test]
fn keys_down_with_keys_present_sqlite() {
    keys_down_with_keys_present(Kind::Sqlite);
}

#[test]
fn keys_down_with_keys_present_postgres() {
    keys_down_with_keys_present(Kind::Postgres);
}

#[test]
fn up_down_up_sqlite() {
    up_down_up(Kind::Sqlite);
}

#[test]
fn up_down_up_postgres() {
    up_down_up(Kind::Postgres);
}

/// Several instances may start together: migrations under the advisory lock apply once.
#[test]
fn concurrent_migrations_on_postgres() {
    let Some(db) = TestDatabase::create(Kind::Postgres) else {
        return;
    };
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || migrate::run_pending(&url))
        })
        .collect();
    let applied: usize = threads
        .into_iter()
        .map(|t| t.join().expect("thread").expect("migrate").len())
        .sum();
    assert_eq!(
        applied,
        shipped(Kind::Postgres),
        "each migration applied exactly once"
    );
}

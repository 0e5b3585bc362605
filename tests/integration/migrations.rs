//! Migrations apply, revert and apply again on a fresh database of each backend.

use diesel::prelude::*;
use ipls::db::migrate;
use ipls::db::schema::license_types;

use crate::common::{Kind, TestDatabase};

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

//! Migrations apply, revert and apply again on a fresh database of each backend.

use diesel::prelude::*;
use ipls::db::migrate;
use ipls::db::schema::license_types;

use crate::common::{Kind, TestDatabase};

fn up_down_up(kind: Kind) {
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    let applied = migrate::run_pending(&db.url).expect("up");
    assert_eq!(applied.len(), 2, "{kind:?}: {applied:?}");
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
    assert_eq!(count(&db), 28, "{kind:?}: the §5 catalogue is seeded");
    let reverted = migrate::revert_all(&db.url).expect("down");
    assert_eq!(reverted.len(), 2);
    let gone = license_types::table
        .count()
        .get_result::<i64>(&mut ipls::db::establish(&db.url).expect("connect"));
    assert!(gone.is_err(), "{kind:?}: tables dropped");
    assert_eq!(migrate::run_pending(&db.url).expect("up again").len(), 2);
    assert_eq!(count(&db), 28);
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
    assert_eq!(applied, 2, "each migration applied exactly once");
}

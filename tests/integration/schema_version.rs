//! Only `serve` and `migrate` change the schema; other commands refuse a schema that is
//! behind; every command refuses one newer than the binary knows.

use std::process::Output;

use diesel::connection::SimpleConnection;

use crate::common::process::ipls_cli;
use crate::common::{Kind, TestDatabase, TEST_MASTER_KEY};

fn ipls(db: &TestDatabase, args: &[&str]) -> Output {
    ipls_cli(db, Some(TEST_MASTER_KEY), args)
}

fn error_line(output: &Output) -> String {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

fn schema_versions(kind: Kind) {
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    // A fresh database: an operator command refuses and creates nothing.
    let line = error_line(&ipls(&db, &["reseller", "list"]));
    assert!(
        line.contains("behind") && line.contains("ipls migrate"),
        "{line}"
    );
    let tables = ipls::db::migrate::schema_state(&db.url).unwrap();
    assert!(matches!(tables, ipls::db::migrate::SchemaState::Behind(_)));
    let out = ipls(&db, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ipls(&db, &["reseller", "list"]).status.success());

    // A newer ipls migrated it: every command refuses, serve and migrate included.
    ipls::db::establish(&db.url)
        .unwrap()
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')")
        .unwrap();
    for args in [
        &["reseller", "list"][..],
        &["migrate"][..],
        &["serve", "--bind", "127.0.0.1:0"][..],
    ] {
        let line = error_line(&ipls(&db, args));
        assert!(line.contains("newer than this ipls"), "{args:?}: {line}");
    }
}

#[test]
fn schema_versions_sqlite() {
    schema_versions(Kind::Sqlite);
}

#[test]
fn schema_versions_postgres() {
    schema_versions(Kind::Postgres);
}

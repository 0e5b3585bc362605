//! Fault 3: ipls killed with SIGKILL during a write burst and started again, on Postgres
//! and on SQLite. Calls made while no process listens get no answer; nothing any process
//! acknowledged may be lost.

use diesel::prelude::*;
use ipls::db::DatabaseUrl;

use crate::common::{Kind, TestDatabase};
use crate::setup::{acme_clients, capped_client, one_at_a_time, seed, serve, target, under_fault};

fn killed_and_restarted(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    seed(&db.url);
    let url_text = db.url_text();
    let mut server = serve(&url_text, &[]);
    let target = target(server.addr);
    let mut clients = acme_clients(3);
    clients.push(capped_client());
    let name = format!("ipls SIGKILLed mid-burst ({})", kind_name(kind));
    under_fault(&name, &db.url, target.clone(), clients, true, || {
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        server = serve(&url_text, &[]);
        *target.write().unwrap() = server.addr;
    });
    if kind == Kind::Sqlite {
        integrity_ok(&db.url);
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "Postgres",
    }
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

pub fn integrity_ok(url: &DatabaseUrl) {
    let mut conn = SqliteConnection::establish(&url.target).unwrap();
    let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    let found: Vec<&str> = rows.iter().map(|r| r.integrity_check.as_str()).collect();
    assert_eq!(found, ["ok"], "SQLite integrity");
}

#[test]
fn sigkill_sqlite() {
    killed_and_restarted(Kind::Sqlite);
}

#[test]
fn sigkill_postgres() {
    killed_and_restarted(Kind::Postgres);
}

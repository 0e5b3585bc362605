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
    // The key products' tables (000019) hang on the key tables: they go first.
    let down = [
        "2026-12-09-000019_key_products",
        "2026-11-29-000009_activation_keys",
    ]
    .map(|migration| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir)
                .join(migration)
                .join("down.sql"),
        )
        .expect("down.sql")
    })
    .join("\n");
    conn.batch_execute(&format!("BEGIN; {down} COMMIT;"))
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let left = license_types::table
        .filter(license_types::id.eq(50))
        .count()
        .get_result::<i64>(&mut conn)
        .expect("catalogue");
    assert_eq!(left, 0, "{kind:?}: type 50 gone with the key tables");
}

/// The console roles migration rebuilds SQLite's users table: its down and up again keep
/// every login (id, role) and every session, and the new roles are accepted after it.
fn roles_keep_logins_and_sessions(kind: Kind) {
    let Some(db) = TestDatabase::create_migrated(kind) else {
        return;
    };
    let dir = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    let script = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir)
            .join("2026-12-07-000014_console_roles")
            .join(name);
        std::fs::read_to_string(path).expect("migration script")
    };
    let mut conn = ipls::db::establish(&db.url).expect("connect");
    conn.batch_execute(
        "INSERT INTO resellers (login, secret, api_enabled, legacy_sha1, trial, created_at) \
           VALUES ('acme', 'x', TRUE, TRUE, FALSE, '2026-12-01 00:00:00'); \
         INSERT INTO console_users (email, password_hash, role, reseller_id, created_at) \
           SELECT 'ops@acme.example', 'h', 'full', id, '2026-12-01 00:00:00' FROM resellers; \
         INSERT INTO console_users (email, password_hash, role, reseller_id, created_at) \
           VALUES ('root@ipls.example', 'h', 'operator', NULL, '2026-12-01 00:00:00'); \
         INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen_at) \
           SELECT 's-' || email, id, 'c', '2026-12-01 00:00:00', '2026-12-01 00:00:00' FROM console_users;",
    )
    .expect("logins and sessions");
    let state = |conn: &mut ipls::db::DbConnection| -> (i64, i64) {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count = |conn: &mut ipls::db::DbConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
        };
        (
            count(conn, "SELECT count(*) AS n FROM console_users u JOIN console_sessions s ON s.user_id = u.id"),
            count(conn, "SELECT count(*) AS n FROM console_users WHERE role = 'full'"),
        )
    };
    assert_eq!(state(&mut conn), (2, 1));
    conn.batch_execute(&script("down.sql")).expect("down");
    assert_eq!(
        state(&mut conn),
        (2, 1),
        "{kind:?}: down keeps the old roles"
    );
    conn.batch_execute(&script("up.sql")).expect("up");
    assert_eq!(state(&mut conn), (2, 1), "{kind:?}: up keeps them");
    conn.batch_execute(
        "INSERT INTO console_users (email, password_hash, role, reseller_id, created_at) \
           SELECT 'billing@acme.example', 'h', 'billing-read-only', id, '2026-12-01 00:00:00' FROM resellers",
    )
    .expect("a new role is accepted");
    assert!(conn
        .batch_execute(
            "INSERT INTO console_users (email, password_hash, role, reseller_id, created_at) \
               SELECT 'x@acme.example', 'h', 'root', id, '2026-12-01 00:00:00' FROM resellers",
        )
        .is_err());
}

/// Licenses written without an address order key (before the column, or by hand in SQL) get
/// theirs at start, numeric order included; an address that does not parse keeps none.
fn older_rows_get_their_order_key(kind: Kind) {
    let Some(db) = TestDatabase::create_migrated(kind) else {
        return;
    };
    let mut conn = ipls::db::establish(&db.url).expect("connect");
    conn.batch_execute(
        "INSERT INTO resellers (login, secret, api_enabled, legacy_sha1, trial, created_at) \
           VALUES ('acme', 'x', TRUE, TRUE, FALSE, '2026-12-01 00:00:00');",
    )
    .expect("a reseller");
    for ip in ["192.0.2.10", "192.0.2.2", "2001:db8::1", "garbage"] {
        conn.batch_execute(&format!(
            "INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at) \
               SELECT id, '{ip}', 1, '{ip}', FALSE, '2026-12-01 00:00:00' FROM resellers"
        ))
        .expect("a license written by hand");
    }
    let filled = ipls::domain::license_search::fill_missing_ip_keys(&mut conn).expect("fill");
    assert_eq!(filled, 3);
    use ipls::db::schema::ip_licenses;
    let ordered: Vec<String> = ip_licenses::table
        .order((ip_licenses::ip_key, ip_licenses::id))
        .select(ip_licenses::ip)
        .load(&mut conn)
        .expect("read");
    assert_eq!(
        ordered,
        ["garbage", "192.0.2.2", "192.0.2.10", "2001:db8::1"]
    );
    assert_eq!(
        ipls::domain::license_search::fill_missing_ip_keys(&mut conn).expect("again"),
        0
    );
}

#[test]
fn older_rows_get_their_order_key_sqlite() {
    older_rows_get_their_order_key(Kind::Sqlite);
}

#[test]
fn older_rows_get_their_order_key_postgres() {
    older_rows_get_their_order_key(Kind::Postgres);
}

#[test]
fn roles_keep_logins_and_sessions_sqlite() {
    roles_keep_logins_and_sessions(Kind::Sqlite);
}

#[test]
fn roles_keep_logins_and_sessions_postgres() {
    roles_keep_logins_and_sessions(Kind::Postgres);
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

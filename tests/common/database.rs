//! A fresh database per test: a SQLite file in a temporary directory, or a Postgres
//! database created for the test and dropped (WITH FORCE) when it ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use ipls::db::DatabaseUrl;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs `SELECT count(*) AS n ...` and returns n.
pub fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect("count query")
        .n
}

/// `count` on either backend's connection.
pub fn count_any(conn: &mut ipls::db::DbConnection, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    let found = match conn {
        ipls::db::DbConnection::Postgresql(pg) => diesel::sql_query(sql).get_result::<Count>(pg),
        ipls::db::DbConnection::Sqlite(lite) => diesel::sql_query(sql).get_result::<Count>(lite),
    };
    found.expect("count query").n
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    pub url: DatabaseUrl,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

/// Without TLS: a test binary exits while pooled connections still live on other threads,
/// and OpenSSL's exit-time cleanup under a live TLS connection crashed a CI run with SIGSEGV
/// after every test had passed. A loopback test database gains nothing from TLS.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

fn admin_url() -> String {
    std::env::var("IPLS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// Whether Postgres tests run: yes when it answers; when it does not, they are skipped,
/// unless IPLS_REQUIRE_POSTGRES=1 (CI), which turns that into a failure.
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match PgConnection::establish(&admin_url()) {
        Ok(_) => true,
        Err(e) => {
            if std::env::var("IPLS_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!(
                    "IPLS_REQUIRE_POSTGRES=1 but Postgres at {} does not answer: {e}",
                    admin_url()
                );
            }
            eprintln!("Postgres not reachable ({e}); Postgres tests are skipped");
            false
        }
    })
}

/// The admin URL naming another database, its query (`?sslmode=...`) kept.
fn with_database(admin: &str, name: &str) -> String {
    let (location, query) = match admin.find('?') {
        Some(at) => admin.split_at(at),
        None => (admin, ""),
    };
    let cut = location.rfind('/').expect("admin URL has a database name");
    format!("{}/{name}{query}", &location[..cut])
}

impl TestDatabase {
    /// None when the backend is Postgres and it is not reachable (and not required).
    pub fn create(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("ipls-test.db");
                let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
                Some(Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                })
            }
            Kind::Postgres => {
                if !postgres_available() {
                    return None;
                }
                static COUNTER: AtomicUsize = AtomicUsize::new(0);
                let name = format!(
                    "ipls_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    chrono::Utc::now().timestamp_micros() % 1_000_000
                );
                let mut admin = PgConnection::establish(&admin_url()).expect("admin connection");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let url = DatabaseUrl::parse(&with_database(&admin_url(), &name)).expect("url");
                Some(Self {
                    url,
                    _dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }
}

impl TestDatabase {
    /// Where the server under test reaches the database: with IPLS_TEST_PGBOUNCER_URL set
    /// (`.ci/run`'s second Postgres pass), through that PgBouncer in transaction pooling
    /// mode; the test's own connections (`url`) stay direct.
    pub fn server_url(&self) -> DatabaseUrl {
        match (&self.pg_name, std::env::var("IPLS_TEST_PGBOUNCER_URL")) {
            (Some(name), Ok(bouncer)) if !bouncer.is_empty() => {
                DatabaseUrl::parse(&with_database(&bouncer, name))
                    .expect("IPLS_TEST_PGBOUNCER_URL is a postgres:// URL")
                    .behind_pooler(true)
            }
            _ => self.url.clone(),
        }
    }

    /// A fresh database with the schema applied, as `ipls migrate` leaves it (operator
    /// commands refuse a database whose schema is behind).
    pub fn create_migrated(kind: Kind) -> Option<Self> {
        let db = Self::create(kind)?;
        ipls::db::migrate::run_pending(&db.url).expect("migrate the test database");
        Some(db)
    }

    /// The URL as a user would write it in DATABASE_URL.
    pub fn url_text(&self) -> String {
        match self.url.backend {
            ipls::db::Backend::Postgres => self.url.target.clone(),
            ipls::db::Backend::Sqlite => format!("sqlite://{}", self.url.target),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

//! Test harness: a real ipls HTTP server on a loopback port, over a fresh real database
//! (SQLite always, Postgres when reachable), with an injected clock.
#![allow(dead_code)]

pub mod chain;
pub mod cluster;
pub mod console;
pub mod database;
pub mod http;
pub mod process;
pub mod receiver;
pub mod smtp;
pub mod totp;

use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use chrono::{DateTime, TimeZone, Utc};
use ipls::auth::{self, HashForm};
use ipls::clock::{Clock, ManualClock};
use ipls::config::Config;
use ipls::db::{self, DbConnection};
use ipls::domain::resellers::{self, Grants, NewAccount};
use ipls::state::AppState;

pub use database::{Kind, TestDatabase};
pub use http::Response;

/// Runs each listed test on SQLite and on Postgres: `mod NAME { fn sqlite; fn postgres }`.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$m:meta])* fn $name:ident($srv:ident) $body:block)*) => {
        $(
            $(#[$m])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[test]
                fn sqlite() {
                    let $srv = $crate::common::TestServer::start($crate::common::Kind::Sqlite)
                        .expect("SQLite is always available");
                    $body
                }
                #[test]
                fn postgres() {
                    let Some($srv) = $crate::common::TestServer::start($crate::common::Kind::Postgres) else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

/// Runs each listed test body once per backend, with `kind` naming it: `mod NAME { fn
/// sqlite; fn postgres }`. The body starts what it needs (a server with its own options, a
/// database for the CLI) and returns early when Postgres is not there.
#[macro_export]
macro_rules! on_both_kinds {
    ($($(#[$m:meta])* fn $name:ident($kind:ident) $body:block)*) => {
        $(
            $(#[$m])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn run($kind: $crate::common::Kind) $body
                #[test]
                fn sqlite() {
                    run($crate::common::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    run($crate::common::Kind::Postgres)
                }
            }
        )*
    };
}

/// The master key of test servers and of CLI runs on Postgres (IPLS_MASTER_KEY).
pub const TEST_MASTER_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A sealer with the test master key, for seeding and changing accounts directly.
/// The operator's command line as the author of an account change made by a test.
pub fn by_cli() -> ipls::domain::resellers::ChangedBy<'static> {
    static CLI: ipls::domain::Source = ipls::domain::Source::Cli;
    ipls::domain::resellers::ChangedBy {
        source: &CLI,
        now: chrono::Utc::now().naive_utc(),
    }
}

pub fn test_secrets() -> ipls::secrets::SecretBox {
    let key = ipls::secrets::parse_key(TEST_MASTER_KEY).expect("test key");
    ipls::secrets::SecretBox::new(&key, ipls::secrets::KeySource::Environment)
}

/// A fixed, round start time: dates in answers are predictable.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
        .single()
        .expect("valid time")
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    // Declared (so dropped) before the database: the server stops before its database is
    // dropped, as an operator would do it. The other way round, a server behind PgBouncer
    // kept asking for a database that no longer exists, and PgBouncer queued those requests.
    _running: Running,
    pub db: TestDatabase,
    pub kind: Kind,
    pub config: Config,
    pub bind: &'static str,
}

pub struct Options {
    pub allow_private_ips: bool,
    pub workers: usize,
    pub list_page_size: i64,
    /// IPLS_TRUSTED_PROXIES, e.g. "127.0.0.1".
    pub trusted_proxies: &'static str,
    /// IPLS_AUTH_FAILURE_BURST.
    pub auth_failure_burst: u32,
    /// Certificate and key (PEM paths) to serve HTTPS.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    pub limits: Option<ipls::config::ServerLimits>,
    /// IPLS_AUTH_CACHE_SECS; 0 (the tests' default) so that account changes apply at once.
    pub auth_cache_secs: i64,
    /// Where the server listens; `[::]:0` for a dual-stack listener (tests still connect
    /// to 127.0.0.1, so IPv4 peers arrive IPv4-mapped).
    pub bind: &'static str,
    /// IPLS_SMTP_URL (mail from `ipls <licenses@ipls.example>`); None: mail is off.
    pub smtp_url: Option<String>,
    /// Any further settings.
    pub configure: fn(&mut Config),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_private_ips: false,
            workers: 2,
            list_page_size: 2_000,
            trusted_proxies: "",
            auth_failure_burst: 20,
            tls: None,
            limits: None,
            auth_cache_secs: 0,
            bind: "127.0.0.1:0",
            smtp_url: None,
            configure: |_| {},
        }
    }
}

impl TestServer {
    pub fn start(kind: Kind) -> Option<Self> {
        Self::start_with(kind, Options::default())
    }

    pub fn start_with(kind: Kind, options: Options) -> Option<Self> {
        let db = TestDatabase::create(kind)?;
        let mut config = Config::from_lookup(|_| None).expect("default config");
        config.database_url = db.server_url();
        config.allow_private_ips = options.allow_private_ips;
        config.list_page_size = options.list_page_size;
        config.trusted_proxies =
            ipls::net::cidr_list("trusted", Some(options.trusted_proxies.to_string()))
                .expect("CIDRs");
        config.pool.max_size = 8;
        config.tls = options.tls.clone();
        config.auth_cache_secs = options.auth_cache_secs;
        if let Some(limits) = &options.limits {
            config.limits = limits.clone();
        }
        config.auth_failure_burst =
            std::num::NonZeroU32::new(options.auth_failure_burst).expect("burst > 0");
        config.master_key = Some(ipls::config::Redacted(TEST_MASTER_KEY.to_string()));
        if let Some(url) = &options.smtp_url {
            config.mail = Some(ipls::mail::MailSettings {
                server: ipls::mail::parse_url(url).expect("an SMTP URL"),
                from: ipls::mail::parse_from("ipls <licenses@ipls.example>").expect("an address"),
            });
        }
        (options.configure)(&mut config);
        let clock = ManualClock::new(start_time());
        let running = Running::serve(&config, &clock, options.workers, options.bind);
        Some(Self {
            addr: running.addr,
            clock,
            db,
            kind,
            config,
            bind: options.bind,
            _running: running,
        })
    }

    /// A server that trusts a proxy on loopback (tests name clients in X-Forwarded-For),
    /// with a failure burst of `burst`.
    pub fn behind_proxy(kind: Kind, burst: u32) -> Option<Self> {
        Self::start_with(
            kind,
            Options {
                trusted_proxies: "127.0.0.1",
                auth_failure_burst: burst,
                ..Options::default()
            },
        )
    }

    /// A second ipls instance on the same database and clock, with its own memory (a
    /// restart, or another instance behind the same load balancer).
    pub fn another_instance(&self) -> Running {
        Running::serve(&self.config, &self.clock, 2, self.bind)
    }

    /// `count(*)`-style query (a column named `n`) on either backend.
    pub fn count(&self, sql: &str) -> i64 {
        database::count_any(&mut self.conn(), sql)
    }

    /// A direct connection to the same database, for seeding and for checking rows.
    pub fn conn(&self) -> DbConnection {
        db::establish(&self.db.url).expect("direct connection")
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Creates a reseller with the given types (unlimited) and returns its secret.
    pub fn add_reseller(&self, login: &str, types: &[i32]) -> Reseller {
        self.add_reseller_with(login, types.iter().map(|t| (*t, None)).collect(), false)
    }

    pub fn add_reseller_with(
        &self,
        login: &str,
        limits: Vec<(i32, Option<i32>)>,
        trial: bool,
    ) -> Reseller {
        let secret = format!("secret-of-{login}-0123456789");
        let grants = Grants {
            limits: limits.into_iter().collect(),
        };
        resellers::create(
            &mut self.conn(),
            &NewAccount {
                login,
                secret: &secret,
                trial,
                grants: &grants,
                now: self.now().naive_utc(),
                by: &ipls::domain::Source::Cli,
            },
            &test_secrets(),
        )
        .expect("create reseller");
        Reseller {
            login: login.to_string(),
            secret,
            addr: self.addr,
            clock: self.clock.clone(),
        }
    }

    pub fn get(&self, target: &str) -> Response {
        http::request(self.addr, "GET", target, &[], b"")
    }
}

/// An ipls HTTP server on a loopback port, in a thread with its own actix system; stopped
/// when dropped.
pub struct Running {
    pub addr: SocketAddr,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Opens the database as `ipls serve` does and serves it.
    pub fn serve(config: &Config, clock: &ManualClock, workers: usize, bind: &str) -> Self {
        let (pool, secrets) = ipls::bootstrap::open_database(config).expect("open test database");
        let state = AppState::new(pool, secrets, config.clone(), Arc::new(clock.clone()));
        Self::start(state, workers, bind)
    }

    pub fn start(state: AppState, workers: usize, bind: &str) -> Self {
        let listener = TcpListener::bind(bind).expect("bind a loopback port");
        let mut addr = listener.local_addr().expect("local addr");
        if addr.ip().is_unspecified() {
            // A dual-stack listener: reach it over IPv4 loopback.
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let server = ipls::server::start(state, listener, workers).expect("start server");
                tx.send(server.handle())
                    .expect("hand over the server handle");
                let _ = server.await;
            });
        });
        let handle = rx.recv().expect("server started");
        Self {
            addr,
            handle: Some(handle),
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A reseller as a client sees it: login and secret, minting tokens at the server's "now".
#[derive(Clone)]
pub struct Reseller {
    pub login: String,
    pub secret: String,
    pub addr: SocketAddr,
    pub clock: ManualClock,
}

impl Reseller {
    pub fn token(&self) -> String {
        self.token_at(self.clock.now().timestamp(), HashForm::LegacySha1)
    }

    pub fn token_at(&self, ts: i64, form: HashForm) -> String {
        auth::mint(&self.login, &self.secret, ts, form)
    }

    /// GET `/api/ipl/{endpoint}.json?{params}&token=...` with the raw `|` in the token.
    /// An endpoint starting with `/` is a full path (`/api/usage.json`).
    pub fn call(&self, endpoint: &str, params: &str) -> Response {
        let sep = if params.is_empty() { "" } else { "&" };
        let path = if endpoint.starts_with('/') {
            endpoint.to_string()
        } else {
            format!("/api/ipl/{endpoint}.json")
        };
        let target = format!("{path}?{params}{sep}token={}", self.token());
        http::request(self.addr, "GET", &target, &[], b"")
    }

    /// Same call, answered JSON; asserts HTTP 200 and the exact four envelope keys.
    pub fn json(&self, endpoint: &str, params: &str) -> serde_json::Value {
        let response = self.call(endpoint, params);
        assert_eq!(
            response.status,
            200,
            "{endpoint}?{params}: {}",
            response.text()
        );
        let value = response.json();
        assert_envelope(&value);
        value
    }

    /// `data` of a call that must succeed.
    pub fn ok(&self, endpoint: &str, params: &str) -> serde_json::Value {
        let value = self.json(endpoint, params);
        assert_eq!(value["success"], true, "{endpoint}?{params}: {value}");
        value["data"].clone()
    }

    /// `message` of a call that must be refused.
    pub fn refused(&self, endpoint: &str, params: &str) -> String {
        let value = self.json(endpoint, params);
        assert_eq!(
            value["success"], false,
            "{endpoint}?{params} should fail: {value}"
        );
        assert_eq!(value["data"], serde_json::Value::Null);
        value["message"]
            .as_str()
            .expect("a message string")
            .to_string()
    }
}

/// Exactly `success` (bool), `message`, `type` (null) and `data`, and never `registered`.
pub fn assert_envelope(value: &serde_json::Value) {
    let object = value.as_object().expect("envelope is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["data", "message", "success", "type"], "{value}");
    assert!(object["success"].is_boolean(), "{value}");
    assert!(object["type"].is_null(), "{value}");
}

/// GET `target` as if from `source`: through a trusted proxy on loopback (the server must
/// trust 127.0.0.1), which names the client in X-Forwarded-For.
pub fn get_from(addr: SocketAddr, source: &str, target: &str) -> Response {
    http::request(addr, "GET", target, &[("X-Forwarded-For", source)], b"")
}

/// A well-formed token for `login` that no secret verifies.
pub fn bad_token(login: &str, now: DateTime<Utc>) -> String {
    format!("{login}|{}|{}", now.timestamp(), "0".repeat(40))
}

/// The value of a plain (unlabelled) metric in `/metrics`.
pub fn metric(addr: SocketAddr, name: &str) -> u64 {
    let text = http::request(addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

/// The database id of the reseller `login`.
pub fn reseller_id(srv: &TestServer, login: &str) -> i64 {
    use diesel::prelude::*;
    use ipls::db::schema::resellers;
    resellers::table
        .filter(resellers::login.eq(login))
        .select(resellers::id)
        .first(&mut srv.conn())
        .expect("the reseller's id")
}

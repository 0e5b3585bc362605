//! Chains of real `ipls serve` processes: a node is a database of its own and an `ipls
//! serve` on it; one node plays CLN for another (the relay's tests and faults).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::Utc;
use ipls::clock::ManualClock;
use ipls::domain::resellers::{self, Grants, NewAccount};

use super::process::ServeProcess;
use super::{database, test_secrets, Kind, Reseller, TestDatabase, TEST_MASTER_KEY};

/// The relay's settings in tests: quick looks, short bounds, no schedule (tests reconcile
/// when they mean to).
pub const QUICK_RELAY: &[(&str, &str)] = &[
    ("IPLS_UPSTREAM_POLL_MS", "100"),
    ("IPLS_UPSTREAM_TIMEOUT_MS", "3000"),
    ("IPLS_UPSTREAM_RECONCILE_SECS", "0"),
];

pub struct Node {
    pub serve: ServeProcess,
    pub db: TestDatabase,
    /// Tokens of this node's resellers are minted at the real time (the server's clock).
    clock: ManualClock,
}

impl Node {
    /// A fresh database and `ipls serve` on it with `env` (after `QUICK_RELAY`).
    pub fn start(kind: Kind, env: &[(&str, &str)]) -> Option<Self> {
        let db = TestDatabase::create_migrated(kind)?;
        let serve = Self::serve(&db, env);
        Some(Self {
            serve,
            db,
            clock: ManualClock::new(Utc::now()),
        })
    }

    fn serve(db: &TestDatabase, env: &[(&str, &str)]) -> ServeProcess {
        let mut all: Vec<(&str, &str)> = QUICK_RELAY.to_vec();
        all.extend_from_slice(env);
        ServeProcess::start(&db.url_text(), &all)
    }

    /// Stops the process (SIGKILL) and starts another on the same database.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.serve.child.kill();
        let _ = self.serve.child.wait();
        self.serve = Self::serve(&self.db, env);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.serve.addr)
    }

    /// A reseller with the given types (unlimited), as its client sees it.
    pub fn add_reseller(&self, login: &str, types: &[i32]) -> Reseller {
        let secret = format!("secret-of-{login}-0123456789");
        let grants = Grants {
            limits: types.iter().map(|t| (*t, None)).collect(),
        };
        resellers::create(
            &mut ipls::db::establish(&self.db.url).expect("connect"),
            &NewAccount {
                login,
                secret: &secret,
                trial: false,
                grants: &grants,
                now: Utc::now().naive_utc(),
                by: &ipls::domain::Source::Cli,
            },
            &test_secrets(),
        )
        .expect("create reseller");
        self.clock.set(Utc::now());
        Reseller {
            login: login.to_string(),
            secret,
            addr: self.serve.addr,
            clock: self.clock.clone(),
        }
    }

    /// Keeps this node's resellers' tokens fresh (a long test).
    pub fn refresh_tokens(&self) {
        self.clock.set(Utc::now());
    }

    /// `ipls ARGS` on this node's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(args, &[])
    }

    pub fn cli_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
        command
            .args(args)
            .env("DATABASE_URL", self.db.url_text())
            .env("IPLS_MASTER_KEY", TEST_MASTER_KEY)
            .env_remove("IPLS_MASTER_KEY_FILE")
            .env_remove("RUST_LOG");
        for (k, v) in QUICK_RELAY.iter().chain(env) {
            command.env(k, v);
        }
        command.output().expect("run ipls")
    }

    /// Routes `types` (e.g. "1,16") of this node to `upstream`'s reseller `login`.
    pub fn add_upstream(&self, name: &str, upstream: &Node, login: &str, types: &str) {
        let secret = format!("secret-of-{login}-0123456789");
        let url = upstream.url();
        let output = self.cli_with(
            &[
                "upstream",
                "add",
                name,
                "--url",
                &url,
                "--login",
                login,
                "--types",
                types,
                "--rate",
                "1000",
                "--concurrency",
                "32",
            ],
            &[("IPLS_UPSTREAM_SECRET", &secret)],
        );
        super::process::succeeded(&output);
    }

    pub fn count(&self, sql: &str) -> i64 {
        database::count_any(
            &mut ipls::db::establish(&self.db.url).expect("connect"),
            sql,
        )
    }

    /// How many licenses (ip, type) this node holds, settled or not.
    pub fn holds(&self, ip: &str, type_id: i32) -> i64 {
        self.count(&format!(
            "SELECT count(*) AS n FROM ip_licenses WHERE ip = '{ip}' AND type_id = {type_id}"
        ))
    }

    /// Changes still waiting to be carried upstream.
    pub fn pending(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM upstream_ops WHERE state = 'pending'")
    }
}

/// Waits up to `timeout` for `done`, looking every 50 ms; panics naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

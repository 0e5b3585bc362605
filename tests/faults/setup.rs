//! What every fault test starts from: a seeded database, `ipls serve` with short timeouts,
//! and the load's clients.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use ipls::db::DatabaseUrl;
use ipls::domain::resellers::{create, Grants, NewAccount};

use crate::common::process::ServeProcess;
use crate::common::{test_secrets, TEST_MASTER_KEY};
use crate::invariants::{self, Figures};
use crate::load::{Client, Load, Outcome, Plan, Target};

/// Whether this machine can inject a fault that needs `what` (root, PostgreSQL's server
/// binaries). Missing, the test is skipped with a notice, unless `IPLS_REQUIRE_POSTGRES=1`
/// (set by `.ci/run`) makes that a failure, as for every Postgres test.
pub fn can_inject(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    assert!(
        std::env::var("IPLS_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "this fault needs {what}"
    );
    eprintln!("skipped: this fault needs {what}");
    false
}

pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// One fault test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The servers' timeouts (ms): waiting for a connection, a row lock, a statement. A call's
/// database work is cut at their sum plus 1 s (`db::run`), so no call may take longer than
/// `BOUND` (that, plus a second of margin for a loaded machine).
pub const SERVER_ENV: [(&str, &str); 7] = [
    ("IPLS_DB_TIMEOUT_MS", "500"),
    ("IPLS_PG_LOCK_TIMEOUT_MS", "1000"),
    ("IPLS_PG_STATEMENT_TIMEOUT_MS", "1500"),
    ("IPLS_ALLOW_PRIVATE_IPS", "true"),
    ("IPLS_AUTH_CACHE_SECS", "2"),
    ("IPLS_MASTER_KEY", TEST_MASTER_KEY),
    ("RUST_LOG", "error,ipls::cli::serve=info"),
];
pub const BOUND: Duration = Duration::from_secs(4);

pub const ACME_SECRET: &str = "acme-fault-secret-0123456789";
pub const CAPPED_SECRET: &str = "capped-fault-secret-0123456789";

/// Migrates and creates the resellers: `acme` (Imunify tiers, unlimited) and `capped`
/// (KernelCare with a limit, so its registrations take its row lock).
pub fn seed(url: &DatabaseUrl) {
    ipls::db::migrate::run_pending(url).unwrap();
    let mut conn = ipls::db::establish(url).unwrap();
    let now = chrono::Utc::now().naive_utc();
    for (login, secret, limits) in [
        (
            "acme",
            ACME_SECRET,
            vec![(41, None), (42, None), (43, None)],
        ),
        ("capped", CAPPED_SECRET, vec![(16, Some(1_000_000))]),
    ] {
        let grants = Grants {
            limits: limits.into_iter().collect(),
        };
        let account = NewAccount {
            login,
            secret,
            trial: false,
            grants: &grants,
            now,
            by: &ipls::domain::Source::Cli,
        };
        create(&mut conn, &account, &test_secrets()).unwrap();
    }
}

pub fn serve(url: &str, extra: &[(&str, &str)]) -> ServeProcess {
    let mut env: Vec<(&str, &str)> = SERVER_ENV.to_vec();
    env.extend_from_slice(extra);
    ServeProcess::start(url, &env)
}

pub fn target(addr: SocketAddr) -> Target {
    Arc::new(RwLock::new(addr))
}

pub fn acme_clients(n: usize) -> Vec<Client> {
    (0..n)
        .map(|_| Client {
            login: "acme",
            secret: ACME_SECRET,
            plan: Plan::Imunify,
        })
        .collect()
}

/// A client reading with check.json what the first `acme` client writes.
pub fn checking_client() -> Client {
    Client {
        login: "acme",
        secret: ACME_SECRET,
        plan: Plan::Checks,
    }
}

pub fn capped_client() -> Client {
    Client {
        login: "capped",
        secret: CAPPED_SECRET,
        plan: Plan::Limited(16),
    }
}

/// Lets the load run until `more` calls have been answered (the fault then meets a load
/// that is really running) and at least `at_least` has passed.
fn run_for(load: &Load, at_least: Duration, more: usize) {
    let started = Instant::now();
    let before = load.answered();
    while started.elapsed() < at_least || load.answered() < before + more {
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load made no progress"
        );
    }
}

/// One fault under load: `clients` write against `target`; once the load really runs,
/// `inject` applies the fault and returns when it is over; the load goes on for a while, then
/// every check runs. Returns the outcomes and the fault's window for checks of its own.
pub fn under_fault(
    fault: &str,
    url: &DatabaseUrl,
    target: Target,
    clients: Vec<Client>,
    silence_allowed: bool,
    inject: impl FnOnce(),
) -> (Vec<Outcome>, (Instant, Instant)) {
    let (outcomes, window) = run_fault(target, clients, inject);
    verify(fault, url, &outcomes, window, silence_allowed, false);
    (outcomes, window)
}

/// `under_fault` for a fault that may lose acknowledged writes by design (asynchronous
/// replication): every other check holds; returns how many were lost, for the figures.
pub fn under_fault_measuring_loss(
    fault: &str,
    url: &DatabaseUrl,
    target: Target,
    clients: Vec<Client>,
    inject: impl FnOnce(),
) -> usize {
    let (outcomes, window) = run_fault(target, clients, inject);
    verify(fault, url, &outcomes, window, false, true)
}

fn run_fault(
    target: Target,
    clients: Vec<Client>,
    inject: impl FnOnce(),
) -> (Vec<Outcome>, (Instant, Instant)) {
    let load = Load::start(target, clients);
    run_for(&load, Duration::from_secs(1), 30);
    let fault_started = Instant::now();
    inject();
    let fault_ended = Instant::now();
    run_for(&load, Duration::from_secs(2), 30);
    (load.finish(), (fault_started, fault_ended))
}

/// The checks every fault ends with (prints the figures' row); returns how many acknowledged
/// writes were lost, which must be none unless `loss_allowed`.
fn verify(
    fault: &str,
    url: &DatabaseUrl,
    outcomes: &[Outcome],
    window: (Instant, Instant),
    silence_allowed: bool,
    loss_allowed: bool,
) -> usize {
    let mut conn = ipls::db::establish(url).unwrap();
    let verdict = invariants::acknowledged_writes(&mut conn, outcomes);
    invariants::table_matches_history(&mut conn);
    let met = invariants::during(outcomes, window.0, window.1);
    assert!(!met.is_empty(), "{fault}: no call met the fault");
    invariants::answered_in_time(outcomes, BOUND, silence_allowed);
    Figures {
        fault,
        outcomes,
        fault_started: window.0,
        fault_ended: window.1,
        lost: verdict.lost.len(),
    }
    .report();
    println!(
        "{fault}: {} calls; unacknowledged calls applied {}, not applied {}",
        outcomes.len(),
        verdict.unacknowledged_applied,
        verdict.unacknowledged_not_applied
    );
    assert!(
        loss_allowed || verdict.lost.is_empty(),
        "{fault}: acknowledged writes lost: {:?}",
        verdict.lost
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o.started >= window.1 && matches!(o.answer, crate::load::Answer::Done(_))),
        "{fault}: writes succeed again after the fault"
    );
    verdict.lost.len()
}

//! The upstream relay under faults (docs/upstream.md, "Faults"): clients keep writing to
//! ipls A, whose types 16 and 41-43 are carried to ipls B (playing CLN) through a proxy of
//! the test's own, while the path to B fails: B down, B stalled, B answering 500 or
//! something that is not JSON, the connection cut after B committed but before A read its
//! answer, A killed between its intent and B's answer, and two A instances relaying for the
//! same account. After each: A settles (nothing waits, no intent is left), one
//! `ipls upstream reconcile --repair` runs, and then B holds exactly what A holds: no
//! license held at B through ipls without a local owner, no local license missing at B, and
//! so every registration acknowledged to a client and not removed since is live at B.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use ipls::db::schema::ip_licenses;
use ipls::db::DatabaseUrl;
use ipls::domain::resellers::{create, Grants, NewAccount};

use crate::common::process::ServeProcess;
use crate::common::{test_secrets, Kind, TestDatabase, TEST_MASTER_KEY};
use crate::invariants::{self, Figures};
use crate::load::{Client, Load, Outcome, Target};
use crate::proxy::Proxy;
use crate::setup::{acme_clients, capped_client, one_at_a_time, seed, target, BOUND, SERVER_ENV};

/// A's relay in these tests: a 1.5 s bound on each upstream call, quick looks.
const RELAY_ENV: [(&str, &str); 4] = [
    ("IPLS_UPSTREAM_TIMEOUT_MS", "1500"),
    ("IPLS_UPSTREAM_POLL_MS", "100"),
    ("IPLS_UPSTREAM_QUEUE_WAIT_MS", "1000"),
    ("IPLS_UPSTREAM_RECONCILE_SECS", "0"),
];

const PARTNER_SECRET: &str = "partner-fault-secret-0123456789";

/// A relaying to B through a proxy, both on databases of `kind`.
struct Chain {
    a_db: TestDatabase,
    b_db: TestDatabase,
    a: ServeProcess,
    _b: ServeProcess,
    proxy: Proxy,
}

fn serve_a(db: &TestDatabase, extra: &[(&str, &str)]) -> ServeProcess {
    let mut env: Vec<(&str, &str)> = SERVER_ENV.to_vec();
    env.extend_from_slice(&RELAY_ENV);
    env.extend_from_slice(extra);
    ServeProcess::start(&db.url_text(), &env)
}

fn ipls(db: &TestDatabase, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
    command
        .args(args)
        .env("DATABASE_URL", db.url_text())
        .env("IPLS_MASTER_KEY", TEST_MASTER_KEY)
        .env_remove("RUST_LOG");
    for (k, v) in RELAY_ENV.iter().chain(env) {
        command.env(k, v);
    }
    command.output().unwrap()
}

impl Chain {
    fn start(kind: Kind) -> Option<Self> {
        let b_db = TestDatabase::create(kind)?;
        ipls::db::migrate::run_pending(&b_db.url).unwrap();
        let grants = Grants {
            limits: [16, 41, 42, 43].into_iter().map(|t| (t, None)).collect(),
        };
        let account = NewAccount {
            login: "partner",
            secret: PARTNER_SECRET,
            trial: false,
            grants: &grants,
            now: chrono::Utc::now().naive_utc(),
            by: &ipls::domain::Source::Cli,
        };
        create(
            &mut ipls::db::establish(&b_db.url).unwrap(),
            &account,
            &test_secrets(),
        )
        .unwrap();
        let b = ServeProcess::start(&b_db.url_text(), &SERVER_ENV);
        let proxy = Proxy::start(b.addr);
        let a_db = TestDatabase::create(kind)?;
        seed(&a_db.url);
        let added = ipls(
            &a_db,
            &[
                "upstream",
                "add",
                "cln",
                "--url",
                &format!("http://{}", proxy.addr),
                "--login",
                "partner",
                "--types",
                "16,41,42,43",
                "--rate",
                "2000",
                "--concurrency",
                "16",
            ],
            &[("IPLS_UPSTREAM_SECRET", PARTNER_SECRET)],
        );
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        let a = serve_a(&a_db, &[]);
        Some(Self {
            a_db,
            b_db,
            a,
            _b: b,
            proxy,
        })
    }
}

/// (ip, type) of every settled license in `url`.
fn held(url: &DatabaseUrl) -> BTreeSet<(String, i32)> {
    let mut conn = ipls::db::establish(url).unwrap();
    ip_licenses::table
        .filter(ip_licenses::relay_state.is_null())
        .select((ip_licenses::ip, ip_licenses::type_id))
        .load::<(String, i32)>(&mut conn)
        .unwrap()
        .into_iter()
        .collect()
}

fn count(url: &DatabaseUrl, sql: &str) -> i64 {
    crate::common::database::count_any(&mut ipls::db::establish(url).unwrap(), sql)
}

/// Runs the load on A through `inject`, settles, checks the local invariants, reconciles
/// with repair, and checks that B holds exactly what A holds. Returns the reconcile's
/// summary line.
fn relay_under_fault(
    fault: &str,
    a_db: &TestDatabase,
    b_db: &TestDatabase,
    targets: Vec<(Target, Vec<Client>)>,
    settle_within: Duration,
    inject: impl FnOnce(),
) -> String {
    let loads: Vec<Load> = targets
        .into_iter()
        .map(|(target, clients)| Load::start(target, clients))
        .collect();
    let answered = |loads: &[Load]| loads.iter().map(Load::answered).sum::<usize>();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) || answered(&loads) < 30 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{fault}: no progress"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let fault_started = Instant::now();
    inject();
    let fault_ended = Instant::now();
    let before = answered(&loads);
    let after = Instant::now();
    while after.elapsed() < Duration::from_secs(2) || answered(&loads) < before + 30 {
        assert!(
            after.elapsed() < Duration::from_secs(60),
            "{fault}: no progress after the fault"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut outcomes: Vec<Outcome> = loads.into_iter().flat_map(Load::finish).collect();
    outcomes.sort_by_key(|o| o.started);
    settled(a_db, settle_within);

    let mut conn = ipls::db::establish(&a_db.url).unwrap();
    let verdict = invariants::acknowledged_writes(&mut conn, &outcomes);
    invariants::table_matches_history(&mut conn);
    let met = invariants::during(&outcomes, fault_started, fault_ended);
    assert!(!met.is_empty(), "{fault}: no call met the fault");
    invariants::answered_in_time(&outcomes, BOUND, true);
    assert!(
        verdict.lost.is_empty(),
        "{fault}: acknowledged writes lost: {:?}",
        verdict.lost
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o.started >= fault_ended && matches!(o.answer, crate::load::Answer::Done(_))),
        "{fault}: writes succeed again after the fault"
    );

    let reconciled = ipls(
        a_db,
        &["upstream", "reconcile", "cln", "--repair", "--no-checkins"],
        &[],
    );
    let summary = String::from_utf8_lossy(&reconciled.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        reconciled.status.code(),
        Some(0),
        "{fault}: {summary} {}",
        String::from_utf8_lossy(&reconciled.stderr)
    );
    let (at_a, at_b) = (held(&a_db.url), held(&b_db.url));
    let upstream_only: Vec<_> = at_b.difference(&at_a).collect();
    let local_only: Vec<_> = at_a.difference(&at_b).collect();
    assert!(
        upstream_only.is_empty(),
        "{fault}: held at B without a local owner: {upstream_only:?}"
    );
    assert!(
        local_only.is_empty(),
        "{fault}: held at A, missing at B: {local_only:?}"
    );
    Figures {
        fault,
        outcomes: &outcomes,
        fault_started,
        fault_ended,
        lost: verdict.lost.len(),
    }
    .report();
    let row = format!(
        "| {fault} | {} | {} | {} | {summary} |",
        met.len(),
        outcomes.len(),
        at_a.len()
    );
    println!("{row}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/relay-fault-figures.md");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        use std::io::Write;
        let _ = writeln!(file, "{row}");
    }
    summary
}

/// Waits until A carried everything and settled every intent.
fn settled(a_db: &TestDatabase, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let waiting = count(
            &a_db.url,
            "SELECT count(*) AS n FROM upstream_ops WHERE state = 'pending'",
        );
        let intents = count(
            &a_db.url,
            "SELECT count(*) AS n FROM ip_licenses WHERE relay_state IS NOT NULL",
        );
        if waiting == 0 && intents == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "A did not settle: {waiting} waiting, {intents} intents"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn clients() -> Vec<Client> {
    let mut clients = acme_clients(3);
    clients.push(capped_client());
    clients
}

/// Within this, A has carried what the fault held up (retries back off to a few seconds).
const SETTLE: Duration = Duration::from_secs(30);

fn upstream_down(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(c) = Chain::start(kind) else { return };
    let name = format!("upstream down 2 s ({})", kind_name(kind));
    relay_under_fault(
        &name,
        &c.a_db,
        &c.b_db,
        vec![(target(c.a.addr), clients())],
        SETTLE,
        || {
            c.proxy.refuse();
            c.proxy.cut_all();
            std::thread::sleep(Duration::from_secs(2));
            c.proxy.forward();
        },
    );
}

fn upstream_stalled(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(c) = Chain::start(kind) else { return };
    let name = format!("upstream stalled 3 s ({})", kind_name(kind));
    relay_under_fault(
        &name,
        &c.a_db,
        &c.b_db,
        vec![(target(c.a.addr), clients())],
        SETTLE,
        || {
            c.proxy.stall();
            std::thread::sleep(Duration::from_secs(3));
            c.proxy.cut_all();
            c.proxy.forward();
        },
    );
}

fn upstream_answers_garbage(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(c) = Chain::start(kind) else { return };
    let name = format!(
        "upstream answers 500, then HTML, 1 s each ({})",
        kind_name(kind)
    );
    relay_under_fault(
        &name,
        &c.a_db,
        &c.b_db,
        vec![(target(c.a.addr), clients())],
        SETTLE,
        || {
            c.proxy.answer_with(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
        );
            std::thread::sleep(Duration::from_secs(1));
            c.proxy.answer_with(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>",
        );
            std::thread::sleep(Duration::from_secs(1));
            c.proxy.forward();
        },
    );
}

fn answers_cut_after_commit(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(c) = Chain::start(kind) else { return };
    let name = format!(
        "connection cut after the upstream committed, 2 s ({})",
        kind_name(kind)
    );
    relay_under_fault(
        &name,
        &c.a_db,
        &c.b_db,
        vec![(target(c.a.addr), clients())],
        SETTLE,
        || {
            c.proxy.cut_answers();
            std::thread::sleep(Duration::from_secs(2));
            c.proxy.forward();
        },
    );
    // B acted on registrations whose answers were cut: A withdrew them there.
    let withdrawn = count(
        &c.a_db.url,
        "SELECT count(*) AS n FROM upstream_ops o WHERE op = 'remove' AND state = 'done' \
         AND NOT EXISTS (SELECT 1 FROM license_events e WHERE e.ip = o.ip AND e.action = 'remove')",
    );
    assert!(withdrawn > 0, "some cut registration was withdrawn at B");
}

fn killed_between_intent_and_answer(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(Chain {
        a_db,
        b_db,
        mut a,
        _b,
        proxy,
    }) = Chain::start(kind)
    else {
        return;
    };
    let target = target(a.addr);
    let restart = target.clone();
    let mut intents_left = 0;
    let name = format!(
        "ipls A SIGKILLed while the upstream holds its calls ({})",
        kind_name(kind)
    );
    // Left-behind intents are settled once older than twice the call bound plus 10 s.
    relay_under_fault(
        &name,
        &a_db,
        &b_db,
        vec![(target, clients())],
        Duration::from_secs(60),
        || {
            proxy.stall();
            std::thread::sleep(Duration::from_millis(700));
            a.child.kill().unwrap();
            a.child.wait().unwrap();
            intents_left = count(
                &a_db.url,
                "SELECT count(*) AS n FROM ip_licenses WHERE relay_state = 'registering'",
            );
            // The held requests reach B after all: B acts on calls a dead A made.
            proxy.forward();
            a = serve_a(&a_db, &[]);
            *restart.write().unwrap() = a.addr;
        },
    );
    assert!(intents_left > 0, "the kill left intents behind");
    let settled_by_b = count(&a_db.url,
        "SELECT count(*) AS n FROM license_events WHERE source = 'upstream:cln' AND action = 'register'");
    println!(
        "{name}: {intents_left} intents left by the kill, {settled_by_b} of them found held at B"
    );
}

fn two_instances_relay_for_one_account(kind: Kind) {
    let _serial = one_at_a_time();
    let Some(c) = Chain::start(kind) else { return };
    // A second instance on the same database; both reconcile on a schedule (one at a time).
    let scheduled = [("IPLS_UPSTREAM_RECONCILE_SECS", "1")];
    let a2 = serve_a(&c.a_db, &scheduled);
    let a1 = serve_a(&c.a_db, &scheduled);
    let name = format!("two instances, upstream refused 1 s ({})", kind_name(kind));
    let targets = vec![
        (target(a1.addr), acme_clients(2)),
        (target(a2.addr), vec![capped_client()]),
    ];
    relay_under_fault(&name, &c.a_db, &c.b_db, targets, SETTLE, || {
        c.proxy.refuse();
        c.proxy.cut_all();
        std::thread::sleep(Duration::from_secs(1));
        c.proxy.forward();
    });
    let twice = count(&c.a_db.url,
        "SELECT count(*) AS n FROM (SELECT ip, type_id FROM license_events WHERE action = 'upstream_repair' \
         GROUP BY ip, type_id HAVING count(*) > 1) AS d");
    assert_eq!(twice, 0, "no difference repaired twice");
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "SQLite",
        Kind::Postgres => "Postgres",
    }
}

macro_rules! both {
    ($($name:ident),*) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(crate::common::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name(crate::common::Kind::Postgres)
                }
            }
        )*
    };
}

both!(
    upstream_down,
    upstream_stalled,
    upstream_answers_garbage,
    answers_cut_after_commit,
    killed_between_intent_and_answer,
    two_instances_relay_for_one_account
);

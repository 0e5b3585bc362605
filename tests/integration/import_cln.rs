//! `ipls import cln` against a second ipls acting as CLN: 10,000 licenses on Postgres (2,000 on
//! SQLite), a dry run that changes nothing, an import killed halfway and run again, a
//! conflict with another local reseller reported and not fatal, and a third run that adds
//! nothing; dates, registrations and check-in data arrive as the source had them.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;

use crate::common::process::succeeded;
use crate::common::{Kind, TestServer, TEST_MASTER_KEY};

/// `n` licenses of type 1 for `login` on 11.x.y.z; every third registered with a check-in.
fn seed_source(src: &TestServer, login: &str, n: u32) {
    let id = src.count(&format!(
        "SELECT id AS n FROM resellers WHERE login = '{login}'"
    ));
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let ip = format!("11.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255);
            let day = i % 28 + 1;
            if i % 3 == 0 {
                format!(
                    "({id}, '{ip}', 1, 'cloudlinux', false, '2025-02-{day:02} 10:20:00', \
                     '2025-03-01 00:00:00', '2026-11-01 08:00:00', 'web-{i}')"
                )
            } else {
                format!(
                    "({id}, '{ip}', 1, 'cloudlinux', false, '2025-02-{day:02} 10:20:00', NULL, NULL, NULL)"
                )
            }
        })
        .collect();
    src.conn()
        .batch_execute(&format!(
            "INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, \
             registered_at, last_checkin, server_info) VALUES {}",
            rows.join(", ")
        ))
        .expect("seed the source");
}

fn import(target: &TestServer, source: &TestServer, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
    command
        .args(["import", "cln", "--url", &format!("http://{}", source.addr)])
        .args([
            "--login",
            "cln",
            "--into-reseller",
            "acme",
            "--rate",
            "2000",
        ])
        .args(extra)
        .env("IPLS_IMPORT_SECRET", "secret-of-cln-0123456789")
        .env("DATABASE_URL", target.db.url_text())
        .env("IPLS_MASTER_KEY", TEST_MASTER_KEY);
    command
}

fn summary(output: &Output) -> String {
    let out = succeeded(output);
    out.lines().last().unwrap_or_default().to_string()
}

fn acme_count(target: &TestServer) -> i64 {
    target.count(
        "SELECT count(*) AS n FROM ip_licenses l JOIN resellers r ON r.id = l.reseller_id \
         WHERE r.login = 'acme'",
    )
}

fn run(kind: Kind, n: u32) {
    let Some(source) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    let Some(target) = TestServer::start(kind) else {
        return;
    };
    // Tokens are minted from the real clock by the importer.
    source.clock.set(Utc::now());
    source.add_reseller("cln", &[1]);
    seed_source(&source, "cln", n);
    target.add_reseller("acme", &[1]);
    let other = target.add_reseller("other", &[1]);
    // One of the addresses is another local reseller's already.
    other.ok("register", "ip=11.0.0.7&type=1");

    let dry = summary(&import(&target, &source, &["--dry-run"]).output().unwrap());
    assert_eq!(
        dry,
        format!(
            "would import {}, already present 0, conflicts 1, failed 0",
            n - 1
        )
    );
    assert_eq!(acme_count(&target), 0, "a dry run changes nothing");

    // Killed halfway (SIGKILL), then run again: it resumes.
    let mut first: Child = import(&target, &source, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acme_count(&target) < i64::from(n / 2) {
        assert!(Instant::now() < deadline, "the import did not get halfway");
        std::thread::sleep(Duration::from_millis(20));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = acme_count(&target);
    assert!(
        before < i64::from(n - 1),
        "killed after it finished: nothing to resume"
    );

    let second = summary(&import(&target, &source, &[]).output().unwrap());
    assert_eq!(
        second,
        format!(
            "imported {}, already present {before}, conflicts 1, failed 0",
            i64::from(n - 1) - before
        )
    );
    assert_eq!(acme_count(&target), i64::from(n - 1));
    let third = summary(&import(&target, &source, &[]).output().unwrap());
    assert_eq!(
        third,
        format!(
            "imported 0, already present {}, conflicts 1, failed 0",
            n - 1
        )
    );

    // As the source had them: created, registration, last check-in, server_info.
    let registered = target.count(
        "SELECT count(*) AS n FROM ip_licenses WHERE ip = '11.0.0.3' AND server_info = 'web-3' \
         AND registered_at IS NOT NULL AND last_checkin IS NOT NULL",
    );
    assert_eq!(registered, 1);
    let created = target.count(
        "SELECT count(*) AS n FROM ip_licenses WHERE ip = '11.0.0.4' AND registered_at IS NULL \
         AND created_at = '2025-02-05 10:20:00'",
    );
    assert_eq!(created, 1, "the original created date, not the import's");
    let history = target.count(
        "SELECT count(*) AS n FROM license_events WHERE action = 'register' \
         AND source = '{}' AND detail LIKE 'import%'"
            .replace("{}", "import:127.0.0.1")
            .as_str(),
    );
    assert_eq!(
        history,
        i64::from(n - 1),
        "one history row per imported license"
    );
    let output = import(&target, &source, &[]).output().unwrap();
    let out = succeeded(&output);
    assert!(
        out.contains("11.0.0.7: type 1 is held by reseller other"),
        "{out}"
    );
}

#[test]
fn sqlite() {
    run(Kind::Sqlite, 2_000);
}

#[test]
fn postgres() {
    run(Kind::Postgres, 10_000);
}

#[test]
fn a_wrong_secret_is_one_clear_line() {
    let (Some(source), Some(target)) = (
        TestServer::start(Kind::Sqlite),
        TestServer::start(Kind::Sqlite),
    ) else {
        return;
    };
    source.clock.set(Utc::now());
    source.add_reseller("cln", &[1]);
    target.add_reseller("acme", &[1]);
    let output = import(&target, &source, &[])
        .env("IPLS_IMPORT_SECRET", "not-the-secret-0123456789")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("Authorization failed"), "{error}");
}

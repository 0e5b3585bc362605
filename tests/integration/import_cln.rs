//! `ipls import cln` against a second ipls acting as CLN: 10,000 licenses on Postgres (2,000 on
//! SQLite), a dry run that changes nothing, an import killed halfway and run again, a
//! conflict with another local reseller reported and not fatal, and a third run that adds
//! nothing; dates, registrations and check-in data arrive as the source had them.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;

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
    // The importer mints tokens from the real clock: the source's clock follows it, however
    // long the test has run (past the token window on a loaded machine).
    source.clock.set(Utc::now());
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

/// The last line, and the exit status: 3 while conflicts or failures remain.
fn summary(output: &Output, exit: i32) -> String {
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(exit),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
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

    let dry = summary(
        &import(&target, &source, &["--dry-run"]).output().unwrap(),
        3,
    );
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
    // A COMMIT the importer sent just before it died is still carried out by its Postgres
    // backend: the count is read once it has stopped changing (CI saw one license more).
    let mut before = acme_count(&target);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = acme_count(&target);
        if now == before {
            break;
        }
        before = now;
    }
    assert!(
        before < i64::from(n - 1),
        "killed after it finished: nothing to resume"
    );

    let second = summary(&import(&target, &source, &[]).output().unwrap(), 3);
    assert_eq!(
        second,
        format!(
            "imported {}, already present {before}, conflicts 1, failed 0",
            i64::from(n - 1) - before
        )
    );
    assert_eq!(acme_count(&target), i64::from(n - 1));
    let third = summary(&import(&target, &source, &[]).output().unwrap(), 3);
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
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(3),
        "a conflict remains: {out} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains("11.0.0.7: type 1 is held by reseller other"),
        "{out}"
    );
    // Once the conflict is resolved, the import completes and says so with exit 0.
    other.ok("remove", "ip=11.0.0.7&type=1");
    let done = summary(&import(&target, &source, &[]).output().unwrap(), 0);
    assert_eq!(
        done,
        format!(
            "imported 1, already present {}, conflicts 0, failed 0",
            n - 1
        )
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

/// `plain` GET on `addr` (no token): the key registration calls.
fn plain(addr: std::net::SocketAddr, target: &str) -> serde_json::Value {
    crate::common::http::request(addr, "GET", target, &[], b"").json()
}

crate::on_both_kinds! {
    fn keys_els_settings_and_routed_types_come_over(kind) {
        let (Some(source), Some(target), Some(cln)) = (
            TestServer::start(Kind::Sqlite),
            TestServer::start(kind),
            TestServer::start(Kind::Sqlite),
        ) else {
            return;
        };
        for server in [&source, &cln] {
            server.clock.set(Utc::now());
        }
        let account = source.add_reseller("cln", &[1, 16, 41, 3]);
        account.ok("register", "ip=12.0.0.1&type=1&els_allowed=true");
        account.ok("register", "ip=12.0.0.2&type=16");
        let kernelcare = account.ok("/api/kcare/key/create.json", "limit=5&note=web%20farm");
        let kernelcare = kernelcare.as_str().unwrap().to_string();
        for host in ["h1", "h2"] {
            let done = plain(source.addr, &format!("/api/kcare/register_server.json?key={kernelcare}&hostname={host}"));
            assert_eq!(done["data"]["code"], 0, "{done}");
        }
        let imunify = account.ok("/api/im/key/create.json", "code=360_1&limit=3&note=im");
        let imunify = imunify["key"].as_str().unwrap().to_string();
        plain(source.addr, &format!("/api/im/register_server.json?key={imunify}&hostname=x"));
        // A CloudLinux OS key (API v2) and an ELS key, one server each.
        let target_v2 = format!("/api/v2/cl/keys?limit=4&productType=CL&note=os&token={}", account.token());
        let cloudlinux = crate::common::http::request(source.addr, "POST", &target_v2, &[], b"").json();
        let cloudlinux = cloudlinux["data"]["key"].as_str().unwrap().to_string();
        plain(source.addr, &format!("/api/v2/cl/register_server.json?key={cloudlinux}&hostname=os1"));
        let els = account.ok("/api/els/key/create.json", "productType=CELS&limit=2&note=legacy");
        let els = els["key"].as_str().unwrap().to_string();
        plain(source.addr, &format!("/api/els/register_server.json?key={els}&hostname=old1"));
        let source_servers: i64 = source.count("SELECT count(*) AS n FROM key_servers");
        assert_eq!(source_servers, 5);

        // Type 16 is carried to the upstream `cln`, which does not hold 12.0.0.2 yet.
        let partner = cln.add_reseller("partner", &[16]);
        target.add_reseller("acme", &[1, 16, 41, 3]);
        ipls::domain::upstream::upstreams::add(
            &mut target.conn(),
            &ipls::domain::upstream::upstreams::NewUpstream {
                name: "cln",
                url: &format!("http://{}", cln.addr),
                login: "partner",
                secret: &partner.secret,
                types: &[16],
                concurrency: 8,
                rate_per_second: 1_000,
                now: target.now().naive_utc(),
            },
            &crate::common::test_secrets(),
        )
        .unwrap();

        let first = import(&target, &source, &[]).output().unwrap();
        assert_eq!(summary(&first, 0), "imported 2, already present 0, conflicts 0, failed 0");
        let text = String::from_utf8_lossy(&first.stdout).to_string();
        assert!(text.contains("keys: imported 8, already present 0"), "four keys and the defaults: {text}");
        assert!(!text.contains("ELS"), "the source says every license's ELS setting: {text}");
        assert_eq!(target.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '12.0.0.1' AND els_allowed = true"), 1);
        // The routed license was registered at its upstream before it counted here.
        assert_eq!(partner.ok("check", "ip=12.0.0.2"), serde_json::json!([16]));
        assert_eq!(target.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '12.0.0.2'"), 1);
        assert_eq!(target.count("SELECT count(*) AS n FROM ip_licenses WHERE relay_state IS NOT NULL"), 0);
        // Keys keep their text, limit, note and servers (with their ids).
        assert_eq!(target.count(&format!(
            "SELECT count(*) AS n FROM activation_keys k JOIN resellers r ON r.id = k.reseller_id \
             WHERE r.login = 'acme' AND k.key_text = '{kernelcare}' AND k.server_limit = 5 \
             AND k.note = 'web farm' AND k.servers = 2")), 1);
        assert_eq!(target.count(&format!(
            "SELECT count(*) AS n FROM key_servers s JOIN activation_keys k ON k.id = s.key_id \
             WHERE k.key_text = '{imunify}'")), 1);
        // CloudLinux OS and ELS servers come with their key, address and hostname, and a new
        // server id (those calls list servers by number).
        for (key, limit, host) in [(&cloudlinux, 4, "os1"), (&els, 2, "old1")] {
            assert_eq!(target.count(&format!(
                "SELECT count(*) AS n FROM key_servers s JOIN activation_keys k ON k.id = s.key_id \
                 WHERE k.key_text = '{key}' AND k.server_limit = {limit} AND k.servers = 1 \
                 AND s.hostname = '{host}'")), 1, "{kind:?}: {key}");
        }
        let same_ids = target.count("SELECT count(*) AS n FROM key_servers");
        assert_eq!(same_ids, 5);

        let again = import(&target, &source, &[]).output().unwrap();
        assert_eq!(summary(&again, 0), "imported 0, already present 2, conflicts 0, failed 0");
        assert!(String::from_utf8_lossy(&again.stdout).contains("keys: imported 0, already present 8"));

        // Read from the upstream itself: what it holds of its types stays there, claimed.
        partner.ok("register", "ip=12.0.0.3&type=16");
        let from_upstream = Command::new(env!("CARGO_BIN_EXE_ipls"))
            .args(["import", "cln", "--upstream", "cln", "--into-reseller", "acme", "--no-keys"])
            .env("DATABASE_URL", target.db.url_text())
            .env("IPLS_MASTER_KEY", TEST_MASTER_KEY)
            .output()
            .unwrap();
        assert_eq!(summary(&from_upstream, 0), "imported 1, already present 1, conflicts 0, failed 0");
        assert_eq!(target.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '12.0.0.3'"), 1);
        assert_eq!(target.count(
            "SELECT count(*) AS n FROM license_events WHERE ip = '12.0.0.3' AND source = 'import:127.0.0.1'"), 1);
    }
}

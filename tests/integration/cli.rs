//! The operator CLI, run as the real binary against real databases.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use ipls::auth;

use crate::common::process::{ipls_cli, succeeded, ServeProcess};
use crate::common::{http, Kind, TestDatabase};

/// Runs the CLI on `db` with the test master key (the key file default has its own test).
fn ipls(db: &TestDatabase, args: &[&str]) -> Output {
    ipls_cli(db, Some(crate::common::TEST_MASTER_KEY), args)
}

fn fails_cleanly(output: &Output, needle: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn reseller_lifecycle(kind: Kind) {
    let Some(db) = TestDatabase::create_migrated(kind) else {
        return;
    };
    let out = succeeded(&ipls(
        &db,
        &[
            "reseller", "add", "acme", "--types", "1,16,41", "--limit", "16=5",
        ],
    ));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("secret printed once")
        .to_string();
    assert_eq!(secret.len(), 48);

    let token = succeeded(&ipls(&db, &["token", "acme"])).trim().to_string();
    let parsed = auth::parse(&token).expect("a well-formed token");
    assert!(auth::verify(&parsed, &secret, true));
    let hmac = succeeded(&ipls(&db, &["token", "acme", "--hmac"]))
        .trim()
        .to_string();
    assert_eq!(
        auth::parse(&hmac).expect("token").form,
        auth::HashForm::HmacSha256
    );

    let show = succeeded(&ipls(&db, &["reseller", "show", "acme"]));
    assert!(show.contains("1, 16 (limit 5), 41"), "{show}");
    assert!(!show.contains(&secret), "show never prints the secret");

    succeeded(&ipls(
        &db,
        &["reseller", "block", "acme", "--reason", "unpaid"],
    ));
    assert!(succeeded(&ipls(&db, &["reseller", "list"])).contains("blocked"));
    succeeded(&ipls(&db, &["reseller", "unblock", "acme"]));
    let set = succeeded(&ipls(
        &db,
        &[
            "reseller",
            "set",
            "acme",
            "--types",
            "1,16",
            "--legacy-sha1",
            "off",
        ],
    ));
    assert!(
        set.contains("legacy sha1:  no") && set.contains("1, 16 (limit 5)"),
        "{set}"
    );

    let allowed = succeeded(&ipls(
        &db,
        &[
            "reseller",
            "set",
            "acme",
            "--allow-from",
            "198.51.100.0/24, 203.0.113.7",
        ],
    ));
    assert!(
        allowed.contains("allow from:   198.51.100.0/24,203.0.113.7/32"),
        "{allowed}"
    );
    let anywhere = succeeded(&ipls(&db, &["reseller", "set", "acme", "--allow-from", ""]));
    assert!(anywhere.contains("allow from:   anywhere"), "{anywhere}");
    fails_cleanly(
        &ipls(
            &db,
            &["reseller", "set", "acme", "--allow-from", "10.0.0.0/33"],
        ),
        "--allow-from",
    );

    let rotated = succeeded(&ipls(&db, &["reseller", "rotate-secret", "acme"]));
    assert!(!rotated.contains(&secret));

    fails_cleanly(&ipls(&db, &["reseller", "add", "acme"]), "already exists");
    fails_cleanly(&ipls(&db, &["reseller", "show", "nobody"]), "nobody");
    fails_cleanly(
        &ipls(&db, &["reseller", "add", "bad login"]),
        "invalid login",
    );
    fails_cleanly(
        &ipls(
            &db,
            &["reseller", "add", "x", "--types", "1", "--limit", "16=2"],
        ),
        "not enabled",
    );
    fails_cleanly(
        &ipls(&db, &["reseller", "add", "y", "--types", "12345"]),
        "unknown license type 12345",
    );
    fails_cleanly(
        &ipls(&db, &["license", "list", "--ip", "nope"]),
        "not an IP address",
    );
    assert!(
        succeeded(&ipls(&db, &["license", "list", "--reseller", "acme"])).contains("0 license(s)")
    );
}

#[test]
fn reseller_lifecycle_sqlite() {
    reseller_lifecycle(Kind::Sqlite);
}

#[test]
fn reseller_lifecycle_postgres() {
    reseller_lifecycle(Kind::Postgres);
}

#[test]
fn bad_database_url_is_one_clear_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(["--database-url", "mysql://root@localhost/x", "migrate"])
        .output()
        .expect("run ipls");
    fails_cleanly(&output, "unsupported scheme");
    let output = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args([
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
            "migrate",
        ])
        .output()
        .expect("run ipls");
    fails_cleanly(&output, "cannot connect");
}

/// `ipls serve --demo` on an empty database prints a curl line that works as printed.
#[test]
fn demo_prints_a_working_curl_line() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).expect("sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("DATABASE_URL", db.url_text())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ipls serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map(|l| l.expect("line"))
        .find(|l| l.contains("register.json"))
        .expect("a curl line");
    let console = lines
        .by_ref()
        .map(|l| l.expect("line"))
        .find(|l| l.starts_with("Console: "))
        .expect("a console line");
    // Keep reading, so the server never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let url = line.split('\'').nth(1).expect("quoted URL");
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, target) = rest.split_at(rest.find('/').expect("path"));
    let response = http::request(
        host.parse().expect("socket address"),
        "GET",
        target,
        &[],
        b"",
    );
    // "Console: URL (log in as EMAIL with password PASSWORD)": those credentials work.
    let words: Vec<&str> = console.trim_end_matches(')').split_whitespace().collect();
    assert!(words[1].ends_with("/console/"), "{console}");
    let (email, password) = (words[5], words[8]);
    let (login, _) = crate::common::console::try_log_in_at(
        host.parse().expect("socket address"),
        email,
        password,
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
    let value = response.json();
    assert_eq!(value["success"], true, "{value}");
    assert_eq!(value["data"]["ip"], "203.0.113.10");
    assert_eq!(login.status, 303, "{console}: {}", login.text());
}

/// Reports and the audit trail over a history written in January 2020.
fn reports_and_audit(kind: Kind) {
    use chrono::NaiveDate;
    use ipls::domain::licenses::{register, remove, Registration};
    use ipls::domain::resellers::{create, Grants, NewAccount};
    use ipls::domain::{Actor, Policy};

    let Some(db) = TestDatabase::create_migrated(kind) else {
        return;
    };
    ipls::db::migrate::run_pending(&db.url).expect("migrate");
    let mut conn = ipls::db::establish(&db.url).expect("connect");
    let jan = |d: u32| {
        NaiveDate::from_ymd_opt(2020, 1, d)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap()
    };
    let grants = Grants {
        limits: [(1, None), (16, None)].into_iter().collect(),
    };
    let account = NewAccount {
        login: "acme",
        secret: "acme-secret-0123456789",
        trial: false,
        grants: &grants,
        now: jan(1),
        by: &ipls::domain::Source::Cli,
    };
    let acme = create(&mut conn, &account, &crate::common::test_secrets()).expect("reseller");
    let at = |now| Actor {
        reseller: &acme,
        source: "198.51.100.7",
        now,
    };
    let ip = |s: &str| ipls::domain::ip::LicenseIp::parse(s).unwrap();
    let policy = Policy::default();
    register(
        &mut conn,
        &at(jan(21)),
        &policy,
        &Registration {
            ip: ip("203.0.113.1"),
            type_id: 1,
            els_allowed: false,
        },
    )
    .unwrap();
    register(
        &mut conn,
        &at(jan(22)),
        &policy,
        &Registration {
            ip: ip("203.0.113.2"),
            type_id: 16,
            els_allowed: false,
        },
    )
    .unwrap();
    remove(&mut conn, &at(jan(23)), &ip("203.0.113.2"), None).unwrap();

    let stale = succeeded(&ipls(
        &db,
        &["report", "stale", "--older-than", "7d", "--format", "csv"],
    ));
    let lines: Vec<&str> = stale.lines().collect();
    assert_eq!(
        lines[0],
        "reseller,ip,type,created_at,last_checkin,server_info"
    );
    assert_eq!(lines[1], "acme,203.0.113.1,1,2020-01-21 08:00,,");
    assert_eq!(lines.len(), 2, "{stale}");

    succeeded(&ipls(&db, &["price", "set", "1", "31"]));
    let usage = succeeded(&ipls(
        &db,
        &["report", "usage", "--month", "2020-01", "--format", "json"],
    ));
    let rows: serde_json::Value = serde_json::from_str(&usage).expect("json");
    assert_eq!(
        rows,
        serde_json::json!([
            {"month": "2020-01", "reseller": "acme", "type": 1, "license_days": 11, "peak": 1, "amount_cents": 1100},
            {"month": "2020-01", "reseller": "acme", "type": 16, "license_days": 2, "peak": 1, "amount_cents": null}
        ])
    );
    let table = succeeded(&ipls(
        &db,
        &[
            "report",
            "usage",
            "--month",
            "2020-01",
            "--reseller",
            "acme",
        ],
    ));
    assert!(
        table.starts_with("MONTH") && table.contains("11.00"),
        "{table}"
    );

    let audit = succeeded(&ipls(
        &db,
        &["audit", "--ip", "203.0.113.2", "--format", "csv"],
    ));
    let lines: Vec<&str> = audit.lines().collect();
    assert_eq!(
        lines[1],
        "3,2020-01-22 08:00,acme,register,203.0.113.2,16,,198.51.100.7"
    );
    assert_eq!(
        lines[2],
        "4,2020-01-23 08:00,acme,remove,203.0.113.2,16,,198.51.100.7"
    );
    assert_eq!(lines.len(), 3);
    let since = succeeded(&ipls(
        &db,
        &["audit", "--since", "2020-01-22T12:00", "--format", "csv"],
    ));
    assert_eq!(since.lines().count(), 2, "{since}");
    fails_cleanly(&ipls(&db, &["audit", "--since", "yesterday"]), "--since");
    fails_cleanly(
        &ipls(&db, &["report", "usage", "--month", "2020-1"]),
        "YYYY-MM",
    );
    fails_cleanly(
        &ipls(&db, &["price", "set", "999", "5"]),
        "unknown license type 999",
    );
    fails_cleanly(&ipls(&db, &["price", "set", "1", "1.234"]), "amount");
}

#[test]
fn reports_and_audit_sqlite() {
    reports_and_audit(Kind::Sqlite);
}

#[test]
fn reports_and_audit_postgres() {
    reports_and_audit(Kind::Postgres);
}

/// One structured access-log line per request, with the token redacted.
#[test]
fn access_log_lines_redact_tokens() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).expect("sqlite");
    let out = succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "1"]));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_string();
    let server = ServeProcess::start(&db.url_text(), &[]);
    let token = auth::mint(
        "acme",
        &secret,
        chrono::Utc::now().timestamp(),
        auth::HashForm::LegacySha1,
    );
    let target = format!("/api/ipl/check.json?ip=203.0.113.1&token={token}");
    assert_eq!(
        http::request(server.addr, "GET", &target, &[], b"").json()["success"],
        true
    );
    let line = server.log_line("ipls::access");
    assert!(
        line.contains(r#"target="/api/ipl/check.json?ip=203.0.113.1&token=***""#),
        "{line}"
    );
    assert!(
        line.contains(r#"endpoint="/api/ipl/check.json""#) && line.contains("status=200"),
        "{line}"
    );
    assert!(
        !line.contains(&token) && !line.contains(token.rsplit('|').next().unwrap()),
        "{line}"
    );
}

/// Multi-byte characters in a value reach the parsers without panicking (byte slicing used
/// to split `7€` inside its last character).
#[test]
fn multibyte_values_are_refused_not_panicked_on() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).unwrap();
    for args in [
        &["report", "stale", "--older-than", "7€"][..],
        &["audit", "--since", "€"][..],
        &["reseller", "add", "x€", "--types", "1,€"][..],
    ] {
        let output = ipls(&db, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error"), "{args:?}: {stderr}");
    }
}

/// Usage errors are one line like every other error, with exit status 2; `--help` is still
/// whole; a failure is status 1; every listing speaks JSON.
#[test]
fn usage_errors_are_one_line_and_listings_speak_json() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).unwrap();
    for args in [
        &["--bogus"][..],
        &["reseller", "add"][..],
        &["serve", "--workers", "x"][..],
        &["webhook", "deliveries", "1", "--limit", "0"][..],
        &["reseller", "list", "--format", "xml"][..],
    ] {
        let output = ipls(&db, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains("see ipls --help"),
            "{stderr}"
        );
    }
    let missing = ipls(&db, &["reseller", "add"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("<LOGIN>"));
    let help = ipls(&db, &["reseller", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).lines().count() > 5);
    assert_eq!(
        ipls(&db, &["reseller", "show", "nobody"]).status.code(),
        Some(1)
    );

    succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "1"]));
    succeeded(&ipls(&db, &["price", "set", "1", "12.50"]));
    for args in [
        &["reseller", "list"][..],
        &["license", "list"][..],
        &["price", "list"][..],
        &["user", "list"][..],
        &["admin-token", "list"][..],
        &["webhook", "list"][..],
        &["report", "stale"][..],
        &["report", "usage"][..],
        &["audit"][..],
    ] {
        let mut with_format = args.to_vec();
        with_format.extend(["--format", "json"]);
        let out = succeeded(&ipls(&db, &with_format));
        let value: serde_json::Value = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"));
        assert!(value.is_array(), "{args:?}: {value}");
    }
    let resellers: serde_json::Value = serde_json::from_str(&succeeded(&ipls(
        &db,
        &["reseller", "list", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(resellers[0]["login"], "acme");
}

//! What every command does alike: one-line errors with the documented exit statuses,
//! listings in JSON, no panic on any value, and the access log's redactions.

use super::*;

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

/// The README's promise (0 success, 1 an error, 2 a usage error) holds for values ipls
/// checks itself, not only for what clap refuses.
#[test]
fn values_ipls_checks_itself_are_usage_errors() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("the exit status is 0 on success, 1 on an error"),
        "the README states the exit statuses"
    );
    let db = TestDatabase::create_migrated(Kind::Sqlite).unwrap();
    succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "1,16"]));
    for args in [
        &["price", "set", "1", "abc"][..],
        &["report", "usage", "--month", "2026-13"][..],
        &["license", "list", "--ip", "300.1.1.1"][..],
        &["audit", "--ip", "nope"][..],
        &["reseller", "set", "acme", "--allow-from", "10.0.0.0/33"][..],
        &["key", "create", "--reseller", "acme", "--product", "nope"][..],
        &["key", "set-cidr", "KEYKEYKEYKEYKEY0", "10.0.0.0/40"][..],
        // Checked by the domain (error::FACES: invalid is exit 2 too).
        &["reseller", "add", "bad login"][..],
        &["reseller", "block", "acme", "--reason", "   "][..],
    ] {
        let output = ipls(&db, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
    // A rule or a missing thing is an error (1), not a usage error.
    for args in [
        &["reseller", "show", "nobody"][..],
        &["reseller", "add", "acme"][..],
        &["key", "delete", "KEYKEYKEYKEYKEY0"][..],
    ] {
        assert_eq!(ipls(&db, args).status.code(), Some(1), "{args:?}");
    }
}

/// A reader that stops early (`ipls license list | head -1`) ends the listing quietly.
#[test]
fn a_closed_pipe_ends_a_listing_quietly() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).unwrap();
    succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "1"]));
    {
        use ipls::domain::licenses::{register, Registration};
        use ipls::domain::{Actor, Policy};
        let mut conn = ipls::db::establish(&db.url).unwrap();
        let acme = ipls::domain::resellers::get(&mut conn, "acme").unwrap();
        let actor = Actor::new(&acme, "cli", chrono::Utc::now().naive_utc());
        let policy = Policy::default();
        for i in 0..3_000u32 {
            let ip = format!("198.51.{}.{}", 100 + i / 250, 1 + i % 250);
            let request = Registration::of(ipls::domain::ip::LicenseIp::parse(&ip).unwrap(), 1);
            register(&mut conn, &actor, &policy, &request).unwrap();
        }
    }
    for format in ["table", "csv", "json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ipls"))
            .args(["license", "list", "--format", format])
            .env("DATABASE_URL", db.url_text())
            .env("IPLS_MASTER_KEY", crate::common::TEST_MASTER_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone: the rest of the listing meets a closed pipe.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!first.is_empty());
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{format}: {stderr}");
    }
}

/// Activation keys and key servers' ids are credentials too: the access log shows neither.
#[test]
fn access_log_lines_redact_keys_and_server_ids() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).expect("sqlite");
    succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "16"]));
    let key = succeeded(&ipls(
        &db,
        &["key", "create", "--reseller", "acme", "--product", "kcare"],
    ))
    .trim()
    .to_string();
    let server = ServeProcess::start(&db.url_text(), &[("IPLS_ALLOW_PRIVATE_IPS", "true")]);
    let registered = http::request(
        server.addr,
        "GET",
        &format!("/api/kcare/register_server.json?key={key}&hostname=h1"),
        &[],
        b"",
    )
    .json();
    let server_id = registered["data"]["server_id"]
        .as_str()
        .unwrap()
        .to_string();
    let line = server.log_line("register_server.json");
    assert!(line.contains("key=***&hostname=h1"), "{line}");
    assert!(!line.contains(&key), "{line}");
    http::request(
        server.addr,
        "GET",
        &format!("/api/server/checkin.json?server_id={server_id}"),
        &[],
        b"",
    );
    let line = server.log_line("checkin.json");
    assert!(line.contains("server_id=***"), "{line}");
    assert!(!line.contains(&server_id), "{line}");
}

/// A Postgres password given as `?password=` is masked in `serve`'s start line and in
/// `ipls doctor`.
#[test]
fn database_passwords_are_masked() {
    let Some(db) = TestDatabase::create_migrated(Kind::Postgres) else {
        return;
    };
    let url = db.url_text();
    let separator = if url.contains('?') { '&' } else { '?' };
    let with_password = format!("{url}{separator}password=s3cret-pw&sslmode=disable");
    let doctor = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .arg("doctor")
        .env("DATABASE_URL", &with_password)
        .env("IPLS_MASTER_KEY", crate::common::TEST_MASTER_KEY)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert!(printed.contains("password=***"), "{printed}");
    assert!(!printed.contains("s3cret-pw"), "{printed}");
    let server = ServeProcess::start(&with_password, &[]);
    let line = &server.listening_line;
    assert!(line.contains("password=***"), "{line}");
    assert!(!line.contains("s3cret-pw"), "{line}");
}

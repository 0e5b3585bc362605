//! The operator CLI, run as the real binary against real databases.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use ipls::auth;

use crate::common::{http, Kind, TestDatabase};

fn ipls(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(args)
        .env("DATABASE_URL", db.url_text())
        .env_remove("RUST_LOG")
        .output()
        .expect("run ipls")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
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
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    let out = stdout(&ipls(
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

    let token = stdout(&ipls(&db, &["token", "acme"])).trim().to_string();
    let parsed = auth::parse(&token).expect("a well-formed token");
    assert!(auth::verify(&parsed, &secret, true));
    let hmac = stdout(&ipls(&db, &["token", "acme", "--hmac"]))
        .trim()
        .to_string();
    assert_eq!(
        auth::parse(&hmac).expect("token").form,
        auth::HashForm::HmacSha256
    );

    let show = stdout(&ipls(&db, &["reseller", "show", "acme"]));
    assert!(show.contains("1, 16 (limit 5), 41"), "{show}");
    assert!(!show.contains(&secret), "show never prints the secret");

    stdout(&ipls(
        &db,
        &["reseller", "block", "acme", "--reason", "unpaid"],
    ));
    assert!(stdout(&ipls(&db, &["reseller", "list"])).contains("blocked"));
    stdout(&ipls(&db, &["reseller", "unblock", "acme"]));
    let set = stdout(&ipls(
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

    let rotated = stdout(&ipls(&db, &["reseller", "rotate-secret", "acme"]));
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
        "invalid IP",
    );
    assert!(
        stdout(&ipls(&db, &["license", "list", "--reseller", "acme"])).contains("0 license(s)")
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
    let db = TestDatabase::create(Kind::Sqlite).expect("sqlite");
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
    let _ = child.kill();
    let _ = child.wait();
    let value = response.json();
    assert_eq!(value["success"], true, "{value}");
    assert_eq!(value["data"]["ip"], "203.0.113.10");
}

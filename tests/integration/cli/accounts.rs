//! Accounts from the command line: a reseller's whole life, the demo, a bad database URL.

use super::*;

crate::on_both_kinds! {
    fn reseller_lifecycle(kind) {
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

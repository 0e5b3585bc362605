//! `ipls rekey` while an instance runs: the instance opens secrets sealed under the new key
//! (read from the key file and its `.new` companion) without a restart.

use std::process::Command;

use ipls::auth::{self, HashForm};

use crate::common::process::ServeProcess;
use crate::common::{http, Kind, TestDatabase};

/// The CLI with the default key file beside the SQLite database (no IPLS_MASTER_KEY).
fn ipls(db: &TestDatabase, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(args)
        .env("DATABASE_URL", db.url_text())
        .env_remove("IPLS_MASTER_KEY")
        .env_remove("IPLS_MASTER_KEY_FILE")
        .env_remove("RUST_LOG")
        .output()
        .expect("run ipls");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn rekey_does_not_break_a_running_instance() {
    let db = TestDatabase::create(Kind::Sqlite).unwrap();
    let server = ServeProcess::start_bound(
        &db.url_text(),
        "127.0.0.1:0",
        &[("IPLS_MASTER_KEY", ""), ("IPLS_AUTH_CACHE_SECS", "0")],
    );
    let check = |login: &str, secret: &str| {
        let token = auth::mint(
            login,
            secret,
            chrono::Utc::now().timestamp(),
            HashForm::LegacySha1,
        );
        http::request(
            server.addr,
            "GET",
            &format!("/api/ipl/check.json?ip=203.0.113.1&token={token}"),
            &[],
            b"",
        )
        .json()
    };
    let old_secret = "secret-of-old-0123456789";
    ipls(
        &db,
        &[
            "reseller", "add", "old", "--types", "1", "--secret", old_secret,
        ],
    );
    assert_eq!(check("old", old_secret)["success"], true);

    let out = ipls(&db, &["rekey"]);
    assert!(out.contains("re-sealed 1 secret(s)"), "{out}");
    // The running instance opens the re-sealed secret and one sealed after the rotation.
    assert_eq!(check("old", old_secret)["success"], true);
    let new_secret = "secret-of-new-0123456789";
    ipls(
        &db,
        &[
            "reseller", "add", "new", "--types", "1", "--secret", new_secret,
        ],
    );
    assert_eq!(check("new", new_secret)["success"], true);
}

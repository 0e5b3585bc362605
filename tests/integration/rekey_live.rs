//! `ipls rekey` while an instance runs: the instance opens secrets sealed under the new key
//! (read from the key file and its `.new` companion) without a restart.

use ipls::auth::{self, HashForm};

use crate::common::process::{ipls_cli, succeeded, ServeProcess};
use crate::common::{http, Kind, TestDatabase};

/// The CLI with the default key file beside the SQLite database (no IPLS_MASTER_KEY).
fn ipls(db: &TestDatabase, args: &[&str]) -> String {
    succeeded(&ipls_cli(db, None, args))
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

//! Reseller secrets at rest: sealed under the master key, never readable from a dump, the
//! key file private, plaintext rows sealed at start-up, `ipls rekey`.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use diesel::prelude::*;
use ipls::auth;
use ipls::db::models::NewReseller;
use ipls::db::schema::resellers;

use crate::common::process::ipls_cli;
use crate::common::{Kind, TestDatabase, TEST_MASTER_KEY};

fn run(db: &TestDatabase, key: Option<&str>, args: &[&str]) -> Output {
    ipls_cli(db, key, args)
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn error_line(output: Output) -> String {
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).trim().to_string()
}

fn stored_secret(db: &TestDatabase, login: &str) -> String {
    resellers::table
        .filter(resellers::login.eq(login))
        .select(resellers::secret)
        .first(&mut ipls::db::establish(&db.url).unwrap())
        .unwrap()
}

fn token_verifies(db: &TestDatabase, key: Option<&str>, login: &str, secret: &str) -> bool {
    let token = ok(run(db, key, &["token", login])).trim().to_string();
    auth::verify(&auth::parse(&token).unwrap(), secret, true)
}

fn printed_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_string()
}

#[test]
fn sqlite_key_file_is_created_private_and_seals_secrets() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).unwrap();
    let secret = printed_secret(&ok(run(
        &db,
        None,
        &["reseller", "add", "acme", "--types", "1"],
    )));
    let key_file = format!("{}.key", db.url.target);
    let mode = std::fs::metadata(&key_file)
        .expect("key file beside the database")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored = stored_secret(&db, "acme");
    assert!(
        stored.starts_with("v2:") && !stored.contains(&secret),
        "{stored}"
    );
    // The whole database file holds no trace of the secret.
    let raw = std::fs::read(&db.url.target).unwrap();
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(token_verifies(&db, None, "acme", &secret));

    // rekey with a key file: new key on disk, secrets re-sealed, the same secret still works.
    let old_key = std::fs::read_to_string(&key_file).unwrap();
    let out = ok(run(&db, None, &["rekey"]));
    assert!(out.contains("re-sealed 1 secret(s)"), "{out}");
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_ne!(stored_secret(&db, "acme"), stored);
    assert!(token_verifies(&db, None, "acme", &secret));
    // The old key no longer opens anything: start-up refuses with one clear line.
    let line = error_line(run(&db, Some(old_key.trim()), &["reseller", "list"]));
    assert!(
        line.contains("master key does not open the stored secrets"),
        "{line}"
    );
}

fn plaintext_rows_are_sealed_at_start(kind: Kind) {
    let Some(db) = TestDatabase::create(kind) else {
        return;
    };
    ipls::db::migrate::run_pending(&db.url).unwrap();
    let plain = "an-old-plaintext-secret-42";
    diesel::insert_into(resellers::table)
        .values(NewReseller {
            login: "legacy",
            secret: plain,
            api_enabled: true,
            legacy_sha1: true,
            trial: false,
            created_at: chrono::Utc::now().naive_utc(),
        })
        .execute(&mut ipls::db::establish(&db.url).unwrap())
        .unwrap();
    ok(run(&db, Some(TEST_MASTER_KEY), &["reseller", "list"]));
    let stored = stored_secret(&db, "legacy");
    assert!(
        stored.starts_with("v2:") && !stored.contains(plain),
        "{stored}"
    );
    assert!(token_verifies(&db, Some(TEST_MASTER_KEY), "legacy", plain));
}

#[test]
fn plaintext_rows_are_sealed_at_start_sqlite() {
    plaintext_rows_are_sealed_at_start(Kind::Sqlite);
}

#[test]
fn plaintext_rows_are_sealed_at_start_postgres() {
    plaintext_rows_are_sealed_at_start(Kind::Postgres);
}

#[test]
fn postgres_dump_reveals_no_secret_and_env_keys_rekey() {
    let Some(db) = TestDatabase::create_migrated(Kind::Postgres) else {
        return;
    };
    let line = error_line(run(&db, None, &["reseller", "list"]));
    assert!(
        line.contains("IPLS_MASTER_KEY"),
        "Postgres needs a configured key: {line}"
    );
    let secret = printed_secret(&ok(run(
        &db,
        Some(TEST_MASTER_KEY),
        &["reseller", "add", "acme"],
    )));
    let dump = Command::new("pg_dump")
        .arg(&db.url.target)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("acme") && dump.contains("v2:"),
        "the dump has the sealed row"
    );
    assert!(!dump.contains(&secret), "a dump alone reveals no secret");

    let out = ok(run(&db, Some(TEST_MASTER_KEY), &["rekey"]));
    let new_key = out
        .lines()
        .find_map(|l| l.strip_prefix("IPLS_MASTER_KEY="))
        .expect("the new key is printed once")
        .to_string();
    assert!(token_verifies(&db, Some(&new_key), "acme", &secret));
    let line = error_line(run(&db, Some(TEST_MASTER_KEY), &["token", "acme"]));
    assert!(line.contains("does not open"), "{line}");
    let line = error_line(run(&db, Some(&new_key), &["rekey", "--new-key", "abc"]));
    assert!(line.contains("--new-key"), "{line}");
}

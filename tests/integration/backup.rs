//! `ipls backup` of a live SQLite database while writes run, and `ipls restore`: the copy
//! opens, passes `PRAGMA integrity_check`, holds every write acknowledged before the backup
//! began, and comes with its key file; restore checks the pair before putting it in place.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::common::process::{succeeded, ServeProcess};
use crate::common::{Kind, Reseller, TestDatabase};

const SECRET: &str = "backup-test-secret-0123456789";

/// The CLI on `url`, with the key taken from the key file beside a SQLite database.
fn ipls(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("IPLS_MASTER_KEY")
        .env_remove("IPLS_MASTER_KEY_FILE")
        .output()
        .expect("run ipls")
}

fn failed(output: &Output) -> String {
    assert!(!output.status.success(), "should fail: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ips_in(path: &std::path::Path) -> HashSet<String> {
    let url = ipls::db::DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
    let mut conn = ipls::db::establish(&url).unwrap();
    use diesel::prelude::*;
    use ipls::db::schema::ip_licenses;
    ip_licenses::table
        .select(ip_licenses::ip)
        .load::<String>(&mut conn)
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn a_backup_taken_under_writes_holds_every_acknowledged_write_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let url = format!("sqlite://{}", live.display());
    succeeded(&ipls(&url, &["migrate"]));
    succeeded(&ipls(
        &url,
        &[
            "reseller", "add", "acme", "--types", "1", "--secret", SECRET,
        ],
    ));
    assert!(
        dir.path().join("live.db.key").exists(),
        "the key file beside the database"
    );
    // The server reads the same key file (an empty IPLS_MASTER_KEY is no key).
    let server = ServeProcess::start(
        &url,
        &[("IPLS_MASTER_KEY", ""), ("IPLS_ALLOW_PRIVATE_IPS", "true")],
    );
    let acme = Reseller {
        login: "acme".into(),
        secret: SECRET.into(),
        addr: server.addr,
        clock: ipls::clock::ManualClock::new(Utc::now()),
    };

    // One writer registers addresses one after another, noting each acknowledged one.
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, acme) = (acknowledged.clone(), stop.clone(), acme.clone());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let ip = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
                let answer = acme.json("register", &format!("ip={ip}&type=1"));
                if answer["success"] == true {
                    acknowledged.lock().unwrap().push((ip, Instant::now()));
                }
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 300 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let copy = dir.path().join("copy.db");
    let began = Instant::now();
    let out = succeeded(&ipls(&url, &["backup", copy.to_str().unwrap()]));
    let ended = Instant::now();
    // Writes went on during the backup and after it.
    let after = acknowledged.lock().unwrap().len();
    while acknowledged.lock().unwrap().len() < after + 100 {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(out.contains("integrity ok"), "{out}");
    assert!(out.contains("master key file copied"), "{out}");

    let in_copy = ips_in(&copy);
    let acked = acknowledged.lock().unwrap().clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(ip, _)| ip)
        .collect();
    assert!(before.len() >= 300);
    for ip in &before {
        assert!(
            in_copy.contains(*ip),
            "{ip} was acknowledged before the backup began but is not in it"
        );
    }
    let late = acked.iter().filter(|(_, at)| *at > ended).count();
    assert!(late >= 100, "writes continued after the backup");
    assert!(
        in_copy.len() < acked.len(),
        "the copy is of one moment, not of the end"
    );
    let key = dir.path().join("copy.db.key");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        std::fs::read(dir.path().join("live.db.key")).unwrap()
    );
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second backup to the same name is refused.
    assert!(failed(&ipls(&url, &["backup", copy.to_str().unwrap()])).contains("exists"));
    drop(server);

    // Restore into a new place; then the restored database serves acme with its secret.
    let restored = dir.path().join("restored.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let out = succeeded(&ipls(&restored_url, &["restore", copy.to_str().unwrap()]));
    assert!(out.contains("every secret opens"), "{out}");
    assert_eq!(ips_in(&restored), in_copy);
    let shown = succeeded(&ipls(&restored_url, &["reseller", "show", "acme"]));
    assert!(shown.contains("acme"), "{shown}");
    let token = succeeded(&ipls(&restored_url, &["token", "acme"]));
    assert!(token.starts_with("acme|"), "{token}");
    // An existing database is replaced only with --force.
    assert!(failed(&ipls(&restored_url, &["restore", copy.to_str().unwrap()])).contains("--force"));
    succeeded(&ipls(
        &restored_url,
        &["restore", "--force", copy.to_str().unwrap()],
    ));

    // A copy with the wrong key file is refused before anything is put in place.
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let elsewhere = format!("sqlite://{}", dir.path().join("other.db").display());
    assert!(
        failed(&ipls(&elsewhere, &["restore", copy.to_str().unwrap()])).contains("does not open")
    );
    assert!(!dir.path().join("other.db").exists());
}

#[test]
fn postgres_databases_are_pointed_to_pg_dump() {
    let Some(db) = TestDatabase::create_migrated(Kind::Postgres) else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_ipls"))
        .args(["backup", "/tmp/ipls-never-written.db"])
        .env("DATABASE_URL", db.url_text())
        .env("IPLS_MASTER_KEY", crate::common::TEST_MASTER_KEY)
        .output()
        .unwrap();
    let error = failed(&out);
    assert!(
        error.contains("pg_dump") && error.contains("master key"),
        "{error}"
    );
    assert!(!std::path::Path::new("/tmp/ipls-never-written.db").exists());
}

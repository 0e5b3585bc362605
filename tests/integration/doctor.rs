//! `ipls doctor`: one line per check, a non-zero exit on any fail, and nothing changed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use chrono::{Datelike, Duration, Utc};

use crate::common::process::succeeded;
use crate::common::{Kind, TestDatabase, TEST_MASTER_KEY};

fn doctor(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
    command
        .arg("doctor")
        .env_remove("IPLS_MASTER_KEY")
        .env_remove("IPLS_MASTER_KEY_FILE")
        .env_remove("IPLS_TRUSTED_PROXIES")
        .env("IPLS_BIND", "127.0.0.1:0");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run ipls doctor")
}

/// The doctor's line for a check.
fn line(output: &Output, check: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|l| l[6..].starts_with(check))
        .unwrap_or_else(|| panic!("no {check} line: {output:?}"))
        .to_string()
}

fn sqlite_setup(dir: &Path) -> String {
    let url = format!("sqlite://{}", dir.join("ipls.db").display());
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ipls"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("IPLS_MASTER_KEY")
            .env_remove("IPLS_MASTER_KEY_FILE")
            .output()
            .expect("run ipls")
    };
    succeeded(&cli(&["migrate"]));
    succeeded(&cli(&[
        "reseller",
        "add",
        "acme",
        "--secret",
        "0123456789abcdef0123",
    ]));
    url
}

/// A self-signed certificate for localhost valid until `days` from now, and its key.
fn certificate(dir: &Path, name: &str, days: i64) -> (String, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let end = Utc::now() + Duration::days(days);
    params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

#[test]
fn a_sound_sqlite_setup_passes_and_each_fault_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_setup(dir.path());
    let sound = doctor(&[("DATABASE_URL", &url)]);
    assert!(sound.status.success(), "{sound:?}");
    assert!(line(&sound, "database").starts_with("ok"), "{sound:?}");
    assert!(
        line(&sound, "master key").contains("opens all 1 reseller secret"),
        "{sound:?}"
    );
    assert!(line(&sound, "clock").starts_with("ok"));
    assert!(line(&sound, "tls").contains("not configured"));

    // A whole network trusted as proxies is a warning, not a failure.
    let wide = doctor(&[
        ("DATABASE_URL", &url),
        ("IPLS_TRUSTED_PROXIES", "0.0.0.0/0"),
    ]);
    assert!(wide.status.success());
    assert!(
        line(&wide, "trusted proxies").starts_with("warn"),
        "{wide:?}"
    );

    // TLS: a certificate far from expiry, one close to it, and a key of another certificate.
    let (cert, key) = certificate(dir.path(), "good", 90);
    let tls = doctor(&[
        ("DATABASE_URL", &url),
        ("IPLS_TLS_CERT", &cert),
        ("IPLS_TLS_KEY", &key),
    ]);
    assert!(
        line(&tls, "tls").starts_with("ok") && line(&tls, "tls").contains("expires in"),
        "{tls:?}"
    );
    let (soon, soon_key) = certificate(dir.path(), "soon", 10);
    let tls = doctor(&[
        ("DATABASE_URL", &url),
        ("IPLS_TLS_CERT", &soon),
        ("IPLS_TLS_KEY", &soon_key),
    ]);
    assert!(tls.status.success());
    assert!(line(&tls, "tls").starts_with("warn"), "{tls:?}");
    let tls = doctor(&[
        ("DATABASE_URL", &url),
        ("IPLS_TLS_CERT", &cert),
        ("IPLS_TLS_KEY", &soon_key),
    ]);
    assert!(!tls.status.success());
    assert!(line(&tls, "tls").starts_with("fail"), "{tls:?}");

    // A key file others may read.
    let key_file = dir.path().join("ipls.db.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = doctor(&[("DATABASE_URL", &url)]);
    assert!(!loose.status.success());
    assert!(
        line(&loose, "master key").contains("chmod 600"),
        "{loose:?}"
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A setting out of range is reported, not a stop before the report.
    let bad = doctor(&[("DATABASE_URL", &url), ("IPLS_POOL_SIZE", "0")]);
    assert!(!bad.status.success());
    assert!(line(&bad, "settings").contains("IPLS_POOL_SIZE"), "{bad:?}");
}

#[test]
fn a_missing_database_is_reported_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing-here.db");
    let url = format!("sqlite://{}", path.display());
    let missing = doctor(&[("DATABASE_URL", &url)]);
    assert!(!missing.status.success());
    assert!(
        line(&missing, "database").contains("no database"),
        "{missing:?}"
    );
    assert!(!path.exists(), "the doctor created the database");
    assert!(
        !dir.path().join("nothing-here.db.key").exists(),
        "the doctor created a key file"
    );
}

#[test]
fn postgres_schema_and_clock_are_checked() {
    let Some(db) = TestDatabase::create(Kind::Postgres) else {
        return;
    };
    let url = db.url_text();
    let behind = doctor(&[("DATABASE_URL", &url), ("IPLS_MASTER_KEY", TEST_MASTER_KEY)]);
    assert!(!behind.status.success());
    assert!(line(&behind, "database").contains("pending"), "{behind:?}");
    let migrated = TestDatabase::create_migrated(Kind::Postgres).unwrap();
    let sound = doctor(&[
        ("DATABASE_URL", &migrated.url_text()),
        ("IPLS_MASTER_KEY", TEST_MASTER_KEY),
    ]);
    assert!(sound.status.success(), "{sound:?}");
    assert!(line(&sound, "clock").contains("differ by"), "{sound:?}");
    let keyless = doctor(&[("DATABASE_URL", &migrated.url_text())]);
    assert!(
        line(&keyless, "master key").starts_with("fail"),
        "{keyless:?}"
    );
}

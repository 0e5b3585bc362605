//! The CLN-compatible REST API's OpenAPI document (`/api/openapi.json`), checked by
//! third-party tools against a live server on both backends: openapi-spec-validator
//! validates it, and Schemathesis generates requests from it (a valid reseller token is
//! given through its config file) and finds no 5xx, no answer outside the documented schema
//! and status codes, no undocumented method accepted.
//!
//! Every check runs but the two the CLN wire itself forbids (docs/api.md §2, compat):
//! - `negative_data_rejection` expects a 4xx for a request the schema does not allow, but a
//!   refused request is HTTP 200 with `success:false` (a Python client raises on >= 400);
//! - `ignored_auth` expects a 4xx for a call without or with a wrong token, but a failed
//!   authentication is HTTP 200 with `success:false` and `Authorization failed`.
//!
//! The seed is fresh each run (`IPLS_SCHEMATHESIS_SEED`). Tools come from `target/py`, as
//! for the admin API's document.

use std::process::Command;

use crate::admin_openapi::{seed, tool};
use crate::common::{Kind, Options, TestServer};

fn schemathesis_finds_nothing(kind: Kind) {
    let (Some(validator), Some(schemathesis)) =
        (tool("openapi-spec-validator"), tool("schemathesis"))
    else {
        return;
    };
    let Some(srv) = TestServer::start_with(
        kind,
        Options {
            auth_failure_burst: 1_000_000,
            configure: |c| c.checkin_per_minute = 100_000,
            ..Options::default()
        },
    ) else {
        return;
    };
    let acme = srv.add_reseller("acme", &[1, 16, 41, 42, 43]);
    acme.ok("register", "ip=203.0.113.5&type=1");

    let document = srv.get("/api/openapi.json");
    assert_eq!(document.status, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &document.body).unwrap();
    let validated = Command::new(validator).arg(&file).output().unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!("[auth.openapi.token]\napi_key = \"{}\"\n", acme.token()),
    )
    .unwrap();

    let url = format!("http://{}/api/openapi.json", srv.addr);
    // In the temporary directory: Schemathesis keeps a cache (.schemathesis/) where it runs.
    let run = Command::new(schemathesis)
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &url, "--checks", "all", "--exclude-checks"])
        .arg("negative_data_rejection,ignored_auth")
        .args(["--max-examples", "30", "--seed", &seed(), "--no-color"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "Schemathesis found failures (seed {}):\n{report}\n{}",
        seed(),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        report.contains("88 passed"),
        "all 44 endpoints, GET and POST: {report}"
    );
}

#[test]
fn schemathesis_sqlite() {
    schemathesis_finds_nothing(Kind::Sqlite);
}

#[test]
fn schemathesis_postgres() {
    schemathesis_finds_nothing(Kind::Postgres);
}

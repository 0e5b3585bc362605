//! The admin API's OpenAPI document, checked by third-party tools against a live server:
//! openapi-spec-validator validates the document, and Schemathesis (PyPI) generates
//! requests from it, on both backends, with every check and every phase (the stateful one
//! follows the links it infers: create, then read, change, delete what was created), and
//! finds nothing: no 5xx, no answer outside its schema, no undocumented status code, no
//! schema-valid request refused, no invalid request accepted. The seed is fresh each run
//! (`IPLS_SCHEMATHESIS_SEED`, which `.ci/run` sets and prints) and named in a failure.
//!
//! The tools come from `target/py` (`.ci/run` installs them there); without them this test
//! is skipped, unless IPLS_REQUIRE_SCHEMATHESIS=1 (CI).

use std::path::PathBuf;
use std::process::Command;

use ipls::auth::admin::new_token;
use ipls::domain::admin_tokens;

use crate::common::{test_secrets, Kind, Options, TestServer};
use ipls::domain::upstream::upstreams::{self, NewUpstream};

pub(crate) fn tool(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/py/bin")
        .join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("IPLS_REQUIRE_SCHEMATHESIS").as_deref() == Ok("1") {
        panic!(
            "IPLS_REQUIRE_SCHEMATHESIS=1 but {} is missing",
            path.display()
        );
    }
    eprintln!(
        "{} not installed; the OpenAPI check is skipped",
        path.display()
    );
    None
}

fn schemathesis_finds_nothing(kind: Kind) {
    let (Some(validator), Some(schemathesis)) =
        (tool("openapi-spec-validator"), tool("schemathesis"))
    else {
        return;
    };
    // Schemathesis also sends requests without a token or with a wrong one: on loopback they
    // would spend the address's failure budget and turn the rest into 429s.
    let Some(srv) = TestServer::start_with(
        kind,
        Options {
            auth_failure_burst: 1_000_000,
            // Endpoints it adds point at public addresses this machine cannot reach: a test
            // message gives up quickly.
            configure: |c| c.webhooks.timeout = std::time::Duration::from_millis(300),
            ..Options::default()
        },
    ) else {
        return;
    };
    srv.add_reseller("acme", &[1, 41]);
    // Type 41 is carried to a second ipls playing CLN, so that registrations through the
    // relay get real answers.
    let Some(upstream) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    upstream.clock.set(chrono::Utc::now());
    upstream.add_reseller("partner", &[1, 41]);
    upstreams::add(
        &mut srv.conn(),
        &NewUpstream {
            name: "cln",
            url: &format!("http://{}", upstream.addr),
            login: "partner",
            secret: "secret-of-partner-0123456789",
            types: &[41],
            concurrency: 8,
            rate_per_second: 1_000,
            now: srv.now().naive_utc(),
        },
        &test_secrets(),
    )
    .unwrap();
    let (token, hash) = new_token().unwrap();
    admin_tokens::create(
        &mut srv.conn(),
        "schemathesis",
        &hash,
        false,
        srv.now().naive_utc(),
    )
    .unwrap();

    let document = srv.get("/api/admin/v1/openapi.json");
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

    let url = format!("http://{}/api/admin/v1/openapi.json", srv.addr);
    // The stateful phase follows what a POST answered to a GET of it. A dry run answers what
    // it would have created (200, nothing stored), so there it would find nothing: that phase
    // runs with dry_run=false, and the others fuzz dry_run with everything else (the dry runs'
    // own promises are tests/integration/admin_dry_run.rs).
    let stateful_config = dir.path().join("stateful.toml");
    std::fs::write(
        &stateful_config,
        "[parameters]\n\"query.dry_run\" = false\n",
    )
    .unwrap();
    let mut reports = String::new();
    for (phases, config) in [
        ("examples,coverage,fuzzing", None),
        ("stateful", Some(&stateful_config)),
    ] {
        let mut command = Command::new(&schemathesis);
        // In the temporary directory: Schemathesis keeps a cache (.schemathesis/) where it runs.
        command.current_dir(dir.path());
        if let Some(config) = config {
            command.arg("--config-file").arg(config);
        }
        let run = command
            .args(["run", &url, "--checks", "all", "--phases", phases])
            .args(["--max-examples", "30", "--seed", &seed(), "--no-color"])
            // Left out: adding upstreams. Generated URLs name hosts this machine must not
            // call, and every later registration of their types would go there; the routes to
            // the upstream above are changed, tested, reconciled and removed like any resource.
            .args(["--exclude-operation-id", "createUpstream"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            run.status.success(),
            "Schemathesis found failures ({phases}, seed {}):\n{report}",
            seed()
        );
        reports.push_str(&report);
    }
    assert!(
        reports.contains("✅ Stateful") && reports.contains("✅ Fuzzing"),
        "every phase ran: {reports}"
    );
}

/// The seed of this run: `IPLS_SCHEMATHESIS_SEED`, or one drawn from the clock.
pub(crate) fn seed() -> String {
    static SEED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        std::env::var("IPLS_SCHEMATHESIS_SEED").unwrap_or_else(|_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            (nanos % 1_000_000_000_000).to_string()
        })
    })
    .clone()
}

/// Bounds the document states that the domain enforces are the domain's own constants.
#[test]
fn the_document_states_the_domain_bounds() {
    let Some(srv) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    let doc = srv.get("/api/admin/v1/openapi.json").json();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ResellerPatch"]["properties"]["allow_from"]["maxItems"],
        ipls::domain::resellers::MAX_ALLOWED_BLOCKS
    );
    assert_eq!(
        schemas["BlockReason"]["maxLength"],
        ipls::domain::resellers::MAX_BLOCK_REASON_CHARS
    );
    assert_eq!(
        schemas["KeyPatch"]["properties"]["ip_ranges"]["maxItems"],
        ipls::domain::keys::cidr::MAX_RANGES
    );
    assert_eq!(
        schemas["ServerLimit"]["maximum"],
        ipls::domain::keys::manage::MAX_LIMIT
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

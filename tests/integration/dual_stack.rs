//! `ipls serve --bind [::]:0`: IPv4 clients arrive as IPv4-mapped IPv6 peers, and every
//! address rule, record and log line still sees their IPv4 address.

use ipls::auth::{self, HashForm};

use crate::common::process::{ipls_cli, succeeded, ServeProcess};
use crate::common::{http, Kind, TestDatabase, TEST_MASTER_KEY};

fn ipls(db: &TestDatabase, args: &[&str]) -> String {
    succeeded(&ipls_cli(db, Some(TEST_MASTER_KEY), args))
}

#[test]
fn ipv4_peers_of_a_dual_stack_listener_are_ipv4_everywhere() {
    let db = TestDatabase::create(Kind::Sqlite).unwrap();
    let server = ServeProcess::start_bound(
        &db.url_text(),
        "[::]:0",
        &[
            ("IPLS_ALLOW_PRIVATE_IPS", "true"),
            ("IPLS_TRUSTED_PROXIES", "127.0.0.1"),
            ("IPLS_AUTH_CACHE_SECS", "0"),
        ],
    );
    let secret = "secret-of-acme-0123456789";
    ipls(
        &db,
        &[
            "reseller", "add", "acme", "--types", "1", "--secret", secret,
        ],
    );
    ipls(
        &db,
        &["reseller", "set", "acme", "--allow-from", "127.0.0.1/32"],
    );
    let token = || {
        auth::mint(
            "acme",
            secret,
            chrono::Utc::now().timestamp(),
            HashForm::LegacySha1,
        )
    };
    let get = |target: &str, headers: &[(&str, &str)]| {
        http::request(server.addr, "GET", target, headers, b"").json()
    };

    // The allowlist 127.0.0.1/32 admits an IPv4 client of a [::] listener.
    let value = get(
        &format!(
            "/api/ipl/register.json?ip=127.0.0.1&type=1&token={}",
            token()
        ),
        &[],
    );
    assert_eq!(value["success"], true, "{value}");
    let line = server.log_line("register.json");
    assert!(line.contains("peer=127.0.0.1 "), "{line}");

    // The trusted proxy 127.0.0.1 is recognised: its X-Forwarded-For names the client.
    let value = get(
        &format!("/api/ipl/check.json?ip=127.0.0.1&token={}", token()),
        &[("X-Forwarded-For", "198.51.100.7")],
    );
    assert_eq!(
        value["message"],
        "Calls for account acme are not allowed from 198.51.100.7"
    );

    // Check-in knows the server by its IPv4 address.
    let value = get("/api/server/checkin.json?server_info=web1", &[]);
    assert_eq!(value["success"], true, "{value}");
    assert_eq!(value["data"]["ip"], "127.0.0.1");

    // The audit trail records the IPv4 source.
    let audit = ipls(&db, &["audit", "--format", "csv"]);
    assert!(audit.contains("127.0.0.1"), "{audit}");
    assert!(!audit.contains("::ffff"), "{audit}");
}

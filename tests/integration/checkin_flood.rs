//! Server check-in under a flood: rate-limited per source, no write for an IP without a
//! license, and history only when something changes.

use diesel::connection::SimpleConnection;

use crate::common::{get_from, Kind, Options, TestServer};

fn server(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            trusted_proxies: "127.0.0.1",
            configure: |c| c.checkin_per_minute = 3,
            ..Options::default()
        },
    )
}

const CHECKIN: &str = "/api/server/checkin.json?server_info=web1";

fn checkins(kind: Kind) {
    let Some(srv) = server(kind) else {
        return;
    };
    let r = srv.add_reseller("acme", &[1, 16]);
    r.ok("register", "ip=203.0.113.5&type=1");
    r.ok("register", "ip=203.0.113.5&type=16");
    // Three check-ins (the per-minute allowance), then 429 with Retry-After.
    for _ in 0..3 {
        let value = get_from(srv.addr, "203.0.113.5", CHECKIN).json();
        assert_eq!(
            value["data"]["types"],
            serde_json::json!([1, 16]),
            "{value}"
        );
    }
    let response = get_from(srv.addr, "203.0.113.5", CHECKIN);
    assert_eq!(response.status, 429, "{}", response.text());
    assert!(response.header("retry-after").is_some());
    assert_eq!(response.json()["success"], false);
    // Other sources have their own allowance.
    let value = get_from(srv.addr, "203.0.113.6", CHECKIN).json();
    assert_eq!(value["message"], "IP 203.0.113.6 has no license");
    // History: one checkin row per license (the first registration), not one per call.
    let rows = srv.count(
        "SELECT count(*) AS n FROM license_events WHERE action = 'checkin' AND ip = '203.0.113.5'",
    );
    assert_eq!(rows, 2);
}

#[test]
fn checkins_sqlite() {
    checkins(Kind::Sqlite);
}

#[test]
fn checkins_postgres() {
    checkins(Kind::Postgres);
}

/// While another connection holds SQLite's write lock, a check-in from an unlicensed IP
/// still answers at once: it takes no write lock.
#[test]
fn unlicensed_checkin_takes_no_write_lock() {
    let srv = server(Kind::Sqlite).unwrap();
    let mut holder = srv.conn();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let value = get_from(srv.addr, "203.0.113.44", CHECKIN).json();
    assert_eq!(value["message"], "IP 203.0.113.44 has no license");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "waited {:?} for the write lock",
        started.elapsed()
    );
    holder.batch_execute("ROLLBACK").unwrap();
}

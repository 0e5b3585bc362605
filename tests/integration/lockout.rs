//! A caller without the secret cannot lock a reseller out; concurrency cannot beat the
//! failure budgets; on Postgres every instance spends one budget; IPv6 is limited per /64.
//! Distinct client addresses come through a trusted proxy on loopback (X-Forwarded-For).

use std::sync::{Arc, Barrier};

use crate::common::{bad_token, get_from, metric, Kind, TestServer};

/// The statuses of `n` calls of `target` from `source`, all released at once.
fn at_once(n: usize, srv: &TestServer, source: &str, target: &str) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, addr) = (barrier.clone(), srv.addr);
            let (source, target) = (source.to_string(), target.to_string());
            std::thread::spawn(move || {
                barrier.wait();
                get_from(addr, &source, &target).status
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn check(token: &str) -> String {
    format!("/api/ipl/check.json?ip=203.0.113.1&token={token}")
}

fn known_sources_survive_a_flood(kind: Kind) {
    let Some(srv) = TestServer::behind_proxy(kind, 3) else {
        return;
    };
    let acme = srv.add_reseller("acme", &[1]);
    let panel = "198.51.100.10";
    let ok = |addr, from: &str| get_from(addr, from, &check(&acme.token()));
    assert_eq!(ok(srv.addr, panel).json()["success"], true);
    // Guesses at acme's secret from ever new addresses spend acme's login budget...
    for i in 1..=10 {
        let target = check(&bad_token("acme", srv.now()));
        let response = get_from(srv.addr, &format!("203.0.113.{i}"), &target);
        assert!([200, 429].contains(&response.status), "{}", response.text());
    }
    // ...so an address acme never used is refused, even with a valid token...
    assert_eq!(ok(srv.addr, "198.51.100.99").status, 429);
    // ...but the panel's address keeps working, however long the flood goes on.
    for _ in 0..5 {
        let response = ok(srv.addr, panel);
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(response.json()["success"], true);
        let target = check(&bad_token("acme", srv.now()));
        get_from(srv.addr, "203.0.113.77", &target);
    }
    // Known sources live in the database: a restarted (or another) instance agrees.
    let restarted = srv.another_instance();
    for i in 1..=4 {
        let target = check(&bad_token("acme", srv.now()));
        get_from(restarted.addr, &format!("203.0.113.{}", 100 + i), &target);
    }
    assert_eq!(ok(restarted.addr, panel).json()["success"], true);
    assert_eq!(ok(restarted.addr, "198.51.100.98").status, 429);
}

#[test]
fn known_sources_survive_a_flood_sqlite() {
    known_sources_survive_a_flood(Kind::Sqlite);
}

#[test]
fn known_sources_survive_a_flood_postgres() {
    known_sources_survive_a_flood(Kind::Postgres);
}

/// 200 bad tokens at once from one address: the attempt is charged before its token is
/// checked, so at most the burst are verified.
fn concurrent_failures_verify_at_most_the_burst(kind: Kind) {
    let Some(srv) = TestServer::behind_proxy(kind, 20) else {
        return;
    };
    srv.add_reseller("acme", &[1]);
    let before = metric(srv.addr, "ipls_auth_verifications_total");
    let target = check(&bad_token("acme", srv.now()));
    let statuses = at_once(200, &srv, "198.51.100.66", &target);
    let verified = metric(srv.addr, "ipls_auth_verifications_total") - before;
    let answered = statuses.iter().filter(|s| **s == 200).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(answered + throttled, 200, "{statuses:?}");
    assert!(verified <= 20, "{verified} verifications for a burst of 20");
    assert_eq!(
        answered as u64, verified,
        "each verified attempt answered 200"
    );
    assert!(throttled >= 180, "{throttled}");
}

#[test]
fn concurrent_failures_verify_at_most_the_burst_sqlite() {
    concurrent_failures_verify_at_most_the_burst(Kind::Sqlite);
}

#[test]
fn concurrent_failures_verify_at_most_the_burst_postgres() {
    concurrent_failures_verify_at_most_the_burst(Kind::Postgres);
}

#[test]
fn two_postgres_instances_spend_one_budget() {
    let Some(a) = TestServer::behind_proxy(Kind::Postgres, 5) else {
        return;
    };
    let b = a.another_instance();
    a.add_reseller("acme", &[1]);
    // Guesses for acme from fresh addresses, alternating instances: one budget of 5.
    let mut answered = 0;
    for i in 0..12 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        let target = check(&bad_token("acme", a.now()));
        match get_from(addr, &format!("203.0.113.{}", 10 + i), &target).status {
            200 => answered += 1,
            429 => {}
            other => panic!("status {other}"),
        }
    }
    assert_eq!(answered, 5, "one budget across both instances");
    // One address's budget is shared too.
    for i in 0..12 {
        let addr = if i % 2 == 0 { a.addr } else { b.addr };
        let target = check(&bad_token(&format!("nobody{i}"), a.now()));
        let status = get_from(addr, "198.51.100.200", &target).status;
        assert_eq!(status, if i < 5 { 200 } else { 429 }, "attempt {i}");
    }
}

#[test]
fn ipv6_sources_are_limited_per_64() {
    let srv = TestServer::behind_proxy(Kind::Sqlite, 3).expect("sqlite");
    srv.add_reseller("acme", &[1]);
    // Every guess from another address of one /64, each for another login.
    for i in 1..=3 {
        let target = check(&bad_token(&format!("nobody{i}"), srv.now()));
        let from = format!("2001:db8:1:2:{i}::{i}");
        assert_eq!(get_from(srv.addr, &from, &target).status, 200);
    }
    let target = check(&bad_token("nobody9", srv.now()));
    assert_eq!(
        get_from(srv.addr, "2001:db8:1:2:ffff::9", &target).status,
        429
    );
    assert_eq!(get_from(srv.addr, "2001:db8:1:3::9", &target).status, 200);
}

/// Only failures spend a budget: 60 valid calls at once from a source the reseller never
/// used (beyond a burst of 5) all succeed; the attempts in flight wait for each other.
fn concurrent_valid_calls_are_not_throttled(kind: Kind) {
    let Some(srv) = TestServer::behind_proxy(kind, 5) else {
        return;
    };
    let acme = srv.add_reseller("acme", &[1]);
    let statuses = at_once(60, &srv, "198.51.100.150", &check(&acme.token()));
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[test]
fn concurrent_valid_calls_are_not_throttled_sqlite() {
    concurrent_valid_calls_are_not_throttled(Kind::Sqlite);
}

#[test]
fn concurrent_valid_calls_are_not_throttled_postgres() {
    concurrent_valid_calls_are_not_throttled(Kind::Postgres);
}

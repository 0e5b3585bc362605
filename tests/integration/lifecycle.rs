//! Beyond CLN: server check-in (direct and through a trusted proxy), trial expiry, usage
//! reports from the history with an injected clock.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use crate::common::{assert_envelope, http, Kind, Options, TestServer};

fn checkin(srv: &TestServer, query: &str, headers: &[(&str, &str)]) -> serde_json::Value {
    let response = http::request(
        srv.addr,
        "GET",
        &format!("/api/server/checkin.json{query}"),
        headers,
        b"",
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let value = response.json();
    assert_envelope(&value);
    value
}

fn lab(kind: Kind, trusted_proxies: &'static str) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            allow_private_ips: true,
            trusted_proxies,
            ..Options::default()
        },
    )
}

fn direct_checkin_marks_licenses_registered(kind: Kind) {
    let Some(srv) = lab(kind, "") else { return };
    let r = srv.add_reseller("alice", &[1, 16]);
    let value = checkin(&srv, "", &[]);
    assert_eq!(value["success"], false);
    assert_eq!(value["message"], "IP 127.0.0.1 has no license");

    r.ok("register", "ip=127.0.0.1&type=16");
    r.ok("register", "ip=127.0.0.1&type=1");
    srv.clock.advance(Duration::hours(2));
    let value = checkin(&srv, "?server_info=cPanel%20110%20on%20AlmaLinux%208", &[]);
    assert_eq!(
        value["data"],
        json!({"ip": "127.0.0.1", "types": [1, 16]}),
        "{value}"
    );

    let row = json!({"server_info": "cPanel 110 on AlmaLinux 8", "ip": "127.0.0.1", "type": 1,
        "registered": true, "created": "2026-11-28T12:00+0000", "last_checkin": "2026-11-28T14:00+0000"});
    assert_eq!(r.ok("server", "ip=127.0.0.1")[0], row);
    assert_eq!(r.ok("list", "")[0]["registered"], true);
    assert_eq!(r.ok("register", "ip=127.0.0.1&type=1")["registered"], true);
    let reconcile = format!(
        "<methodCall><methodName>registration.reconcile</methodName><params><param><value>{}</value></param></params></methodCall>",
        r.token()
    );
    let body = http::request(srv.addr, "POST", "/clweb/xmlrpc", &[], reconcile.as_bytes()).text();
    assert!(
        body.contains("<name>REGISTERED</name><value><boolean>1</boolean></value>"),
        "{body}"
    );

    // A later check-in without server_info keeps it and moves last_checkin.
    srv.clock.advance(Duration::hours(1));
    checkin(&srv, "", &[]);
    let rows = r.ok("server", "ip=127.0.0.1");
    assert_eq!(rows[0]["server_info"], "cPanel 110 on AlmaLinux 8");
    assert_eq!(rows[0]["last_checkin"], "2026-11-28T15:00+0000");

    // Removing a license drops its registration.
    assert_eq!(r.ok("remove", "ip=127.0.0.1&type=1"), true);
    r.ok("register", "ip=127.0.0.1&type=1");
    let rows = r.ok("server", "ip=127.0.0.1");
    assert_eq!(
        (rows[0]["type"].clone(), rows[0]["registered"].clone()),
        (json!(1), json!(false))
    );
    assert_eq!(rows[0]["last_checkin"], serde_json::Value::Null);

    // A server_info over 1,024 characters is cut to them (docs/api.md), not refused.
    let too_long = "%C3%A9".repeat(1025); // é, percent-encoded
    let value = checkin(&srv, &format!("?server_info={too_long}"), &[]);
    assert_eq!(value["success"], true, "{value}");
    let rows = r.ok("server", "ip=127.0.0.1");
    assert_eq!(
        rows[0]["server_info"].as_str().map(|s| s.chars().count()),
        Some(1024)
    );
    let api = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    assert!(
        api.contains("cut to 1,024 characters"),
        "docs/api.md says how server_info is cut"
    );
}

#[test]
fn direct_checkin_sqlite() {
    direct_checkin_marks_licenses_registered(Kind::Sqlite);
}

#[test]
fn direct_checkin_postgres() {
    direct_checkin_marks_licenses_registered(Kind::Postgres);
}

fn forwarded_for_only_from_trusted_proxies(kind: Kind) {
    // Not trusted: X-Forwarded-For is ignored, the peer (127.0.0.1) has no license.
    let Some(srv) = lab(kind, "") else { return };
    let r = srv.add_reseller("alice", &[1]);
    r.ok("register", "ip=203.0.113.77&type=1");
    let spoofed = checkin(&srv, "", &[("X-Forwarded-For", "203.0.113.77")]);
    assert_eq!(spoofed["success"], false, "{spoofed}");
    assert_eq!(r.ok("server", "ip=203.0.113.77")[0]["registered"], false);
    drop(srv);

    // Trusted proxy on loopback: the nearest untrusted hop is the server.
    let Some(srv) = lab(kind, "127.0.0.1") else {
        return;
    };
    let r = srv.add_reseller("alice", &[1]);
    r.ok("register", "ip=203.0.113.77&type=1");
    let value = checkin(
        &srv,
        "",
        &[("X-Forwarded-For", "198.51.100.66, 203.0.113.77")],
    );
    assert_eq!(
        value["data"],
        json!({"ip": "203.0.113.77", "types": [1]}),
        "{value}"
    );
    assert_eq!(r.ok("server", "ip=203.0.113.77")[0]["registered"], true);
    // Behind the proxy, the audit trail records the client's address, not the proxy's.
    let response = http::request(
        srv.addr,
        "GET",
        &format!("/api/ipl/remove.json?ip=203.0.113.77&token={}", r.token()),
        &[("X-Forwarded-For", "198.51.100.20")],
        b"",
    );
    assert_eq!(response.json()["data"], true);
    let events = ipls::domain::events::audit(
        &mut srv.conn(),
        &ipls::domain::events::AuditFilter {
            limit: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (events[0].action.as_str(), events[0].source.as_deref()),
        ("remove", Some("198.51.100.20"))
    );
    r.ok("register", "ip=203.0.113.77&type=1");
    // The client-supplied first hop is not believed.
    let value = checkin(
        &srv,
        "",
        &[("X-Forwarded-For", "203.0.113.77, 198.51.100.66")],
    );
    assert_eq!(value["message"], "IP 198.51.100.66 has no license");
}

#[test]
fn forwarded_for_sqlite() {
    forwarded_for_only_from_trusted_proxies(Kind::Sqlite);
}

#[test]
fn forwarded_for_postgres() {
    forwarded_for_only_from_trusted_proxies(Kind::Postgres);
}

fn trials_expire(kind: Kind) {
    let Some(srv) = TestServer::start(kind) else {
        return;
    };
    let trial = srv.add_reseller_with("trial", vec![(1, Some(1)), (16, None)], true);
    let paid = srv.add_reseller("paid", &[1]);
    trial.ok("register", "ip=203.0.113.80&type=1");
    assert_eq!(trial.ok("check", "ip=203.0.113.80"), json!([1]));
    assert!(paid
        .refused("register", "ip=203.0.113.80&type=1")
        .contains("another reseller"));

    srv.clock.advance(Duration::days(30));
    // Expired: no longer held, so check, availability and the limit ignore it...
    assert_eq!(trial.ok("check", "ip=203.0.113.80"), json!([]));
    // The account's CloudLinux OS trial ended with its first server's (CLN: a trial is
    // started once per product in an account), so only KernelCare is still available.
    assert_eq!(
        trial.ok("availability", "ip=203.0.113.81")["available"],
        json!([16])
    );
    // ...and no other answer holds it either: list, server, v2 licenses, availability's
    // owned types and XML-RPC reconcile agree with check...
    assert_eq!(trial.ok("list", ""), json!([]));
    assert_eq!(trial.ok("server", "ip=203.0.113.80"), json!([]));
    assert_eq!(trial.ok("/api/v2/ip-license/licenses", ""), json!([]));
    let availability = trial.ok("availability", "ip=203.0.113.80");
    assert_eq!(availability["owned"], json!([]));
    assert_eq!(
        availability["available"],
        json!([16]),
        "the trial of family 1 was used"
    );
    let reconcile = crate::common::http::request(
        srv.addr,
        "POST",
        "/clweb/xmlrpc",
        &[("Content-Type", "text/xml")],
        format!(
            "<methodCall><methodName>registration.reconcile</methodName><params>\
             <param><value>{}</value></param></params></methodCall>",
            trial.token()
        )
        .as_bytes(),
    )
    .text();
    assert!(
        reconcile.contains("<array><data></data></array>") && !reconcile.contains("203.0.113.80"),
        "{reconcile}"
    );
    // ...while the history keeps it. A paid registration takes its place.
    assert_eq!(
        srv.count("SELECT count(*) AS n FROM license_events WHERE ip = '203.0.113.80' AND action = 'register'"),
        1
    );
    paid.ok("register", "ip=203.0.113.80&type=1");
    assert_eq!(trial.ok("list", ""), json!([]));
    // The trial was used once: the same IP cannot get another trial, even once free again.
    assert_eq!(paid.ok("remove", "ip=203.0.113.80"), true);
    assert_eq!(
        trial.refused("register", "ip=203.0.113.80&type=1"),
        "You can register the IP: 203.0.113.80 under a paid license only."
    );
}

#[test]
fn trials_expire_sqlite() {
    trials_expire(Kind::Sqlite);
}

#[test]
fn trials_expire_postgres() {
    trials_expire(Kind::Postgres);
}

fn usage_from_history(kind: Kind) {
    let Some(srv) = TestServer::start(kind) else {
        return;
    };
    let r = srv.add_reseller("alice", &[1, 41, 42]);
    let day = |d: u32, h: u32| Utc.with_ymd_and_hms(2028, 2, d, h, 0, 0).single().unwrap();
    // Leap February: 29 days.
    srv.clock.set(day(20, 10));
    r.ok("register", "ip=203.0.113.90&type=1");
    r.ok("register", "ip=203.0.113.91&type=41");
    srv.clock.set(day(25, 9));
    r.ok("remove", "ip=203.0.113.90&type=1");
    srv.clock.set(day(25, 18));
    r.ok("register", "ip=203.0.113.90&type=1");
    srv.clock.set(day(27, 12));
    r.ok("convert", "ip=203.0.113.91&type=41&type_to=42");
    srv.clock
        .set(Utc.with_ymd_and_hms(2028, 3, 2, 12, 0, 0).single().unwrap());

    let data = r.ok("/api/usage.json", "month=2028-02");
    assert_eq!(
        data,
        json!({"month": "2028-02", "usage": [
            {"type": 1, "license_days": 10, "peak": 1, "amount": null, "suspended_days": 0},
            {"type": 41, "license_days": 7, "peak": 1, "amount": null, "suspended_days": 0},
            {"type": 42, "license_days": 3, "peak": 1, "amount": null, "suspended_days": 0}
        ]})
    );
    // The current month (March) counts up to today, the 2nd.
    let data = r.ok("/api/usage.json", "");
    assert_eq!(data["month"], "2028-03");
    assert_eq!(
        data["usage"][0],
        json!({"type": 1, "license_days": 2, "peak": 1, "amount": null, "suspended_days": 0})
    );
    assert!(r
        .refused("/api/usage.json", "month=2028-13")
        .contains("Invalid month"));
    let other = srv.add_reseller("bob", &[1]);
    assert_eq!(
        other.ok("/api/usage.json", "month=2028-02")["usage"],
        json!([]),
        "only the caller's usage"
    );
    // March: type 1 is open all month so far without a change (counted by the database);
    // type 42, open at the start, is converted back to 41 today (replayed): 42 counts the
    // 1st, 41 the 2nd. Then 41 is removed the same day, which changes nothing counted.
    r.ok("convert", "ip=203.0.113.91&type=42&type_to=41");
    let march = json!([
        {"type": 1, "license_days": 2, "peak": 1, "amount": null, "suspended_days": 0},
        {"type": 41, "license_days": 1, "peak": 1, "amount": null, "suspended_days": 0},
        {"type": 42, "license_days": 1, "peak": 1, "amount": null, "suspended_days": 0}
    ]);
    assert_eq!(r.ok("/api/usage.json", "")["usage"], march);
    assert_eq!(r.ok("remove", "ip=203.0.113.91&type=41"), json!(true));
    assert_eq!(r.ok("/api/usage.json", "")["usage"], march);
}

#[test]
fn usage_sqlite() {
    usage_from_history(Kind::Sqlite);
}

#[test]
fn usage_postgres() {
    usage_from_history(Kind::Postgres);
}

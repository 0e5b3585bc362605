//! A write changes only the row it read, in the state it read it: racing converts, a
//! remove racing a convert, a limited type and the trial rule, on both backends and across
//! two instances on one Postgres.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};

use serde_json::Value;

use crate::common::{Kind, Reseller, TestServer};

/// Runs the calls all at once (one thread each) and returns their `data`.
fn at_once(calls: Vec<(Reseller, SocketAddr, String, String)>) -> Vec<Value> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    calls
        .into_iter()
        .map(|(mut r, addr, endpoint, params)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                r.addr = addr;
                barrier.wait();
                r.ok(&endpoint, &params)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect()
}

fn races(srv: &TestServer, second: SocketAddr) {
    let r = srv.add_reseller_with(
        "imu",
        vec![(41, None), (42, None), (43, None), (44, Some(1))],
        false,
    );
    let call = |addr: SocketAddr, endpoint: &str, params: String| {
        (r.clone(), addr, endpoint.to_string(), params)
    };
    for round in 0..8 {
        // Two converts of one license: exactly one happens, and history records one.
        let ip = format!("203.0.113.{}", 10 + round);
        r.ok("register", &format!("ip={ip}&type=41"));
        let answers = at_once(vec![
            call(srv.addr, "convert", format!("ip={ip}&type=41&type_to=42")),
            call(second, "convert", format!("ip={ip}&type=41&type_to=43")),
        ]);
        let won: Vec<&Value> = answers.iter().filter(|a| **a == true).collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:?}");
        let held = r.ok("check", &format!("ip={ip}"));
        assert_eq!(held.as_array().unwrap().len(), 1, "{held}");
        let converts = srv.count(&format!(
            "SELECT count(*) AS n FROM license_events WHERE ip = '{ip}' AND action = 'convert'"
        ));
        assert_eq!(converts, 1, "round {round}");

        // A remove racing a convert: one consistent outcome.
        let ip = format!("203.0.113.{}", 50 + round);
        r.ok("register", &format!("ip={ip}&type=41"));
        let answers = at_once(vec![
            call(srv.addr, "remove", format!("ip={ip}&type=41")),
            call(second, "convert", format!("ip={ip}&type=41&type_to=42")),
        ]);
        let held = r.ok("check", &format!("ip={ip}"));
        match (&answers[0], &answers[1]) {
            (Value::Bool(true), Value::Bool(false)) => assert_eq!(held, serde_json::json!([])),
            (Value::Bool(false), Value::Bool(true)) => assert_eq!(held, serde_json::json!([42])),
            other => panic!("round {round}: {other:?}"),
        }
    }
    // A limited type: two converts into type 44 (limit 1) at once, one wins.
    r.ok("register", "ip=203.0.113.90&type=41");
    r.ok("register", "ip=203.0.113.91&type=41");
    let answers = at_once(vec![
        call(
            srv.addr,
            "convert",
            "ip=203.0.113.90&type=41&type_to=44".into(),
        ),
        call(
            second,
            "convert",
            "ip=203.0.113.91&type=41&type_to=44".into(),
        ),
    ]);
    assert_eq!(
        answers.iter().filter(|a| **a == true).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        srv.count("SELECT count(*) AS n FROM ip_licenses WHERE type_id = 44"),
        1
    );
    // The trial rule: two trial resellers race for one IP in one family.
    let t1 = srv.add_reseller_with("trial1", vec![(1, None)], true);
    let t2 = srv.add_reseller_with("trial2", vec![(2, None)], true);
    let barrier = Arc::new(Barrier::new(2));
    let outcomes: Vec<bool> = [(t1, srv.addr, 1), (t2, second, 2)]
        .into_iter()
        .map(|(mut t, addr, type_id)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                t.addr = addr;
                barrier.wait();
                t.json("register", &format!("ip=203.0.113.99&type={type_id}"))["success"] == true
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o).count(), 1, "{outcomes:?}");
    assert_eq!(
        srv.count("SELECT count(*) AS n FROM trial_uses WHERE ip = '203.0.113.99'"),
        1
    );
    // Usage bills one tier per license and day, whatever the races did.
    let usage = r.ok("/api/usage.json", "month=2026-11");
    let days: i64 = usage["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["license_days"].as_i64().unwrap())
        .sum();
    let licenses = srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'register' AND reseller_id = (SELECT id FROM resellers WHERE login = 'imu')");
    assert_eq!(
        days, licenses,
        "one day per license registered today: {usage}"
    );
}

#[test]
fn stale_writes_sqlite() {
    let srv = TestServer::start(Kind::Sqlite).unwrap();
    races(&srv, srv.addr);
}

#[test]
fn stale_writes_postgres() {
    let Some(srv) = TestServer::start(Kind::Postgres) else {
        return;
    };
    races(&srv, srv.addr);
}

#[test]
fn stale_writes_two_postgres_instances() {
    let Some(srv) = TestServer::start(Kind::Postgres) else {
        return;
    };
    let other = srv.another_instance();
    races(&srv, other.addr);
}

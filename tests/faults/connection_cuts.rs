//! Fault 2: the connections between ipls and Postgres cut mid-stream (reset, new ones
//! refused for 2 s), and a stalled network (connections open, no byte passes for 3 s).

use std::time::{Duration, Instant};

use ipls::db::DatabaseUrl;

use crate::common::{Kind, TestDatabase};
use crate::load::Load;
use crate::proxy::Proxy;
use crate::setup::{acme_clients, one_at_a_time, run_for, seed, serve, target, verify};

/// A fresh database on the machine's Postgres, reached through a proxy of the test's own.
fn behind_proxy() -> Option<(TestDatabase, Proxy, String)> {
    let db = TestDatabase::create(Kind::Postgres)?;
    seed(&db.url);
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap());
    let proxied = db
        .url
        .target
        .replacen(":5432/", &format!(":{}/", proxy.addr.port()), 1);
    assert_ne!(proxied, db.url.target, "the URL names port 5432");
    Some((db, proxy, format!("{proxied}?connect_timeout=2")))
}

#[test]
fn connections_reset_and_refused() {
    let _serial = one_at_a_time();
    let Some((db, proxy, proxied)) = behind_proxy() else {
        return;
    };
    let server = serve(&proxied, &[]);
    let load = Load::start(target(server.addr), acme_clients(3));
    run_for(&load, Duration::from_secs(1), 30);
    let fault_started = Instant::now();
    proxy.refuse();
    proxy.cut_all();
    std::thread::sleep(Duration::from_secs(2));
    proxy.forward();
    let fault_ended = Instant::now();
    run_for(&load, Duration::from_secs(2), 30);
    let outcomes = load.finish();
    verify(
        "connections reset, refused 2 s",
        &DatabaseUrl::parse(&db.url_text()).unwrap(),
        &outcomes,
        (fault_started, fault_ended),
        false,
    );
    drop(server);
}

#[test]
fn stalled_network() {
    let _serial = one_at_a_time();
    let Some((db, proxy, proxied)) = behind_proxy() else {
        return;
    };
    let server = serve(&proxied, &[]);
    let load = Load::start(target(server.addr), acme_clients(3));
    run_for(&load, Duration::from_secs(1), 30);
    let fault_started = Instant::now();
    proxy.stall();
    std::thread::sleep(Duration::from_secs(2));
    // Nothing answers: readiness says so instead of calling a wedged pool "busy".
    let ready = crate::common::http::request(server.addr, "GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 503, "{}", ready.text());
    std::thread::sleep(Duration::from_secs(1));
    // The stall ends the way a dead network path ends: the connections are reset.
    proxy.cut_all();
    proxy.forward();
    let fault_ended = Instant::now();
    run_for(&load, Duration::from_secs(2), 30);
    let outcomes = load.finish();
    verify(
        "network stalled 3 s",
        &DatabaseUrl::parse(&db.url_text()).unwrap(),
        &outcomes,
        (fault_started, fault_ended),
        false,
    );
    drop(server);
}

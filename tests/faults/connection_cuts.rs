//! Fault 2: the connections between ipls and Postgres cut mid-stream (reset, new ones
//! refused for 2 s), and a stalled network (connections open, no byte passes for 3 s).

use std::time::{Duration, Instant};

use crate::common::process::ServeProcess;
use crate::common::{http, Kind, TestDatabase};
use crate::load::{call, Answer};
use crate::proxy::Proxy;
use crate::setup::{
    acme_clients, one_at_a_time, seed, serve, target, under_fault, ACME_SECRET, BOUND,
};

/// A fresh database on the machine's Postgres, served by ipls through a proxy of the
/// test's own.
fn behind_proxy() -> Option<(TestDatabase, Proxy, ServeProcess)> {
    let db = TestDatabase::create(Kind::Postgres)?;
    seed(&db.url);
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap());
    let proxied = db
        .url
        .target
        .replacen(":5432/", &format!(":{}/", proxy.addr.port()), 1);
    assert_ne!(proxied, db.url.target, "the URL names port 5432");
    let separator = if proxied.contains('?') { '&' } else { '?' };
    let server = serve(&format!("{proxied}{separator}connect_timeout=2"), &[]);
    Some((db, proxy, server))
}

#[test]
fn connections_reset_and_refused() {
    let _serial = one_at_a_time();
    let Some((db, proxy, server)) = behind_proxy() else {
        return;
    };
    under_fault(
        "connections reset, refused 2 s",
        &db.url,
        target(server.addr),
        acme_clients(3),
        false,
        || {
            proxy.refuse();
            proxy.cut_all();
            std::thread::sleep(Duration::from_secs(2));
            proxy.forward();
        },
    );
}

#[test]
fn stalled_network() {
    let _serial = one_at_a_time();
    let Some((db, proxy, server)) = behind_proxy() else {
        return;
    };
    let addr = server.addr;
    under_fault(
        "network stalled 3 s",
        &db.url,
        target(addr),
        acme_clients(3),
        false,
        || {
            proxy.stall();
            std::thread::sleep(Duration::from_secs(2));
            // Nothing answers: readiness says so instead of calling a wedged pool "busy".
            let ready = http::request(addr, "GET", "/readyz", &[], b"");
            assert_eq!(ready.status, 503, "{}", ready.text());
            std::thread::sleep(Duration::from_secs(1));
            // The stall ends the way a dead network path ends: the connections are reset.
            proxy.cut_all();
            proxy.forward();
        },
    );
}

/// Coalesced reads under a stalled network: check.json and availability.json calls that
/// queue behind a batch stuck on a dead connection are each answered 503 within the bound a
/// call of its own has, not after the batch ahead of them gives up; once the network is back,
/// checks answer again.
#[test]
fn stalled_network_bounds_queued_reads() {
    let _serial = one_at_a_time();
    let Some((_db, proxy, server)) = behind_proxy() else {
        return;
    };
    let addr = server.addr;
    let token = || {
        ipls::auth::mint(
            "acme",
            ACME_SECRET,
            chrono::Utc::now().timestamp(),
            ipls::auth::HashForm::LegacySha1,
        )
    };
    // Warm: the credentials are cached, so the stalled calls below wait on their lookups only.
    let warm = call(
        addr,
        &format!("/api/ipl/check.json?ip=192.0.2.1&token={}", token()),
    );
    assert_eq!(warm, Answer::Done(serde_json::json!([])));
    proxy.stall();
    let callers: Vec<_> = (0..6)
        .map(|n| {
            let target = if n % 2 == 0 {
                format!(
                    "/api/ipl/check.json?ip=192.0.2.{}&token={}",
                    10 + n,
                    token()
                )
            } else {
                format!(
                    "/api/ipl/availability.json?ip=192.0.2.{}&token={}",
                    10 + n,
                    token()
                )
            };
            // One after another, so that all but the first queue behind a stalled batch.
            std::thread::sleep(Duration::from_millis(100));
            std::thread::spawn(move || {
                let started = Instant::now();
                let answer = call(addr, &target);
                (target, answer, started.elapsed())
            })
        })
        .collect();
    for caller in callers {
        let (target, answer, took) = caller.join().unwrap();
        assert_eq!(answer, Answer::Unavailable, "{target}");
        assert!(took <= BOUND, "{target} answered after {took:?}");
    }
    proxy.cut_all();
    proxy.forward();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = call(
            addr,
            &format!("/api/ipl/check.json?ip=192.0.2.1&token={}", token()),
        );
        if answer == Answer::Done(serde_json::json!([])) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "checks did not come back: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

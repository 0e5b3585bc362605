//! Health under load and stuck locks: /livez, /readyz, status.json on a busy pool, and
//! Postgres lock_timeout ending a blocked call in the 503 envelope.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::common::{Kind, Options, TestServer};

#[test]
fn probes_answer() {
    let srv = TestServer::start(Kind::Sqlite).unwrap();
    let live = srv.get("/livez");
    assert_eq!(
        (live.status, live.json()["status"].clone()),
        (200, "live".into())
    );
    let ready = srv.get("/readyz");
    assert_eq!(
        (ready.status, ready.json()["status"].clone()),
        (200, "ready".into())
    );
}

#[test]
fn a_busy_pool_is_not_offline_and_a_stuck_lock_ends_in_503() {
    let Some(srv) = TestServer::start_with(
        Kind::Postgres,
        Options {
            configure: |c| {
                c.pool.max_size = 1;
                c.pool.checkout_timeout = Duration::from_millis(300);
                c.pool.lock_timeout_ms = 3_000;
            },
            ..Options::default()
        },
    ) else {
        return;
    };
    let r = srv.add_reseller_with("acme", vec![(1, Some(10))], false);
    r.ok("register", "ip=203.0.113.1&type=1");
    // A session outside ipls holds acme's row lock; a limited-type register waits on it,
    // holding the pool's only connection.
    let mut holder = srv.conn();
    holder
        .batch_execute("BEGIN; SELECT * FROM resellers WHERE login = 'acme' FOR UPDATE;")
        .unwrap();
    let waiting = {
        let r = r.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            (
                r.call("register", "ip=203.0.113.2&type=1"),
                started.elapsed(),
            )
        })
    };
    let mut probe = srv.conn();
    while crate::common::database::count_any(
        &mut probe,
        "SELECT count(*) AS n FROM pg_locks WHERE NOT granted",
    ) == 0
    {
        std::thread::yield_now();
    }
    // Busy, not offline: status.json keeps success:true, readyz 200.
    let status = srv.get("/api/status.json");
    assert_eq!(status.status, 200, "{}", status.text());
    assert_eq!(status.json()["data"]["db_clweb_online"], true);
    let ready = srv.get("/readyz");
    assert_eq!(
        (ready.status, ready.json()["status"].clone()),
        (200, "busy".into())
    );
    // The blocked call ends at lock_timeout with the 503 envelope, not later.
    let (response, took) = waiting.join().unwrap();
    assert_eq!(response.status, 503, "{}", response.text());
    let value = response.json();
    crate::common::assert_envelope(&value);
    assert_eq!(value["message"], "Database busy, please retry later");
    assert!(took < Duration::from_secs(6), "{took:?}");
    holder.batch_execute("ROLLBACK").unwrap();
    // Nothing half-done: the register works once the lock is gone.
    r.ok("register", "ip=203.0.113.2&type=1");
    assert_eq!(
        srv.count("SELECT count(*) AS n FROM license_events WHERE ip = '203.0.113.2'"),
        1
    );
}

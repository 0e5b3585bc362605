//! Coalesced reads (`db::coalesce`): check.json and availability.json calls in flight at the
//! same moment share one statement, yet each call gets its own answer, and a read sees every
//! write acknowledged before it started.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use ipls::domain::resellers::{self, AccountChanges};
use serde_json::{json, Value};

use crate::common::{http, test_secrets, Kind, Options, Reseller, TestServer};

fn start(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            workers: 4,
            ..Options::default()
        },
    )
}

/// A labelled counter of `/metrics`, e.g. `ipls_coalesced_lookups_total{kind="check"}`.
fn counter(addr: SocketAddr, series: &str) -> u64 {
    let text = http::request(addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing from /metrics"))
}

fn lookups_and_statements(addr: SocketAddr, kind: &str) -> (u64, u64) {
    (
        counter(
            addr,
            &format!("ipls_coalesced_lookups_total{{kind=\"{kind}\"}}"),
        ),
        counter(
            addr,
            &format!("ipls_coalesced_statements_total{{kind=\"{kind}\"}}"),
        ),
    )
}

/// Runs `calls` on `threads` threads at once; each call's answer next to what was expected.
fn all_at_once(
    threads: usize,
    calls: Vec<(Reseller, &'static str, String, Value)>,
) -> Vec<(String, Value, Value)> {
    let barrier = Arc::new(Barrier::new(threads));
    let calls = Arc::new(calls);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (barrier, calls) = (barrier.clone(), calls.clone());
            thread::spawn(move || {
                barrier.wait();
                calls
                    .iter()
                    .skip(t)
                    .step_by(threads)
                    .map(|(reseller, endpoint, params, expected)| {
                        let got = reseller.ok(endpoint, params);
                        (
                            format!("{} {endpoint} {params}", reseller.login),
                            got,
                            expected.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect()
}

fn concurrent_checks_get_their_own_answers_from_shared_statements(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let a = srv.add_reseller("alice", &[1, 16]);
    let b = srv.add_reseller("bob", &[41, 5003]);
    let mut expected: HashMap<String, Vec<i32>> = HashMap::new();
    for i in 0..24 {
        let ip = format!("203.0.113.{}", 10 + i);
        let mut types = Vec::new();
        if i % 2 == 0 {
            a.ok("register", &format!("ip={ip}&type=1"));
            types.push(1);
        }
        if i % 3 == 0 {
            a.ok("register", &format!("ip={ip}&type=16"));
            types.push(16);
        }
        if i % 4 == 1 {
            b.ok("register", &format!("ip={ip}&type=41"));
            types.push(41);
        }
        if i % 5 == 0 {
            b.ok("register", &format!("ip={ip}&type=5003"));
            types.push(5003);
        }
        types.sort_unstable();
        expected.insert(ip, types);
    }
    let (lookups_before, statements_before) = lookups_and_statements(srv.addr, "check");
    let calls: Vec<_> = (0..480)
        .map(|n| {
            let ip = format!("203.0.113.{}", 10 + n % 24);
            let want = json!(expected[&ip]);
            let caller = if n % 2 == 0 { a.clone() } else { b.clone() };
            (caller, "check", format!("ip={ip}"), want)
        })
        .collect();
    for (call, got, want) in all_at_once(16, calls) {
        assert_eq!(got, want, "{kind:?}: {call}");
    }
    let (lookups, statements) = lookups_and_statements(srv.addr, "check");
    assert_eq!(
        lookups - lookups_before,
        480,
        "{kind:?}: every check is a lookup"
    );
    assert!(
        statements - statements_before < 480,
        "{kind:?}: 16 clients at once shared statements ({} for 480 checks)",
        statements - statements_before
    );
}

fn a_check_sees_every_write_acknowledged_before_it(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let a = srv.add_reseller("alice", &[1]);
    a.ok("register", "ip=203.0.113.200&type=1");
    // Other clients keep the check lane busy, so the checks below join batches that formed
    // while another statement ran.
    let stop = Arc::new(AtomicBool::new(false));
    let noise: Vec<_> = (0..8)
        .map(|_| {
            let (a, stop) = (a.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(a.ok("check", "ip=203.0.113.200"), json!([1]));
                }
            })
        })
        .collect();
    for round in 0..40 {
        let ip = format!("198.51.100.{}", 1 + round);
        a.ok("register", &format!("ip={ip}&type=1"));
        assert_eq!(
            a.ok("check", &format!("ip={ip}")),
            json!([1]),
            "{kind:?}: a register acknowledged before the check"
        );
        assert_eq!(a.ok("remove", &format!("ip={ip}")), json!(true));
        assert_eq!(
            a.ok("check", &format!("ip={ip}")),
            json!([]),
            "{kind:?}: a remove acknowledged before the check"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for handle in noise {
        handle.join().expect("noise thread");
    }
}

fn concurrent_availability_answers_each_caller_as_alone(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let free = srv.add_reseller("free", &[1, 2, 16, 41]);
    let limited = srv.add_reseller_with("limited", vec![(1, None), (16, Some(1))], false);
    let trial = srv.add_reseller_with("trial", vec![(1, None), (16, None)], true);
    let blocked = srv.add_reseller("blocked", &[1, 16]);
    limited.ok("register", "ip=192.0.2.50&type=16");
    trial.ok("register", "ip=192.0.2.51&type=1");
    trial.ok("remove", "ip=192.0.2.51&type=1");
    free.ok("register", "ip=192.0.2.52&type=41");
    blocked.ok("register", "ip=192.0.2.53&type=1");
    resellers::update(
        &mut srv.conn(),
        "blocked",
        &AccountChanges {
            blocked_reason: Some(Some("unpaid".into())),
            ..Default::default()
        },
        &test_secrets(),
        &crate::common::by_cli(),
    )
    .expect("block");
    let callers = [free, limited, trial, blocked];
    let ips = [
        "192.0.2.50",
        "192.0.2.51",
        "192.0.2.52",
        "192.0.2.53",
        "192.0.2.54",
    ];
    // Each caller's answer for each address, one call at a time.
    let mut calls = Vec::new();
    for caller in &callers {
        for ip in ips {
            let alone = caller.ok("availability", &format!("ip={ip}"));
            calls.push((caller.clone(), "availability", format!("ip={ip}"), alone));
        }
    }
    let alone: HashMap<String, Value> = calls
        .iter()
        .map(|(c, _, p, v)| (format!("{} {p}", c.login), v.clone()))
        .collect();
    assert_eq!(
        alone["limited ip=192.0.2.54"],
        json!({"available": [1], "owned": []})
    );
    assert_eq!(
        alone["trial ip=192.0.2.51"],
        json!({"available": [16], "owned": []})
    );
    assert_eq!(
        alone["free ip=192.0.2.52"],
        json!({"available": [1, 2, 16], "owned": [41]})
    );
    assert_eq!(
        alone["blocked ip=192.0.2.53"],
        json!({"available": [], "owned": [1]})
    );
    let (lookups_before, statements_before) = lookups_and_statements(srv.addr, "availability");
    let repeated: Vec<_> = (0..12).flat_map(|_| calls.iter().cloned()).collect();
    let total = repeated.len() as u64;
    for (call, got, want) in all_at_once(16, repeated) {
        assert_eq!(got, want, "{kind:?}: {call} answers as it did alone");
    }
    let (lookups, statements) = lookups_and_statements(srv.addr, "availability");
    assert_eq!(lookups - lookups_before, total);
    assert!(
        statements - statements_before < total,
        "{kind:?}: {} statements for {total} calls",
        statements - statements_before
    );
}

#[test]
fn checks_share_statements_sqlite() {
    concurrent_checks_get_their_own_answers_from_shared_statements(Kind::Sqlite);
}

#[test]
fn checks_share_statements_postgres() {
    concurrent_checks_get_their_own_answers_from_shared_statements(Kind::Postgres);
}

#[test]
fn reads_see_acknowledged_writes_sqlite() {
    a_check_sees_every_write_acknowledged_before_it(Kind::Sqlite);
}

#[test]
fn reads_see_acknowledged_writes_postgres() {
    a_check_sees_every_write_acknowledged_before_it(Kind::Postgres);
}

#[test]
fn availability_batches_sqlite() {
    concurrent_availability_answers_each_caller_as_alone(Kind::Sqlite);
}

#[test]
fn availability_batches_postgres() {
    concurrent_availability_answers_each_caller_as_alone(Kind::Postgres);
}

//! Concurrency: the database, not a check-then-insert, decides who owns (IP, type), and
//! limits hold when many registers arrive at once.

use std::sync::{Arc, Barrier};
use std::thread;

use diesel::prelude::*;
use ipls::db::schema::ip_licenses;

use crate::common::{Kind, Options, Reseller, TestServer};

fn concurrently(calls: Vec<(Reseller, String)>) -> Vec<(String, serde_json::Value)> {
    let barrier = Arc::new(Barrier::new(calls.len()));
    let threads: Vec<_> = calls
        .into_iter()
        .map(|(reseller, params)| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                barrier.wait();
                let value = reseller.json("register", &params);
                (reseller.login.clone(), value)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .collect()
}

fn start(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            workers: 4,
            ..Options::default()
        },
    )
}

fn one_owner_under_twenty_concurrent_registers(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let a = srv.add_reseller("alice", &[1]);
    let b = srv.add_reseller("bob", &[1]);
    for round in 0..3 {
        let ip = format!("203.0.113.{}", 130 + round);
        let calls = (0..20)
            .map(|i| {
                (
                    if i % 2 == 0 { a.clone() } else { b.clone() },
                    format!("ip={ip}&type=1"),
                )
            })
            .collect();
        let results = concurrently(calls);
        let rows: Vec<(i64, String)> = ip_licenses::table
            .filter(ip_licenses::ip.eq(&ip))
            .select((ip_licenses::reseller_id, ip_licenses::ip))
            .load(&mut srv.conn())
            .unwrap();
        assert_eq!(rows.len(), 1, "{kind:?}: exactly one license for {ip}");
        let winner = results
            .iter()
            .find(|(_, v)| v["success"] == true)
            .map(|(login, _)| login.clone())
            .expect("someone wins");
        let mut winning_answers = Vec::new();
        for (login, value) in &results {
            if *login == winner {
                assert_eq!(
                    value["success"], true,
                    "{kind:?}: every call of the winner succeeds: {value}"
                );
                winning_answers.push(value["data"].clone());
            } else {
                assert_eq!(value["success"], false, "{kind:?}: {value}");
                let message = value["message"].as_str().unwrap();
                assert!(
                    message.contains("held by another reseller") && message.contains(&ip),
                    "{kind:?}: {message}"
                );
            }
        }
        assert_eq!(winning_answers.len(), 10);
        assert!(
            winning_answers.windows(2).all(|w| w[0] == w[1]),
            "{kind:?}: the same license every time"
        );
    }
}

fn limit_holds_under_concurrent_registers(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let a = srv.add_reseller_with("alice", vec![(16, Some(5))], false);
    let calls = (0..20)
        .map(|i| (a.clone(), format!("ip=198.51.100.{i}&type=16")))
        .collect();
    let results = concurrently(calls);
    let successes = results.iter().filter(|(_, v)| v["success"] == true).count();
    assert_eq!(successes, 5, "{kind:?}: {results:?}");
    for (_, v) in results.iter().filter(|(_, v)| v["success"] == false) {
        assert!(
            v["message"].as_str().unwrap().contains("5/5"),
            "{kind:?}: {v}"
        );
    }
    let count: i64 = ip_licenses::table
        .count()
        .get_result(&mut srv.conn())
        .unwrap();
    assert_eq!(count, 5);
}

fn exclusive_family_holds_under_concurrent_registers(kind: Kind) {
    let Some(srv) = start(kind) else { return };
    let a = srv.add_reseller("alice", &[41, 42, 43, 44, 49]);
    let b = srv.add_reseller("bob", &[41, 42, 43, 44, 49]);
    let types = [41, 42, 43, 44, 49];
    let calls = (0..20)
        .map(|i| {
            (
                if i % 2 == 0 { a.clone() } else { b.clone() },
                format!("ip=203.0.113.140&type={}", types[i % 5]),
            )
        })
        .collect();
    concurrently(calls);
    let count: i64 = ip_licenses::table
        .count()
        .get_result(&mut srv.conn())
        .unwrap();
    assert_eq!(count, 1, "{kind:?}: one imunify license per IP");
}

#[test]
fn one_owner_sqlite() {
    one_owner_under_twenty_concurrent_registers(Kind::Sqlite);
}

#[test]
fn one_owner_postgres() {
    one_owner_under_twenty_concurrent_registers(Kind::Postgres);
}

#[test]
fn limit_sqlite() {
    limit_holds_under_concurrent_registers(Kind::Sqlite);
}

#[test]
fn limit_postgres() {
    limit_holds_under_concurrent_registers(Kind::Postgres);
}

#[test]
fn exclusive_family_sqlite() {
    exclusive_family_holds_under_concurrent_registers(Kind::Sqlite);
}

#[test]
fn exclusive_family_postgres() {
    exclusive_family_holds_under_concurrent_registers(Kind::Postgres);
}

//! Database faults under load (long; run on demand, see docs/security.md):
//! `cargo test --release --test integration db_fault -- --ignored --nocapture`.
//!
//! ipls runs against a Postgres cluster of the test's own under a steady load of registers
//! and removes; the cluster is stopped and started again. During the outage calls must fail
//! fast with a 503 envelope; afterwards ipls must serve again without a restart within a few
//! seconds; every register that answered success is in the database, and nothing is
//! half-applied (licenses and their history agree).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use ipls::auth::{self, HashForm};
use ipls::db::schema::{ip_licenses, license_events};
use ipls::db::DatabaseUrl;
use ipls::domain::resellers::{create, Grants, NewAccount};

use crate::common::cluster::Cluster;
use crate::common::process::ServeProcess;
use crate::common::{http, test_secrets};

#[derive(Debug, Clone)]
struct Outcome {
    at: Instant,
    elapsed: Duration,
    status: u16,
    success: bool,
    action: &'static str,
    ip: String,
}

#[test]
#[ignore = "long fault test: starts its own Postgres cluster; run with --ignored"]
fn database_outage_and_recovery_under_load() {
    let cluster = Cluster::create();
    cluster.start();
    let url = DatabaseUrl::parse(&cluster.url()).unwrap();
    ipls::db::migrate::run_pending(&url).unwrap();
    let grants = Grants {
        limits: [(1, None)].into_iter().collect(),
    };
    let now = chrono::Utc::now().naive_utc();
    let account = NewAccount {
        login: "acme",
        secret: "fault-secret-0123456789",
        trial: false,
        grants: &grants,
        now,
    };
    create(
        &mut ipls::db::establish(&url).unwrap(),
        &account,
        &test_secrets(),
    )
    .unwrap();
    let server = ServeProcess::start(
        &cluster.url(),
        &[
            ("IPLS_DB_TIMEOUT_MS", "500"),
            ("RUST_LOG", "warn,ipls=info"),
        ],
    );

    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (outcomes, stop, addr) = (outcomes.clone(), stop.clone(), server.addr);
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // Kept IPs are registered once; churn IPs are registered then removed.
                    let kept = format!("198.51.{}.{}", client, n % 250);
                    let churn = format!("203.0.{}.{}", 100 + client, n % 250);
                    let token = auth::mint(
                        "acme",
                        "fault-secret-0123456789",
                        chrono::Utc::now().timestamp(),
                        HashForm::LegacySha1,
                    );
                    for (action, ip) in [
                        ("register", &kept),
                        ("register", &churn),
                        ("remove", &churn),
                    ] {
                        let type_part = if action == "register" { "&type=1" } else { "" };
                        let started = Instant::now();
                        let target =
                            format!("/api/ipl/{action}.json?ip={ip}{type_part}&token={token}");
                        let response = http::request(addr, "GET", &target, &[], b"");
                        let value: serde_json::Value =
                            serde_json::from_slice(&response.body).unwrap_or_default();
                        outcomes.lock().unwrap().push(Outcome {
                            at: Instant::now(),
                            elapsed: started.elapsed(),
                            status: response.status,
                            success: value["success"] == true,
                            action,
                            ip: ip.clone(),
                        });
                    }
                    if n >= 240 {
                        break;
                    }
                }
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(2));
    let down_at = Instant::now();
    cluster.stop();
    let stopped_at = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    cluster.start();
    let up_at = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }

    let outcomes = outcomes.lock().unwrap().clone();
    let during: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.at > stopped_at && o.at < up_at)
        .collect();
    assert!(!during.is_empty(), "calls were made during the outage");
    for o in &during {
        assert_eq!(o.status, 503, "{o:?}");
        assert!(o.elapsed < Duration::from_secs(2), "failed fast: {o:?}");
    }
    let recovered = outcomes
        .iter()
        .filter(|o| o.at > up_at && o.success)
        .map(|o| o.at)
        .min()
        .expect("ipls serves again after the database is back");
    let recovery = recovered - up_at;
    assert!(
        recovery < Duration::from_secs(5),
        "recovered in {recovery:?}"
    );
    let worst_outage_call = during.iter().map(|o| o.elapsed).max().unwrap();
    println!(
        "calls: {} total, {} during the outage (all 503, slowest {:?}); stop took {:?}; first success {:?} after restart",
        outcomes.len(),
        during.len(),
        worst_outage_call,
        stopped_at - down_at,
        recovery
    );

    let mut conn = ipls::db::establish(&url).unwrap();
    let held: Vec<String> = ip_licenses::table
        .select(ip_licenses::ip)
        .load(&mut conn)
        .unwrap();
    for o in outcomes
        .iter()
        .filter(|o| o.action == "register" && o.success && o.ip.starts_with("198.51."))
    {
        assert!(
            held.contains(&o.ip),
            "acknowledged register of {} is in the database",
            o.ip
        );
    }
    // Nothing half-applied: every license has its register event, and the events of each
    // (ip) replay to exactly what is held.
    let events: Vec<(String, String)> = license_events::table
        .order(license_events::id)
        .select((license_events::action, license_events::ip))
        .load(&mut conn)
        .unwrap();
    let mut replayed = std::collections::BTreeMap::<String, i32>::new();
    for (action, ip) in events {
        *replayed.entry(ip).or_default() += if action == "register" { 1 } else { -1 };
    }
    let mut held_sorted = held.clone();
    held_sorted.sort();
    let from_history: Vec<String> = replayed
        .into_iter()
        .filter(|(_, n)| *n == 1)
        .map(|(ip, _)| ip)
        .collect();
    assert_eq!(
        held_sorted, from_history,
        "licenses and their history agree"
    );
    drop(server);
}

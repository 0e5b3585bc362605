//! Two ipls processes on one Postgres: they start together (migrations under the advisory
//! lock), take concurrent registers of the same IPs, and leave one owner per (IP, type) and
//! per exclusive family slot.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use diesel::prelude::*;
use ipls::auth::{self, HashForm};
use ipls::db::schema::ip_licenses;
use ipls::domain::resellers::{create, Grants, NewAccount};

use crate::common::process::ServeProcess;
use crate::common::{database, http, test_secrets, Kind, TestDatabase};

#[test]
fn two_instances_share_one_postgres_safely() {
    let Some(db) = TestDatabase::create(Kind::Postgres) else {
        return;
    };
    // Both start on an empty database at once: each migration must be applied exactly once.
    // In .ci/run's PgBouncer pass they reach Postgres through it, as a deployment would.
    let served = db.server_url();
    let pooler = if served.transaction_pooler {
        "true"
    } else {
        "false"
    };
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let url = served.target.clone();
            std::thread::spawn(move || {
                ServeProcess::start(&url, &[("IPLS_PG_TRANSACTION_POOLER", pooler)])
            })
        })
        .collect();
    let instances: Vec<ServeProcess> = starts.into_iter().map(|t| t.join().unwrap()).collect();
    let mut conn = ipls::db::establish(&db.url).unwrap();
    let mut pg = PgConnection::establish(&db.url.target).unwrap();
    let applied = database::count(
        &mut pg,
        "SELECT count(*) AS n FROM __diesel_schema_migrations",
    );
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(applied as usize, shipped);

    let types = [41, 42, 43, 44, 49];
    for login in ["alice", "bob"] {
        let grants = Grants {
            limits: types.iter().map(|t| (*t, None)).collect(),
        };
        let secret = format!("{login}-secret-0123456789");
        let now = chrono::Utc::now().naive_utc();
        let account = NewAccount {
            login,
            secret: &secret,
            trial: false,
            grants: &grants,
            now,
            by: &ipls::domain::Source::Cli,
        };
        create(&mut conn, &account, &test_secrets()).unwrap();
    }

    // 8 IPs x 10 calls: alternating resellers, instances and imunify types, all at once.
    let calls: Vec<(usize, &str, String, i32)> = (0..80)
        .map(|i| {
            let login = if i % 2 == 0 { "alice" } else { "bob" };
            (
                i % instances.len(),
                login,
                format!("203.0.113.{}", 160 + i % 8),
                types[(i / 2) % types.len()],
            )
        })
        .collect();
    let barrier = Arc::new(Barrier::new(calls.len()));
    let addrs: Vec<_> = instances.iter().map(|p| p.addr).collect();
    let threads: Vec<_> = calls
        .into_iter()
        .map(|(instance, login, ip, type_id)| {
            let barrier = barrier.clone();
            let addr = addrs[instance];
            std::thread::spawn(move || {
                let secret = format!("{login}-secret-0123456789");
                let token = auth::mint(
                    login,
                    &secret,
                    chrono::Utc::now().timestamp(),
                    HashForm::LegacySha1,
                );
                barrier.wait();
                let target = format!("/api/ipl/register.json?ip={ip}&type={type_id}&token={token}");
                let value = http::request(addr, "GET", &target, &[], b"").json();
                (login, ip, type_id, value)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();

    let rows: Vec<(String, i32, i64)> = ip_licenses::table
        .select((
            ip_licenses::ip,
            ip_licenses::type_id,
            ip_licenses::reseller_id,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 8, "one imunify license per IP: {rows:?}");
    let owners: HashMap<i64, String> = ipls::domain::resellers::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.login))
        .collect();
    let held: HashMap<String, (i32, String)> = rows
        .into_iter()
        .map(|(ip, t, owner)| (ip, (t, owners[&owner].clone())))
        .collect();
    for (login, ip, type_id, value) in results {
        let (held_type, owner) = &held[&ip];
        if value["success"] == true {
            assert_eq!(
                (*held_type, owner.as_str()),
                (type_id, login),
                "{ip}: a success is the row that stands"
            );
        } else {
            let message = value["message"].as_str().unwrap();
            assert!(message.contains(&ip), "{message}");
        }
    }
}

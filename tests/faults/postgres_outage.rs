//! Fault 1: Postgres stopped for 3 s and started again, under load.

use std::time::{Duration, Instant};

use ipls::db::DatabaseUrl;

use crate::common::cluster::Cluster;
use crate::load::Load;
use crate::setup::{acme_clients, can_inject, one_at_a_time, run_for, seed, serve, target, verify};

#[test]
fn postgres_stopped_and_started() {
    let _serial = one_at_a_time();
    let binaries = std::path::Path::new("/usr/lib/postgresql").exists();
    if !can_inject("PostgreSQL's server binaries", binaries) {
        return;
    }
    let cluster = Cluster::create();
    cluster.start();
    let url = DatabaseUrl::parse(&cluster.url()).unwrap();
    seed(&url);
    let server = serve(&cluster.url(), &[]);
    let load = Load::start(target(server.addr), acme_clients(3));
    run_for(&load, Duration::from_secs(1), 30);
    let fault_started = Instant::now();
    cluster.stop();
    std::thread::sleep(Duration::from_secs(3));
    cluster.start();
    let fault_ended = Instant::now();
    run_for(&load, Duration::from_secs(2), 30);
    let outcomes = load.finish();
    verify(
        "Postgres stopped 3 s",
        &url,
        &outcomes,
        (fault_started, fault_ended),
        false,
    );
    drop(server);
}

//! Fault 1: Postgres stopped for 3 s and started again, under load.

use std::time::Duration;

use ipls::db::DatabaseUrl;

use crate::common::cluster::Cluster;
use crate::setup::{acme_clients, can_inject, one_at_a_time, seed, serve, target, under_fault};

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
    under_fault(
        "Postgres stopped 3 s",
        &url,
        target(server.addr),
        acme_clients(3),
        false,
        || {
            cluster.stop();
            std::thread::sleep(Duration::from_secs(3));
            cluster.start();
        },
    );
}

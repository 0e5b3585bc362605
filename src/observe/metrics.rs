//! Prometheus text-format metrics: requests by endpoint and status, a latency histogram per
//! endpoint, database pool usage and database errors. Hand-written: a few counters need
//! no registry crate (and its HTTP stack).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::db::Pool;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct EndpointStats {
    by_status: BTreeMap<u16, u64>,
    /// Counts per bucket (not cumulative); the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    endpoints: Mutex<HashMap<String, EndpointStats>>,
    /// Token hashes compared against a secret (or the decoy of an unknown login): what the
    /// failure budgets bound.
    pub auth_verifications: AtomicU64,
}

impl Metrics {
    pub fn record(&self, endpoint: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match endpoints.get_mut(endpoint) {
            Some(stats) => stats,
            None => endpoints.entry(endpoint.to_string()).or_default(),
        };
        *stats.by_status.entry(status).or_default() += 1;
        stats.buckets[slot] += 1;
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    pub fn render(&self, pool: &Pool) -> String {
        let mut out = String::new();
        let endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&String> = endpoints.keys().collect();
        names.sort();
        out.push_str("# HELP ipls_requests_total HTTP requests by endpoint and status.\n");
        out.push_str("# TYPE ipls_requests_total counter\n");
        for name in &names {
            for (status, count) in &endpoints[*name].by_status {
                let _ = writeln!(
                    out,
                    "ipls_requests_total{{endpoint=\"{name}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP ipls_request_duration_seconds Time to the response head, by endpoint.\n",
        );
        out.push_str("# TYPE ipls_request_duration_seconds histogram\n");
        for name in &names {
            let stats = &endpoints[*name];
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&stats.buckets) {
                cumulative += count;
                let _ = writeln!(out, "ipls_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(
                out,
                "ipls_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "ipls_request_duration_seconds_sum{{endpoint=\"{name}\"}} {}",
                stats.sum_seconds
            );
            let _ = writeln!(
                out,
                "ipls_request_duration_seconds_count{{endpoint=\"{name}\"}} {}",
                stats.count
            );
        }
        drop(endpoints);
        pool_lanes(&mut out, pool);
        out.push_str("# HELP ipls_db_errors_total Database calls that failed (unavailable or internal).\n# TYPE ipls_db_errors_total counter\n");
        let _ = writeln!(out, "ipls_db_errors_total {}", crate::db::errors_total());
        out.push_str("# HELP ipls_auth_verifications_total Token hashes checked against a secret.\n# TYPE ipls_auth_verifications_total counter\n");
        let _ = writeln!(
            out,
            "ipls_auth_verifications_total {}",
            self.auth_verifications.load(Ordering::Relaxed)
        );
        out
    }
}

/// Each lane's pool (`db::lanes`): its connections, and how often and how long calls waited
/// for one.
fn pool_lanes(out: &mut String, pool: &Pool) {
    let figures: Vec<_> = crate::db::Lane::ALL
        .into_iter()
        .map(|lane| (lane.name(), pool.lane_figures(lane)))
        .collect();
    let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(usize) -> String| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (i, (lane, _)) in figures.iter().enumerate() {
            let _ = writeln!(out, "{name}{{pool=\"{lane}\"}} {}", value(i));
        }
    };
    let f = &figures;
    family(
        "ipls_db_pool_connections",
        "gauge",
        "Open database connections, per lane.",
        &|i| f[i].1 .0.connections.to_string(),
    );
    family(
        "ipls_db_pool_idle_connections",
        "gauge",
        "Idle database connections, per lane.",
        &|i| f[i].1 .0.idle_connections.to_string(),
    );
    family(
        "ipls_db_pool_max_connections",
        "gauge",
        "Pool size, per lane.",
        &|i| f[i].1 .1.to_string(),
    );
    family(
        "ipls_db_pool_checkouts_total",
        "counter",
        "Connections handed to calls, per lane.",
        &|i| f[i].1 .2 .0.to_string(),
    );
    family(
        "ipls_db_pool_waits_total",
        "counter",
        "Checkouts that found no free connection and waited, per lane.",
        &|i| f[i].1 .2 .1.to_string(),
    );
    family(
        "ipls_db_pool_wait_seconds_total",
        "counter",
        "Time calls spent waiting for a connection, per lane.",
        &|i| format!("{:.6}", f[i].1 .2 .2),
    );
    family(
        "ipls_db_pool_timeouts_total",
        "counter",
        "Checkouts that gave up after IPLS_DB_TIMEOUT_MS, per lane.",
        &|i| f[i].1 .2 .3.to_string(),
    );
}

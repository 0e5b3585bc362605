//! Trials as CLN's FAQ states them: once per product family per account, one server for
//! CloudLinux OS and Imunify360 and any number for KernelCare, all of a family's servers
//! ending 30 days after its first; the per-IP rule kept; refusals in CLN's envelope.

use chrono::Duration;
use serde_json::json;

use crate::common::{Options, TestServer};

fn trial_ends(srv: &TestServer, ip: &str) -> i64 {
    srv.count(&format!(
        "SELECT count(*) AS n FROM ip_licenses WHERE ip = '{ip}' AND trial_expires_at IS NOT NULL"
    ))
}

crate::on_both_kinds! {
    fn one_server_for_cloudlinux_and_imunify_any_for_kernelcare(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let t = srv.add_reseller_with("trial", vec![(1, None), (16, None), (41, None)], true);
        t.ok("register", "ip=203.0.113.1&type=1");
        let message = t.refused("register", "ip=203.0.113.2&type=1");
        assert!(message.contains("A trial holds 1 server for cloudlinux licenses: IP 203.0.113.1"), "{message}");
        t.ok("register", "ip=203.0.113.1&type=41");
        let message = t.refused("register", "ip=203.0.113.2&type=41");
        assert!(message.contains("A trial holds 1 server for imunify licenses"), "{message}");
        for i in 1..=3 {
            t.ok("register", &format!("ip=203.0.113.{i}&type=16"));
        }
        assert_eq!(t.ok("availability", "ip=203.0.113.9")["available"], json!([16]));
        // Holding one at a time: the CloudLinux server can be replaced while the trial
        // lasts, but not by its old IP (the per-IP rule, in CLN's words).
        t.ok("remove", "ip=203.0.113.1&type=1");
        t.ok("register", "ip=203.0.113.2&type=1");
        t.ok("remove", "ip=203.0.113.2&type=1");
        assert_eq!(
            t.refused("register", "ip=203.0.113.1&type=1"),
            "You can register the IP: 203.0.113.1 under a paid license only."
        );
        // A paid account is not limited.
        let paid = srv.add_reseller("paid", &[1]);
        paid.ok("register", "ip=198.51.100.1&type=1");
        paid.ok("register", "ip=198.51.100.2&type=1");
    }

    fn a_familys_servers_end_with_its_first_and_start_once(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let t = srv.add_reseller_with("trial", vec![(1, None), (16, None)], true);
        t.ok("register", "ip=203.0.113.1&type=16");
        srv.clock.advance(Duration::days(10));
        t.ok("register", "ip=203.0.113.2&type=16");
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM ip_licenses WHERE type_id = 16 \
                       AND trial_expires_at = (SELECT MIN(trial_expires_at) FROM ip_licenses)"),
            2,
            "the second KernelCare server ends when the first does"
        );
        assert_eq!(trial_ends(&srv, "203.0.113.2"), 1);
        srv.clock.advance(Duration::days(20));
        // Day 30: both ended; a third server is refused, the trial was started once.
        assert_eq!(t.ok("check", "ip=203.0.113.2"), json!([]));
        let message = t.refused("register", "ip=203.0.113.3&type=16");
        assert!(message.starts_with("A trial can be started only once for each product in an account"), "{message}");
        assert!(message.contains("started 2026-11-28 and ended 2026-12-28"), "{message}");
        // Another family's trial starts now, with its own 30 days.
        t.ok("register", "ip=203.0.113.3&type=1");
        assert_eq!(t.ok("availability", "ip=203.0.113.4")["available"], json!([]));
    }

    fn concurrent_trial_registrations_take_one_server(kind) {
        let Some(srv) = TestServer::start_with(kind, Options { workers: 4, ..Options::default() }) else { return };
        let t = srv.add_reseller_with("trial", vec![(1, None)], true);
        let threads: Vec<_> = (1..=8)
            .map(|i| {
                let t = t.clone();
                std::thread::spawn(move || t.json("register", &format!("ip=203.0.113.{i}&type=1"))["success"] == true)
            })
            .collect();
        let won = threads.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
        assert_eq!(won, 1);
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 1);
    }
}

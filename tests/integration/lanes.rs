//! Reads keep their own connections (`db::lanes`): with every connection of the writes lane
//! held by a write that waits on a lock, lookups, lists and pages still answer at once, while
//! another write waits its turn and ends in 503; `/metrics` shows which lane waited.

use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::common::{Kind, Options, TestServer};

/// The value of `name{pool="lane"}` on /metrics.
fn lane_metric(srv: &TestServer, name: &str, lane: &str) -> f64 {
    let text = srv.get("/metrics").text();
    let prefix = format!("{name}{{pool=\"{lane}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
        .parse()
        .expect("a number")
}

crate::on_both_kinds! {
    fn reads_answer_while_every_write_connection_waits(kind) {
        let Some(srv) = TestServer::start_with(
            kind,
            Options {
                configure: |c| {
                    c.pool.max_size = 1;
                    c.pool.checkout_timeout = Duration::from_millis(500);
                    c.pool.lock_timeout_ms = 5_000;
                },
                ..Options::default()
            },
        ) else {
            return;
        };
        let r = srv.add_reseller_with("acme", vec![(1, Some(10))], false);
        r.ok("register", "ip=203.0.113.1&type=1");
        // A session outside ipls holds what a limited registration needs: acme's row lock on
        // Postgres, the write lock on SQLite. The registration waits on it, holding the
        // writes lane's only connection.
        let mut holder = srv.conn();
        let hold = match kind {
            Kind::Postgres => "BEGIN; SELECT * FROM resellers WHERE login = 'acme' FOR UPDATE;",
            Kind::Sqlite => "BEGIN IMMEDIATE;",
        };
        holder.batch_execute(hold).unwrap();
        let waiting = {
            let r = r.clone();
            std::thread::spawn(move || r.call("register", "ip=203.0.113.2&type=1"))
        };
        while lane_metric(&srv, "ipls_db_pool_idle_connections", "writes") > 0.0 {
            std::thread::sleep(Duration::from_millis(10));
        }

        // Reads take the reads lane: answered, not made to wait for a writes connection.
        assert_eq!(r.ok("check", "ip=203.0.113.1"), serde_json::json!([1]));
        assert_eq!(r.ok("availability", "ip=203.0.113.1")["owned"], serde_json::json!([1]));
        assert_eq!(r.ok("list", "")[0]["ip"], "203.0.113.1");
        assert_eq!(r.ok("server", "ip=203.0.113.1")[0]["type"], 1);
        let status = srv.get("/api/status.json");
        assert_eq!(status.json()["data"]["db_clweb_online"], true, "{}", status.text());
        // Another write waits for the writes lane, and gives up after the checkout timeout.
        let second = r.call("remove", "ip=203.0.113.1&type=1");
        assert_eq!(second.status, 503, "{}", second.text());
        assert_eq!(lane_metric(&srv, "ipls_db_pool_timeouts_total", "reads"), 0.0);
        assert!(lane_metric(&srv, "ipls_db_pool_timeouts_total", "writes") >= 1.0);
        assert!(lane_metric(&srv, "ipls_db_pool_waits_total", "writes") >= 1.0);

        holder.batch_execute("ROLLBACK").unwrap();
        let first = waiting.join().unwrap();
        assert_eq!(first.status, 200, "{}", first.text());
        assert_eq!(first.json()["success"], true, "{}", first.text());
        assert_eq!(r.ok("check", "ip=203.0.113.1"), serde_json::json!([1]), "the 503 remove changed nothing");
    }
}

//! "Not checking in" over HTTP on both backends: paged with its total, narrowed to a CIDR
//! block, and CLN's "Remove unused server licenses": every license silent for N days removed
//! in one confirmed action, exactly the set confirmed, with each removal in the history.

use chrono::Duration;
use ipls::domain::users::Role;

use crate::common::console::{add_user, field_value, get, log_in, post, PASSWORD};
use crate::common::{http, Kind, Options, TestServer};
use crate::on_both_kinds;

fn check_in(srv: &TestServer, ip: &str) {
    let answer = http::request(
        srv.addr,
        "GET",
        "/api/server/checkin.json",
        &[("x-forwarded-for", ip)],
        b"",
    );
    assert_eq!(answer.json()["success"], true, "{ip}: {}", answer.text());
}

/// The number in `<strong ... id="total">N</strong>`.
fn total(page: &str) -> i64 {
    let start = page.find("id=\"total\">").expect("a total") + "id=\"total\">".len();
    let end = page[start..].find('<').expect("its end") + start;
    page[start..end].parse().expect("a number")
}

fn lab(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            trusted_proxies: "127.0.0.1",
            ..Options::default()
        },
    )
}

on_both_kinds! {
    fn unused_licenses_go_in_one_confirmed_action(kind) {
        let Some(srv) = lab(kind) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        for i in 1..=60 {
            acme.ok("register", &format!("ip=203.0.113.{i}&type=1"));
            acme.ok("register", &format!("ip=198.51.100.{i}&type=1"));
        }
        srv.clock.advance(Duration::days(10));
        for i in 1..=10 {
            check_in(&srv, &format!("198.51.100.{i}"));
        }
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "viewer@acme.example", Role::ServersReadOnly, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);

        // Paged, with the total: 110 silent, 50 a page, in address order.
        let page = get(&srv, &s.cookie, "/console/stale?days=7").text();
        assert_eq!(total(&page), 110);
        assert!(page.contains("page 1 of 3"), "{page}");
        assert_eq!(page.matches("<td class=\"ip\"").count(), 50);
        assert!(page.contains("rel=\"next\""));
        // Narrowed to a block.
        let block = get(&srv, &s.cookie, "/console/stale?days=7&ip=198.51.100.0%2F24").text();
        assert_eq!(total(&block), 50);
        assert!(block.contains("198.51.100.11<") && !block.contains("198.51.100.10<"), "the ten that checked in are not listed");

        // The removal states its count; a server that checks in meanwhile leaves the set.
        let confirm = get(&srv, &s.cookie, "/console/stale/remove?days=7&ip=198.51.100.0%2F24").text();
        assert!(confirm.contains("whose servers have not checked in for 7 days"), "{confirm}");
        let count = field_value(&confirm, "confirmed_count").expect("a count");
        let set = field_value(&confirm, "confirmed").expect("a set");
        assert_eq!(count, "50");
        check_in(&srv, "198.51.100.11");
        let remove = |count: &str, set: &str| {
            post(&srv, &s.cookie, "/console/stale/remove", &[
                ("csrf", &s.csrf), ("days", "7"), ("ip", "198.51.100.0/24"), ("confirmed_count", count), ("confirmed", set),
            ])
            .text()
        };
        let again = remove(&count, &set);
        assert!(again.contains("Nothing was removed: you confirmed 50 licenses"), "{again}");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 120);
        let done = remove(&field_value(&again, "confirmed_count").unwrap(), &field_value(&again, "confirmed").unwrap());
        assert!(done.contains("Removed <strong class=\"count\">49</strong> licenses."), "{done}");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 71);
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip LIKE '198.51.100.%'"), 11);
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'remove' AND source = 'console:ops@acme.example'"),
            49
        );

        // A role that may not remove is not offered it, and is refused if it asks.
        let viewer = log_in(&srv, "viewer@acme.example", PASSWORD);
        let seen = get(&srv, &viewer.cookie, "/console/stale?days=7").text();
        assert_eq!(total(&seen), 60);
        assert!(!seen.contains("/console/stale/remove"));
        assert_eq!(get(&srv, &viewer.cookie, "/console/stale/remove?days=7").status, 403);

        // The operator sees every reseller's, with whose they are.
        srv.add_reseller("beta", &[1]).ok("register", "ip=192.0.2.1&type=1");
        srv.clock.advance(Duration::days(8));
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let op = log_in(&srv, "root@ipls.example", PASSWORD);
        let all = get(&srv, &op.cookie, "/console/operator/stale?days=7").text();
        assert_eq!(total(&all), 72);
        assert!(all.contains(">beta</td>") && all.contains(">acme</td>"), "{all}");
        assert!(!all.contains("/console/stale/remove"));
    }
}

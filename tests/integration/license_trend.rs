//! The dashboard's small lines: a reseller's licenses per type at the end of each of the last
//! days, walked back from today through registrations, removals, a move and a conversion, on
//! both backends; the line on the dashboard, described in words; and the usage chart's months,
//! each equal to its own usage report.

use chrono::Duration;
use ipls::domain::license_trend::held_per_day;
use ipls::domain::users::Role;

use crate::common::console::{add_user, get, log_in, PASSWORD};
use crate::on_both_backends;

on_both_backends! {
    fn each_day_counts_what_was_held_at_its_end(srv) {
        let acme = srv.add_reseller("acme", &[1, 41, 42]);
        // Day 0 (2026-11-28): two of type 1 and one Imunify 41.
        acme.ok("register", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.2&type=1");
        acme.ok("register", "ip=203.0.113.3&type=41");
        srv.clock.advance(Duration::days(1));
        // Day 1: one of type 1 removed, another added and moved; the 41 converted to 42.
        acme.ok("remove", "ip=203.0.113.2&type=1");
        acme.ok("register", "ip=203.0.113.4&type=1");
        acme.ok("move", "ip=203.0.113.4&new_ip=203.0.113.5");
        acme.ok("convert", "ip=203.0.113.3&type=41&type_to=42");
        srv.clock.advance(Duration::days(2));
        // Day 3 (today): one more of type 1.
        acme.ok("register", "ip=203.0.113.6&type=1");
        let id = srv.count("SELECT id AS n FROM resellers WHERE login = 'acme'");
        let trend = held_per_day(&mut srv.conn(), id, 5, srv.now().naive_utc()).unwrap();
        assert_eq!(trend[&1], [0, 2, 2, 2, 3], "type 1: {trend:?}");
        assert_eq!(trend[&41], [0, 1, 0, 0, 0], "type 41: {trend:?}");
        assert_eq!(trend[&42], [0, 0, 1, 1, 1], "type 42: {trend:?}");

        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let page = get(&srv, &s.cookie, "/console/dashboard").text();
        assert!(page.contains("Licenses over the last 90 days: 0 then, 3 now (lowest 0, highest 3)"), "{page}");
    }
}

on_both_backends! {
    fn the_chart_gives_each_month_what_its_report_gives(srv) {
        let acme = srv.add_reseller("acme", &[1, 41, 42]);
        let beta = srv.add_reseller("beta", &[1]);
        acme.ok("register", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.2&type=41");
        beta.ok("register", "ip=198.51.100.1&type=1");
        srv.clock.advance(Duration::days(20));
        acme.ok("move", "ip=203.0.113.1&new_ip=203.0.113.9");
        acme.ok("convert", "ip=203.0.113.2&type=41&type_to=42");
        let t = crate::admin_api::token(&srv, "ops", false);
        crate::admin_api::ok(&srv, &t, "POST", "/api/admin/v1/licenses/203.0.113.9/suspend", Some(serde_json::json!({"reseller": "acme", "reason": "unpaid"})));
        srv.clock.advance(Duration::days(35));
        crate::admin_api::ok(&srv, &t, "POST", "/api/admin/v1/licenses/203.0.113.9/resume", Some(serde_json::json!({"reseller": "acme"})));
        beta.ok("remove", "ip=198.51.100.1&type=1");
        acme.ok("register", "ip=203.0.113.3&type=1");
        srv.clock.advance(Duration::days(40));
        let today = srv.now().date_naive();
        let last = ipls::domain::month::Month::containing(today);
        for reseller in [None, Some(srv.count("SELECT id AS n FROM resellers WHERE login = 'acme'"))] {
            let chart = ipls::domain::usage_trend::license_days(&mut srv.conn(), reseller, last, 6, today).unwrap();
            assert_eq!(chart.len(), 6);
            for month in &chart {
                let report = ipls::domain::usage::report(&mut srv.conn(), reseller, &month.month, today).unwrap();
                let mut by_type = std::collections::BTreeMap::new();
                for line in report {
                    *by_type.entry(line.usage.type_id).or_insert(0) += line.usage.license_days;
                }
                assert_eq!(month.days, by_type, "{} for {reseller:?}", month.month);
            }
            assert!(chart.iter().any(|m| !m.days.is_empty()), "{reseller:?}");
        }
    }
}

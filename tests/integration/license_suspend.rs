//! Suspend and resume (ours): a suspended license keeps its IP and its place in the limit, its
//! server is told at check-in, its days count apart in usage, moves and conversions wait for
//! a resume, and a grace period removes it unless resumed first.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use crate::admin_api::{call, ok, token};
use crate::common::{get_from, Kind, Options, TestServer};

fn lab(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            allow_private_ips: true,
            trusted_proxies: "127.0.0.1",
            ..Options::default()
        },
    )
}

fn suspend(srv: &TestServer, t: &str, ip: &str, body: serde_json::Value) -> serde_json::Value {
    ok(
        srv,
        t,
        "POST",
        &format!("/api/admin/v1/licenses/{ip}/suspend"),
        Some(body),
    )
}

fn resume(srv: &TestServer, t: &str, ip: &str) -> serde_json::Value {
    ok(
        srv,
        t,
        "POST",
        &format!("/api/admin/v1/licenses/{ip}/resume"),
        Some(json!({"reseller": "acme"})),
    )
}

crate::on_both_kinds! {
    fn a_suspended_license_keeps_its_ip_and_its_server_is_told(kind) {
        let Some(srv) = lab(kind) else { return };
        let acme = srv.add_reseller_with("acme", vec![(1, Some(1)), (16, None), (41, None), (42, None)], false);
        let other = srv.add_reseller("other", &[1]);
        acme.ok("register", "ip=10.0.0.1&type=1");
        acme.ok("register", "ip=10.0.0.1&type=41");
        let t = token(&srv, "billing", false);
        let done = suspend(&srv, &t, "10.0.0.1", json!({"reseller": "acme", "type": 1, "reason": "unpaid"}));
        assert_eq!(done[0]["suspended"]["reason"], "unpaid");
        assert_eq!(done[0]["suspended"]["since"], "2026-11-28T12:00:00Z");
        // Again: nothing more to suspend, and nothing changes.
        let again = suspend(&srv, &t, "10.0.0.1", json!({"reseller": "acme", "type": 1, "reason": "still unpaid"}));
        assert_eq!(again, json!([]));
        // It holds its IP, and the limit still counts it.
        assert!(other.refused("register", "ip=10.0.0.1&type=1").contains("another reseller"));
        assert!(acme.refused("register", "ip=10.0.0.2&type=1").contains("License limit reached"));
        // The CLN faces keep their shapes: it is still listed, as CLN lists a license.
        assert_eq!(acme.ok("check", "ip=10.0.0.1"), json!([1, 41]));
        assert_eq!(acme.ok("list", "")[0], json!({"ip": "10.0.0.1", "type": 1, "registered": false, "created": "2026-11-28T12:00+0000"}));
        // The server is told which of its types are suspended.
        let checkin = get_from(srv.addr, "10.0.0.1", "/api/server/checkin.json").json();
        assert_eq!(checkin["data"], json!({"ip": "10.0.0.1", "types": [1, 41], "suspended": [1]}), "{checkin}");
        // Moves, conversions and ELS changes wait for a resume; a remove does not.
        assert!(acme.refused("move", "ip=10.0.0.1&new_ip=10.0.0.3&type=1").contains("is suspended (unpaid); resume it first"));
        assert!(acme.refused("update", "ip=10.0.0.1&type=1&els_allowed=true").contains("resume it first"));
        suspend(&srv, &t, "10.0.0.1", json!({"reseller": "acme", "type": 41, "reason": "unpaid"}));
        assert!(acme.refused("convert", "ip=10.0.0.1&type=41&type_to=42").contains("resume it first"));
        // The admin API lists it suspended.
        let listed = ok(&srv, &t, "GET", "/api/admin/v1/licenses/10.0.0.1", None);
        assert_eq!(listed["items"][0]["suspended"]["reason"], "unpaid");
        let resumed = resume(&srv, &t, "10.0.0.1");
        assert_eq!(resumed.as_array().unwrap().len(), 2);
        assert_eq!(resume(&srv, &t, "10.0.0.1"), json!([]), "none was suspended");
        let checkin = get_from(srv.addr, "10.0.0.1", "/api/server/checkin.json").json();
        assert_eq!(checkin["data"], json!({"ip": "10.0.0.1", "types": [1, 41]}));
        assert_eq!(acme.ok("convert", "ip=10.0.0.1&type=41&type_to=42"), true);
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action IN ('suspend', 'resume')"),
            4
        );
        // Bad input changes nothing.
        for (body, status) in [
            (json!({"reseller": "acme", "reason": ""}), 400),
            (json!({"reseller": "acme", "reason": "   "}), 400),
            (json!({"reseller": "acme", "reason": "x", "remove_after": "soon"}), 400),
            (json!({"reseller": "acme", "reason": "x", "remove_after": "400d"}), 409),
            (json!({"reseller": "acme", "reason": "x", "remove_after": "0d"}), 409),
            (json!({"reseller": "acme", "reason": "x".repeat(201)}), 400),
        ] {
            let refused = call(&srv, &t, "POST", "/api/admin/v1/licenses/10.0.0.1/suspend", Some(body.clone()));
            assert_eq!(refused.status, status, "{body}: {}", refused.text());
        }
        let missing = call(&srv, &t, "POST", "/api/admin/v1/licenses/10.0.0.9/suspend", Some(json!({"reseller": "acme", "reason": "x"})));
        assert_eq!(missing.status, 404, "{}", missing.text());
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_suspensions"), 0);
    }

    fn usage_counts_suspended_days_apart(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        let t = token(&srv, "billing", false);
        let day = |m: u32, d: u32| Utc.with_ymd_and_hms(2028, m, d, 10, 0, 0).single().unwrap();
        srv.clock.set(day(2, 1));
        acme.ok("register", "ip=203.0.113.1&type=1");
        srv.clock.set(day(2, 10));
        suspend(&srv, &t, "203.0.113.1", json!({"reseller": "acme", "reason": "unpaid"}));
        srv.clock.set(day(2, 20));
        resume(&srv, &t, "203.0.113.1");
        srv.clock.set(day(3, 15));
        suspend(&srv, &t, "203.0.113.1", json!({"reseller": "acme", "reason": "unpaid again"}));
        srv.clock.set(day(5, 2));
        let usage = |month: &str| acme.ok("/api/usage.json", &format!("month={month}"))["usage"].clone();
        // February (29 days): billed the 1st to the 9th and the 20th on; suspended between.
        assert_eq!(usage("2028-02"), json!([{"type": 1, "license_days": 19, "peak": 1, "amount": null, "suspended_days": 10}]));
        // March: billed to the 14th, suspended from the 15th.
        assert_eq!(usage("2028-03"), json!([{"type": 1, "license_days": 14, "peak": 1, "amount": null, "suspended_days": 17}]));
        // April: suspended all month, since before it began.
        assert_eq!(usage("2028-04"), json!([{"type": 1, "license_days": 0, "peak": 0, "amount": null, "suspended_days": 30}]));
    }

    fn a_grace_period_removes_it_unless_resumed(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        acme.ok("register", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.2&type=1");
        let cli = |args: &[&str]| {
            crate::common::process::ipls_cli(&srv.db, Some(crate::common::TEST_MASTER_KEY), args)
        };
        for ip in ["203.0.113.1", "203.0.113.2"] {
            let out = cli(&["license", "suspend", "--reseller", "acme", "--ip", ip, "--reason", "unpaid", "--remove-after", "14d"]);
            assert!(out.status.success(), "{out:?}");
            assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("suspended acme's {ip} type 1")));
        }
        let listed = cli(&["license", "list", "--reseller", "acme", "--format", "csv"]);
        assert!(String::from_utf8_lossy(&listed.stdout).contains("suspended: unpaid"));
        let out = cli(&["license", "resume", "--reseller", "acme", "--ip", "203.0.113.2"]);
        assert!(out.status.success(), "{out:?}");
        // The CLI's clock is the real one: its remove date is 14 days from now, past the
        // server's clock. Move the test clock past it and let the worker remove the first.
        srv.clock.set(Utc::now() + Duration::days(15));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '203.0.113.1'") > 0 {
            assert!(std::time::Instant::now() < deadline, "the grace period did not remove it");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(acme.ok("check", "ip=203.0.113.2"), json!([1]), "the resumed one stays");
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'remove' \
                       AND detail = 'suspended, grace period ended' AND source = 'ipls'"),
            1
        );
    }
}

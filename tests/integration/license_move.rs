//! move.json (ours), the admin API's move and `ipls license move`: the same license on a new
//! IP, by a registration's rules, with no moment when either IP is free; races with a
//! registration of the new IP and with a remove of the old one.

use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::json;

use crate::admin_api::{call, ok, token};
use crate::common::{get_from, Kind, Options, Reseller, TestServer};

fn lab(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            allow_private_ips: true,
            trusted_proxies: "127.0.0.1",
            workers: 4,
            ..Options::default()
        },
    )
}

fn moves(srv: &TestServer) -> i64 {
    srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'move'")
}

crate::on_both_kinds! {
    fn a_move_keeps_the_license_and_starts_the_server_afresh(kind) {
        let Some(srv) = lab(kind) else { return };
        let r = srv.add_reseller("alice", &[1, 16]);
        r.ok("register", "ip=10.0.0.5&type=1&els_allowed=true");
        r.ok("register", "ip=10.0.0.5&type=16");
        let checkin = get_from(srv.addr, "10.0.0.5", "/api/server/checkin.json?server_info=web1");
        assert_eq!(checkin.json()["success"], true);
        srv.clock.advance(chrono::Duration::days(3));

        let moved = r.ok("move", "ip=10.0.0.5&new_ip=10.0.0.6&type=1");
        assert_eq!(
            moved,
            json!([{"ip": "10.0.0.6", "type": 1, "registered": false, "created": "2026-11-28T12:00+0000"}]),
            "created is kept; the server registers afresh"
        );
        assert_eq!(r.ok("check", "ip=10.0.0.5"), json!([16]));
        assert_eq!(r.ok("check", "ip=10.0.0.6"), json!([1]));
        let row = &r.ok("server", "ip=10.0.0.6")[0];
        assert_eq!(row["server_info"], json!(null));
        assert_eq!(row["last_checkin"], json!(null));
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '10.0.0.6' AND els_allowed"),
            1,
            "ELS is kept"
        );
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'move' \
                       AND ip = '10.0.0.6' AND detail = 'from=10.0.0.5' AND type_id = 1"),
            1,
            "one move row with both IPs"
        );
        // Without a type, every type held there moves.
        let moved = r.ok("move", "ip=10.0.0.5&new_ip=10.0.0.7");
        assert_eq!(moved[0]["type"], 16);
        assert_eq!(r.ok("check", "ip=10.0.0.5"), json!([]));
        assert_eq!(moves(&srv), 2);
        // Usage: each license is one license counting each day once (register on the 28th,
        // moved on 1 December: November counts 3 days of type 1 and of type 16).
        let usage = r.ok("/api/usage.json", "month=2026-11");
        assert_eq!(
            usage["usage"],
            json!([
                {"type": 1, "license_days": 3, "peak": 1, "amount": null, "suspended_days": 0},
                {"type": 16, "license_days": 3, "peak": 1, "amount": null, "suspended_days": 0}
            ])
        );
        srv.clock.advance(chrono::Duration::days(40));
        let usage = r.ok("/api/usage.json", "month=2026-12");
        assert_eq!(
            usage["usage"],
            json!([
                {"type": 1, "license_days": 31, "peak": 1, "amount": null, "suspended_days": 0},
                {"type": 16, "license_days": 31, "peak": 1, "amount": null, "suspended_days": 0}
            ]),
            "December: moved on the 1st, counted once a day all month"
        );
    }

    fn a_move_is_refused_where_a_registration_would_be(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let a = srv.add_reseller("alice", &[1, 16, 41]);
        let b = srv.add_reseller("bob", &[1, 2]);
        a.ok("register", "ip=203.0.113.10&type=1");
        a.ok("register", "ip=203.0.113.10&type=41");
        b.ok("register", "ip=203.0.113.11&type=1");
        b.ok("register", "ip=203.0.113.12&type=2");
        a.ok("register", "ip=203.0.113.13&type=16");
        let before = a.ok("list", "");
        let cases = [
            ("ip=203.0.113.10&new_ip=203.0.113.11&type=1", "held by another reseller"),
            ("ip=203.0.113.10&new_ip=203.0.113.12&type=1", "exclusive cloudlinux family"),
            ("ip=203.0.113.10&new_ip=10.0.0.1&type=1", "private address"),
            ("ip=203.0.113.10&new_ip=203.0.113.10", "current IP"),
            ("ip=203.0.113.99&new_ip=203.0.113.98", "You hold no license on IP 203.0.113.99"),
            ("ip=203.0.113.10&new_ip=203.0.113.98&type=16", "no license of type 16"),
            ("ip=203.0.113.11&new_ip=203.0.113.98", "You hold no license on IP 203.0.113.11"),
            ("ip=203.0.113.10", "new_ip is required"),
            ("ip=203.0.113.10&new_ip=bogus", "Invalid"),
            ("ip=203.0.113.10&new_ip=203.0.113.98&type=x", "Invalid type"),
        ];
        for (params, expected) in cases {
            let message = a.refused("move", params);
            assert!(message.contains(expected), "{params}: {message}");
        }
        // Every type on .10 to .11: 41 could go, type 1 is held there by bob, so nothing
        // moves (one transaction).
        let message = a.refused("move", "ip=203.0.113.10&new_ip=203.0.113.11");
        assert!(message.contains("held by another reseller"), "{message}");
        assert_eq!(a.ok("list", ""), before, "a refused move changes nothing");
        assert_eq!(moves(&srv), 0);
        // Blocked accounts may not move.
        ipls::domain::resellers::update(
            &mut srv.conn(),
            "alice",
            &ipls::domain::resellers::AccountChanges {
                blocked_reason: Some(Some("unpaid".into())),
                ..Default::default()
            },
            &crate::common::test_secrets(),
            &crate::common::by_cli(),
        )
        .unwrap();
        assert!(a.refused("move", "ip=203.0.113.10&new_ip=203.0.113.98").contains("blocked"));
    }

    fn a_trial_keeps_its_end_and_the_per_ip_trial_rule_holds(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let t = srv.add_reseller_with("trial", vec![(1, None), (16, None)], true);
        t.ok("register", "ip=203.0.113.20&type=16");
        t.ok("register", "ip=203.0.113.21&type=16");
        t.ok("remove", "ip=203.0.113.21&type=16");
        let ends = |ip: &str| {
            srv.count(&format!(
                "SELECT count(*) AS n FROM ip_licenses WHERE ip = '{ip}' AND trial_expires_at IS NOT NULL"
            ))
        };
        // .21 had a KernelCare trial already: the trial cannot move there.
        let message = t.refused("move", "ip=203.0.113.20&new_ip=203.0.113.21");
        assert!(message.contains("under a paid license only"), "{message}");
        t.ok("move", "ip=203.0.113.20&new_ip=203.0.113.22");
        assert_eq!(ends("203.0.113.22"), 1, "still a trial");
        let detail = srv.count(
            "SELECT count(*) AS n FROM license_events WHERE action = 'move' AND detail = 'from=203.0.113.20;trial'",
        );
        assert_eq!(detail, 1);
    }

    fn the_admin_api_and_the_cli_move_and_dry_runs_change_nothing(kind) {
        let Some(srv) = TestServer::start(kind) else { return };
        let a = srv.add_reseller("alice", &[1]);
        a.ok("register", "ip=203.0.113.30&type=1");
        let admin = token(&srv, "billing", false);
        let body = json!({"reseller": "alice", "new_ip": "203.0.113.31"});
        let dry = call(&srv, &admin, "POST", "/api/admin/v1/licenses/203.0.113.30/move?dry_run=true", Some(body.clone()));
        assert_eq!(dry.status, 200, "{}", dry.text());
        assert_eq!(dry.header("ipls-dry-run"), Some("true"));
        assert_eq!(dry.json()[0]["ip"], "203.0.113.31");
        assert_eq!(a.ok("check", "ip=203.0.113.30"), json!([1]), "the dry run changed nothing");
        assert_eq!(moves(&srv), 0);
        let moved = ok(&srv, &admin, "POST", "/api/admin/v1/licenses/203.0.113.30/move", Some(body));
        assert_eq!(moved[0]["ip"], "203.0.113.31");
        assert_eq!(moved[0]["reseller"], "alice");
        assert_eq!(moved[0]["type"], 1);
        assert_eq!(a.ok("check", "ip=203.0.113.31"), json!([1]));
        let refused = call(&srv, &admin, "POST", "/api/admin/v1/licenses/203.0.113.30/move",
            Some(json!({"reseller": "alice", "new_ip": "203.0.113.32"})));
        assert_eq!(refused.status, 404, "{}", refused.text());
        let unknown = call(&srv, &admin, "POST", "/api/admin/v1/licenses/203.0.113.31/move",
            Some(json!({"reseller": "alice", "new_ip": "203.0.113.32", "extra": 1})));
        assert_eq!(unknown.status, 400, "{}", unknown.text());

        let cli = |args: &[&str]| {
            crate::common::process::ipls_cli(&srv.db, Some(crate::common::TEST_MASTER_KEY), args)
        };
        let out = cli(&["license", "move", "203.0.113.31", "203.0.113.33", "--dry-run"]);
        assert!(out.status.success(), "{out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("moved alice's license(s) of type 1 from 203.0.113.31 to 203.0.113.33"), "{said}");
        assert!(said.contains("dry run: every rule was checked and nothing was changed"), "{said}");
        assert_eq!(a.ok("check", "ip=203.0.113.31"), json!([1]));
        assert_eq!(moves(&srv), 1, "the CLI's dry run changed nothing");
        let out = cli(&["license", "move", "203.0.113.31", "203.0.113.33", "--type", "1"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(a.ok("check", "ip=203.0.113.33"), json!([1]));
        let out = cli(&["license", "move", "203.0.113.31", "203.0.113.34"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no license on IP 203.0.113.31"), "{out:?}");
        assert_eq!(moves(&srv), 2);
    }

    fn a_move_racing_a_registration_of_the_new_ip_leaves_one_winner(kind) {
        let Some(srv) = lab(kind) else { return };
        let a = srv.add_reseller("alice", &[1]);
        let b = srv.add_reseller("bob", &[1]);
        for round in 0..8 {
            let (old, new) = (format!("10.1.{round}.1"), format!("10.1.{round}.2"));
            a.ok("register", &format!("ip={old}&type=1"));
            let (moved, registered) = at_once(
                (a.clone(), format!("move?ip={old}&new_ip={new}")),
                (b.clone(), format!("register?ip={new}&type=1")),
            );
            assert_ne!(moved, registered, "round {round}: exactly one wins");
            let holders = |ip: &str| {
                srv.count(&format!("SELECT count(*) AS n FROM ip_licenses WHERE ip = '{ip}'"))
            };
            assert_eq!(holders(&new), 1, "round {round}");
            assert_eq!(holders(&old), if moved { 0 } else { 1 }, "round {round}");
        }
    }

    fn a_move_racing_a_remove_of_the_old_ip_never_leaves_two(kind) {
        let Some(srv) = lab(kind) else { return };
        let a = srv.add_reseller("alice", &[1]);
        for round in 0..8 {
            let (old, new) = (format!("10.2.{round}.1"), format!("10.2.{round}.2"));
            a.ok("register", &format!("ip={old}&type=1"));
            let (moved, removed) = at_once(
                (a.clone(), format!("move?ip={old}&new_ip={new}")),
                (a.clone(), format!("remove?ip={old}&type=1")),
            );
            let held = srv.count(&format!(
                "SELECT count(*) AS n FROM ip_licenses WHERE ip IN ('{old}', '{new}')"
            ));
            // Either the move came first (the remove then found nothing on the old IP) or
            // the remove did (the move then found nothing to move).
            assert!(moved != removed || !moved, "round {round}: both cannot act");
            assert_eq!(held, if moved { 1 } else { 0 }, "round {round}");
        }
    }
}

/// Runs two calls at once (`endpoint?params`); whether each answered success.
fn at_once(first: (Reseller, String), second: (Reseller, String)) -> (bool, bool) {
    let barrier = Arc::new(Barrier::new(2));
    let run = |(reseller, call): (Reseller, String)| {
        let barrier = barrier.clone();
        thread::spawn(move || {
            let (endpoint, params) = call.split_once('?').unwrap_or((&call, ""));
            barrier.wait();
            let value = reseller.json(endpoint, params);
            value["success"] == true && value["data"] != json!(false)
        })
    };
    let (one, two) = (run(first), run(second));
    (one.join().unwrap(), two.join().unwrap())
}

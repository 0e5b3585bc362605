//! server.json, update.json and convert.json.

use serde_json::json;

use crate::common::assert_envelope;
use crate::on_both_backends;

on_both_backends! {
    fn server_rows_for_several_ips(srv) {
        let r = srv.add_reseller("alice", &[1, 16]);
        r.ok("register", "ip=203.0.113.70&type=1");
        r.ok("register", "ip=203.0.113.71&type=16");
        r.ok("register", "ip=203.0.113.72&type=16");
        let rows = r.ok("server", "ip=203.0.113.71,203.0.113.70,%20203.0.113.99");
        assert_eq!(
            rows,
            json!([
                {"server_info": null, "ip": "203.0.113.70", "type": 1, "registered": false,
                 "created": "2026-11-28T12:00+0000", "last_checkin": null},
                {"server_info": null, "ip": "203.0.113.71", "type": 16, "registered": false,
                 "created": "2026-11-28T12:00+0000", "last_checkin": null}
            ])
        );
        assert_eq!(r.ok("server", "ip=203.0.113.99"), json!([]));
    }

    fn server_refuses_bad_calls_with_an_envelope(srv) {
        let r = srv.add_reseller("alice", &[1]);
        assert!(r.refused("server", "").contains("ip is required"));
        assert!(r.refused("server", "ip=").contains("ip is required"));
        assert!(r.refused("server", "ip=203.0.113.1,bogus").contains("Invalid IP"));
        let many: Vec<String> = (0..101).map(|i| format!("198.51.100.{i}")).collect();
        assert!(r.refused("server", &format!("ip={}", many.join(","))).contains("at most 100"));
        let hundred: Vec<String> = (0..100).map(|i| format!("198.51.100.{i}")).collect();
        assert_eq!(r.ok("server", &format!("ip={}", hundred.join(","))), json!([]));
    }

    fn update_sets_els_allowed(srv) {
        let r = srv.add_reseller("alice", &[1, 5003]);
        r.ok("register", "ip=203.0.113.80&type=1");
        r.ok("register", "ip=203.0.113.80&type=5003");
        assert_eq!(r.ok("update", "ip=203.0.113.80&type=1&els_allowed=true"), true);
        assert_eq!(r.ok("update", "ip=203.0.113.80&els_allowed=false"), true);
        assert_eq!(r.ok("update", "ip=203.0.113.81&els_allowed=true"), false);
        assert_eq!(r.ok("update", "ip=203.0.113.80&type=16&els_allowed=true"), false);
        assert!(r.refused("update", "ip=203.0.113.80").contains("els_allowed is required"));
        assert!(r.refused("update", "ip=203.0.113.80&els_allowed=yes").contains("els_allowed"));
        // Called without any parameter (Go client): an envelope, not a 404.
        let value = srv.get(&format!("/api/ipl/update.json?token={}", r.token())).json();
        assert_envelope(&value);
        assert_eq!(value["success"], false);
    }

    fn convert_within_a_convertible_family(srv) {
        let r = srv.add_reseller_with("alice", vec![(1, None), (16, None), (40, None), (41, None), (42, None), (43, Some(0))], false);
        r.ok("register", "ip=203.0.113.90&type=41");
        srv.clock.advance(chrono::Duration::days(3));
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=41&type_to=42"), true);
        assert_eq!(
            r.ok("list", ""),
            json!([{"created": "2026-11-28T12:00+0000", "ip": "203.0.113.90", "registered": false, "type": 42}]),
            "created is kept"
        );
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=41&type_to=40"), false, "no longer holds 41");
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=42&type_to=44"), false, "44 not enabled");
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=42&type_to=43"), false, "43 over its limit");
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=42&type_to=999"), false, "unknown type");
        r.ok("register", "ip=203.0.113.91&type=1");
        assert_eq!(r.ok("convert", "ip=203.0.113.91&type=1&type_to=16"), false, "other family");
        assert_eq!(r.ok("convert", "ip=203.0.113.90&type=42&type_to=40"), true);
        assert_eq!(r.ok("check", "ip=203.0.113.90"), json!([40]));
        assert!(r.refused("convert", "ip=203.0.113.90&type=40").contains("type_to is required"));
        assert!(r.refused("convert", "ip=203.0.113.90&type=x&type_to=41").contains("Invalid type"));
    }
}

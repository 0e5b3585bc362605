//! availability.json and check.json.

use serde_json::json;

use crate::on_both_backends;

on_both_backends! {
    fn check_reports_every_resellers_types(srv) {
        let a = srv.add_reseller("alice", &[1, 5003]);
        let b = srv.add_reseller("bob", &[16]);
        assert_eq!(a.ok("check", "ip=203.0.113.100"), json!([]));
        a.ok("register", "ip=203.0.113.100&type=5003");
        b.ok("register", "ip=203.0.113.100&type=16");
        a.ok("register", "ip=203.0.113.100&type=1");
        assert_eq!(a.ok("check", "ip=203.0.113.100"), json!([1, 16, 5003]));
        assert_eq!(b.ok("check", "ip=203.0.113.100"), json!([1, 16, 5003]));
        assert!(a.refused("check", "ip=203.0.113").contains("Invalid IP"));
        assert!(a.refused("check", "").contains("ip is required"));
        // Any syntactically valid IP is answered, even loopback.
        assert_eq!(a.ok("check", "ip=127.0.0.1"), json!([]));
    }

    fn availability_follows_the_rules(srv) {
        let a = srv.add_reseller_with("alice", vec![(1, None), (2, None), (16, Some(1)), (41, None), (5003, None)], false);
        let b = srv.add_reseller("bob", &[1, 16, 41]);
        assert_eq!(
            a.ok("availability", "ip=203.0.113.110"),
            json!({"available": [1, 2, 16, 41, 5003], "owned": []})
        );
        a.ok("register", "ip=203.0.113.110&type=1");
        b.ok("register", "ip=203.0.113.110&type=41");
        assert_eq!(
            a.ok("availability", "ip=203.0.113.110"),
            json!({"available": [16, 5003], "owned": [1]}),
            "cloudlinux family taken by 1, imunify by bob's 41"
        );
        assert_eq!(b.ok("availability", "ip=203.0.113.110"), json!({"available": [16], "owned": [41]}));
        a.ok("register", "ip=203.0.113.111&type=16");
        assert_eq!(
            a.ok("availability", "ip=203.0.113.110"),
            json!({"available": [5003], "owned": [1]}),
            "limit of type 16 reached"
        );
        assert_eq!(a.ok("availability", "ip=127.0.0.1")["owned"], json!([]));
        assert!(a.refused("availability", "ip=bogus").contains("Invalid IP"));
    }
}

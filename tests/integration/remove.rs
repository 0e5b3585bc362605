//! remove.json: one type, every type, nothing, other resellers' licenses, bad input.

use serde_json::json;

use crate::on_both_backends;

on_both_backends! {
    fn removes_one_type_or_all(srv) {
        let r = srv.add_reseller("alice", &[1, 16, 5003, 5004]);
        for t in [1, 16, 5003, 5004] {
            r.ok("register", &format!("ip=203.0.113.30&type={t}"));
        }
        assert_eq!(r.ok("remove", "ip=203.0.113.30&type=16"), true);
        assert_eq!(r.ok("check", "ip=203.0.113.30"), json!([1, 5003, 5004]));
        assert_eq!(r.ok("remove", "ip=203.0.113.30&type=0"), true);
        assert_eq!(r.ok("check", "ip=203.0.113.30"), json!([]));
        for t in [1, 16] {
            r.ok("register", &format!("ip=203.0.113.31&type={t}"));
            r.ok("register", &format!("ip=203.0.113.32&type={t}"));
        }
        assert_eq!(r.ok("remove", "ip=203.0.113.31&type="), true, "empty type means all");
        assert_eq!(r.ok("remove", "ip=203.0.113.32"), true, "missing type means all");
        assert_eq!(r.ok("list", ""), json!([]));
    }

    fn removing_nothing_is_still_success(srv) {
        let r = srv.add_reseller("alice", &[1]);
        assert_eq!(r.ok("remove", "ip=203.0.113.33&type=1"), false);
        assert_eq!(r.ok("remove", "ip=203.0.113.33"), false);
        r.ok("register", "ip=203.0.113.33&type=1");
        assert_eq!(r.ok("remove", "ip=203.0.113.33&type=1"), true);
        assert_eq!(r.ok("remove", "ip=203.0.113.33&type=1"), false, "a second remove finds nothing");
    }

    fn bad_input_is_refused(srv) {
        let r = srv.add_reseller("alice", &[1]);
        r.ok("register", "ip=203.0.113.34&type=1");
        assert!(r.refused("remove", "ip=203.0.113.34&type=undefined").contains("Invalid type"));
        assert!(r.refused("remove", "ip=203.0.113.34&type=1x").contains("Invalid type"));
        assert!(r.refused("remove", "ip=203.0.113.999").contains("Invalid IP"));
        assert!(r.refused("remove", "").contains("ip is required"));
        assert_eq!(r.ok("check", "ip=203.0.113.34"), json!([1]), "nothing removed");
    }
}

//! One reseller cannot see or change another's licenses (check still reports them).

use serde_json::json;

use crate::on_both_backends;

on_both_backends! {
    fn resellers_are_isolated(srv) {
        let a = srv.add_reseller("alice", &[41, 42, 16]);
        let b = srv.add_reseller("bob", &[41, 42, 16]);
        b.ok("register", "ip=203.0.113.120&type=41");
        let before = b.ok("list", "");

        assert_eq!(a.ok("list", ""), json!([]));
        assert_eq!(a.ok("server", "ip=203.0.113.120"), json!([]));
        assert_eq!(a.ok("remove", "ip=203.0.113.120&type=41"), false);
        assert_eq!(a.ok("remove", "ip=203.0.113.120"), false);
        assert_eq!(a.ok("update", "ip=203.0.113.120&els_allowed=true"), false);
        assert_eq!(a.ok("convert", "ip=203.0.113.120&type=41&type_to=42"), false);
        assert_eq!(a.ok("availability", "ip=203.0.113.120")["owned"], json!([]));
        assert_eq!(a.ok("check", "ip=203.0.113.120"), json!([41]));

        assert_eq!(b.ok("list", ""), before, "bob's license is untouched");
        assert_eq!(b.ok("server", "ip=203.0.113.120")[0]["type"], 41);
    }
}

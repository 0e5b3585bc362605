//! register.json: the license, idempotency, every refusal rule, events.

use diesel::prelude::*;
use ipls::db::schema::{ip_licenses, license_events};

use crate::common::{Kind, Options, TestServer};
use crate::on_both_backends;

/// The history's license and key rows (the account's own creation aside).
fn events(srv: &TestServer) -> Vec<(String, String, Option<i32>, Option<String>)> {
    license_events::table
        .filter(license_events::action.ne("reseller_create"))
        .order(license_events::id)
        .select((
            license_events::action,
            license_events::ip,
            license_events::type_id,
            license_events::source,
        ))
        .load(&mut srv.conn())
        .expect("events")
}

on_both_backends! {
    fn registers_with_exact_json_types(srv) {
        let r = srv.add_reseller("alice", &[1, 16]);
        let data = r.ok("register", "ip=203.0.113.10&type=1");
        assert_eq!(
            data,
            serde_json::json!({"ip": "203.0.113.10", "type": 1, "registered": false, "created": "2026-11-28T12:00+0000"})
        );
        assert!(data["type"].is_i64() && data["registered"].is_boolean());
        // Parameters in any order, empty components and unknown keys ignored.
        let data = r.ok("register", "&&foo=bar&type=16&ip=203.0.113.10&");
        assert_eq!(data["type"], 16);
    }

    fn register_is_idempotent_for_its_owner(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let first = r.ok("register", "ip=203.0.113.10&type=1");
        srv.clock.advance(chrono::Duration::minutes(90));
        let again = r.ok("register", "ip=203.0.113.10&type=1&els_allowed=true");
        assert_eq!(first, again, "same license, same created");
        let count: i64 = ip_licenses::table.count().get_result(&mut srv.conn()).unwrap();
        assert_eq!(count, 1);
        // Beside the default CloudLinux OS key type 1 came with.
        let licenses = events(&srv).into_iter().filter(|e| e.0 != "key_create").count();
        assert_eq!(licenses, 1, "an idempotent repeat records no new event");
    }

    fn ipv6_is_stored_and_returned_canonical(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let data = r.ok("register", "ip=2001:DB8:0:0::A:1&type=1");
        assert_eq!(data["ip"], "2001:db8::a:1");
        assert_eq!(r.ok("check", "ip=2001:db8:0::a:1"), serde_json::json!([1]));
        let listed = r.ok("list", "");
        assert_eq!(listed[0]["ip"], "2001:db8::a:1");
    }

    fn refusals_name_the_ip_and_type(srv) {
        let r = srv.add_reseller("alice", &[1, 2, 16, 41, 42]);
        let other = srv.add_reseller("bob", &[1, 16]);
        other.ok("register", "ip=203.0.113.20&type=16");
        r.ok("register", "ip=203.0.113.21&type=1");
        r.ok("register", "ip=203.0.113.22&type=41");

        let cases: &[(&str, &[&str])] = &[
            ("ip=300.1.1.1&type=1", &["Invalid IP address", "300.1.1.1"]),
            ("ip=&type=1", &["ip is required"]),
            ("type=1", &["ip is required"]),
            ("ip=10.1.2.3&type=1", &["10.1.2.3", "private"]),
            ("ip=127.0.0.1&type=1", &["127.0.0.1", "loopback"]),
            ("ip=100.64.1.1&type=1", &["100.64.1.1", "shared"]),
            ("ip=fd00::1&type=1", &["fd00::1", "unique-local"]),
            ("ip=203.0.113.23&type=999", &["Unknown license type 999", "203.0.113.23"]),
            ("ip=203.0.113.23&type=40", &["type 40", "not enabled", "203.0.113.23"]),
            ("ip=203.0.113.23", &["type is required"]),
            ("ip=203.0.113.23&type=abc", &["Invalid type"]),
            ("ip=203.0.113.23&type=1&els_allowed=maybe", &["els_allowed"]),
            ("ip=203.0.113.20&type=16", &["203.0.113.20", "type 16", "another reseller"]),
            ("ip=203.0.113.21&type=2", &["203.0.113.21", "type 1", "cloudlinux", "remove type 1 first"]),
            ("ip=203.0.113.22&type=42", &["203.0.113.22", "type 41", "imunify", "convert.json"]),
        ];
        for (params, needles) in cases {
            let message = r.refused("register", params);
            for needle in *needles {
                assert!(message.contains(needle), "{params}: {message:?} lacks {needle:?}");
            }
        }
        // Exclusivity holds across resellers too.
        let message = other.refused("register", "ip=203.0.113.21&type=1");
        assert!(message.contains("another reseller"), "{message}");
        let count: i64 = ip_licenses::table.count().get_result(&mut srv.conn()).unwrap();
        assert_eq!(count, 3, "refusals change nothing");
    }

    fn limit_counts_the_callers_licenses(srv) {
        let r = srv.add_reseller_with("alice", vec![(1, Some(2)), (16, None)], false);
        r.ok("register", "ip=203.0.113.1&type=1");
        r.ok("register", "ip=203.0.113.2&type=1");
        let message = r.refused("register", "ip=203.0.113.3&type=1");
        assert!(message.contains("2/2") && message.contains("203.0.113.3"), "{message}");
        r.ok("register", "ip=203.0.113.3&type=16");
        // The owner's repeat is not a new license, so the limit does not refuse it.
        r.ok("register", "ip=203.0.113.2&type=1");
        assert_eq!(r.ok("remove", "ip=203.0.113.1&type=1"), true);
        r.ok("register", "ip=203.0.113.3&type=1");
    }

    fn trial_is_once_per_family_per_ip(srv) {
        let r = srv.add_reseller_with("trial", vec![(1, None), (2, None), (16, None)], true);
        r.ok("register", "ip=203.0.113.50&type=1");
        assert_eq!(r.ok("remove", "ip=203.0.113.50"), true);
        assert_eq!(
            r.refused("register", "ip=203.0.113.50&type=2"),
            "You can register the IP: 203.0.113.50 under a paid license only."
        );
        r.ok("register", "ip=203.0.113.50&type=16");
        r.ok("register", "ip=203.0.113.51&type=1");
        // Another trial account cannot reuse the IP's trial either; a paid one can.
        let other_trial = srv.add_reseller_with("trial2", vec![(1, None)], true);
        assert_eq!(
            other_trial.refused("register", "ip=203.0.113.50&type=1"),
            "You can register the IP: 203.0.113.50 under a paid license only."
        );
        let paid = srv.add_reseller("paid", &[1]);
        paid.ok("register", "ip=203.0.113.50&type=1");
    }

    fn every_mutation_is_recorded(srv) {
        let r = srv.add_reseller("alice", &[41, 42]);
        r.ok("register", "ip=203.0.113.60&type=41");
        assert_eq!(r.ok("update", "ip=203.0.113.60&els_allowed=1"), true);
        assert_eq!(r.ok("convert", "ip=203.0.113.60&type=41&type_to=42"), true);
        assert_eq!(r.ok("remove", "ip=203.0.113.60&type=42"), true);
        // The account's two default activation keys were recorded first, when it was made.
        let all = events(&srv);
        let (keys, got) = all.split_at(2);
        assert!(keys.iter().all(|e| e.0 == "key_create"), "{keys:?}");
        let actions: Vec<(&str, Option<i32>)> = got.iter().map(|e| (e.0.as_str(), e.2)).collect();
        assert_eq!(actions, [("register", Some(41)), ("update", Some(41)), ("convert", Some(42)), ("remove", Some(42))]);
        for e in got {
            assert_eq!(e.1, "203.0.113.60");
            assert_eq!(e.3.as_deref(), Some("127.0.0.1"), "the caller's address is recorded");
        }
        // The history is append-only, enforced by the database.
        let tampered = diesel::delete(license_events::table).execute(&mut srv.conn());
        assert!(tampered.is_err(), "deleting events must fail");
        let tampered = diesel::update(license_events::table)
            .set(license_events::action.eq("x"))
            .execute(&mut srv.conn());
        assert!(tampered.is_err(), "updating events must fail");
    }
}

#[test]
fn operator_may_allow_private_ips() {
    let options = Options {
        allow_private_ips: true,
        ..Options::default()
    };
    let srv = TestServer::start_with(Kind::Sqlite, options).expect("sqlite");
    let r = srv.add_reseller("lab", &[1]);
    assert_eq!(r.ok("register", "ip=10.0.0.5&type=1")["ip"], "10.0.0.5");
    // Still a valid address is required.
    assert!(r
        .refused("register", "ip=10.0.0&type=1")
        .contains("Invalid IP"));
}

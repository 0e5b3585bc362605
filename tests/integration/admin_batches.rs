//! POST /api/admin/v1/batches: up to 1,000 operations, each with its own result; atomic
//! batches all or none; under one Idempotency-Key; two batches racing on the same IPs.

use std::sync::{Arc, Barrier};

use serde_json::{json, Value};

use crate::admin_api::{call, token};
use crate::common::{http, TestServer};
use crate::on_both_backends;

const PATH: &str = "/api/admin/v1/batches";

fn batch(srv: &TestServer, t: &str, body: Value) -> Value {
    let answer = call(srv, t, "POST", PATH, Some(body));
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()
}

fn registers(login: &str, ips: std::ops::RangeInclusive<u32>) -> Vec<Value> {
    ips.map(|i| json!({"op": "register", "reseller": login, "ip": format!("198.51.{}.{}", i / 250, 1 + i % 250), "type": 1}))
        .collect()
}

on_both_backends! {
    fn each_operation_gets_its_own_result(srv) {
        let acme = srv.add_reseller("acme", &[1, 16]);
        let rival = srv.add_reseller("rival", &[1]);
        rival.ok("register", "ip=203.0.113.9&type=1");
        let t = token(&srv, "billing", false);
        let answer = batch(&srv, &t, json!({"operations": [
            {"op": "register", "reseller": "acme", "ip": "203.0.113.1", "type": 1, "note": "first", "external_id": "svc-1"},
            {"op": "register", "reseller": "acme", "ip": "203.0.113.9", "type": 1},
            {"op": "register", "reseller": "acme", "ip": "203.0.113.2", "type": 16},
            {"op": "move", "reseller": "acme", "ip": "203.0.113.2", "new_ip": "203.0.113.3"},
            {"op": "suspend", "reseller": "acme", "ip": "203.0.113.3", "reason": "unpaid", "remove_after": "14d"},
            {"op": "resume", "reseller": "acme", "ip": "203.0.113.3"},
            {"op": "note", "reseller": "acme", "ip": "203.0.113.1", "type": 1, "note": ""},
            {"op": "remove", "reseller": "acme", "ip": "203.0.113.3"},
            {"op": "remove", "reseller": "acme", "ip": "203.0.113.3"}
        ]}));
        assert_eq!(answer["atomic"], false);
        assert_eq!(answer["applied"], 8);
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results[0]["licenses"][0]["external_id"], "svc-1");
        assert_eq!(results[1]["ok"], false);
        assert_eq!(results[1]["problem"]["type"], "urn:ipls:problem:refused");
        assert!(results[1]["problem"]["detail"].as_str().unwrap().contains("another reseller"));
        assert_eq!(results[3]["licenses"][0]["ip"], "203.0.113.3");
        assert_eq!(results[4]["licenses"][0]["type"], 16);
        assert_eq!(results[6]["licenses"][0]["note"], json!(null));
        assert_eq!(results[7]["removed"], true);
        assert_eq!(results[8]["removed"], false);
        assert_eq!(acme.ok("check", "ip=203.0.113.1"), json!([1]));
        assert_eq!(acme.ok("check", "ip=203.0.113.3"), json!([]));
    }

    fn an_atomic_batch_is_all_or_none(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        let rival = srv.add_reseller("rival", &[1]);
        rival.ok("register", "ip=203.0.113.9&type=1");
        let t = token(&srv, "billing", false);
        let answer = batch(&srv, &t, json!({"atomic": true, "operations": [
            {"op": "register", "reseller": "acme", "ip": "203.0.113.1", "type": 1},
            {"op": "register", "reseller": "acme", "ip": "203.0.113.9", "type": 1},
            {"op": "register", "reseller": "acme", "ip": "203.0.113.2", "type": 1}
        ]}));
        assert_eq!(answer["applied"], 0);
        let results = answer["results"].as_array().unwrap();
        assert_eq!((results[0]["ok"].clone(), results[0]["rolled_back"].clone()), (json!(true), json!(true)));
        assert_eq!(results[1]["ok"], false);
        assert!(results[1]["problem"]["detail"].as_str().unwrap().contains("another reseller"));
        assert_eq!((results[2]["ok"].clone(), results[2]["skipped"].clone()), (json!(false), json!(true)));
        assert_eq!(acme.ok("list", ""), json!([]), "nothing stays");
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_events WHERE action NOT IN ('reseller_create', 'key_create') AND reseller_id = (SELECT id FROM resellers WHERE login = 'acme')"), 0);
        // A thousand at once, all applied in one transaction.
        let answer = batch(&srv, &t, json!({"atomic": true, "operations": registers("acme", 0..=999)}));
        assert_eq!(answer["applied"], 1000);
        assert_eq!(acme.ok("list", "").as_array().unwrap().len(), 1000);
    }

    fn bad_batches_are_refused_whole(srv) {
        srv.add_reseller("acme", &[1]);
        let t = token(&srv, "billing", false);
        for (body, needle) in [
            (json!({"operations": []}), "1 to 1000 operations"),
            (json!({"operations": registers("acme", 0..=1000)}), "1 to 1000 operations (got 1001)"),
            (json!({"operations": [{"op": "register", "reseller": "acme", "ip": "203.0.113.1", "type": 1}, {"op": "explode"}]}), "operations[1]"),
            (json!({"operations": [{"op": "remove", "reseller": "acme", "ip": "203.0.113.1", "colour": "red"}]}), "operations[0]"),
            (json!({"operations": [{"op": "remove", "reseller": "acme", "ip": "nowhere"}]}), "operations[0]"),
            (json!({"atomic": "yes", "operations": []}), ""),
        ] {
            let refused = call(&srv, &t, "POST", PATH, Some(body.clone()));
            assert_eq!(refused.status, 400, "{body}: {}", refused.text());
            assert!(refused.text().contains(needle), "{body}: {}", refused.text());
        }
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 0);
    }

    fn one_idempotency_key_applies_a_batch_once(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        let t = token(&srv, "billing", false);
        let body = json!({"operations": registers("acme", 0..=9)}).to_string();
        let auth = format!("Bearer {t}");
        let headers = [("authorization", auth.as_str()), ("content-type", "application/json"), ("idempotency-key", "batch-7")];
        let first = http::request(srv.addr, "POST", PATH, &headers, body.as_bytes());
        assert_eq!(first.status, 201, "{}", first.text());
        acme.ok("remove", "ip=198.51.0.1");
        let again = http::request(srv.addr, "POST", PATH, &headers, body.as_bytes());
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json(), first.json());
        assert_eq!(acme.ok("check", "ip=198.51.0.1"), json!([]), "the replay applied nothing");
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'register'"), 10);
    }

    fn two_atomic_batches_on_the_same_ips_never_mix(srv) {
        srv.add_reseller("alice", &[1]);
        srv.add_reseller("bob", &[1]);
        let t = token(&srv, "billing", false);
        for round in 0..3u32 {
            let base = round * 100;
            let bodies = [
                json!({"atomic": true, "operations": registers("alice", base..=base + 49)}),
                json!({"atomic": true, "operations": registers("bob", base + 25..=base + 74)}),
            ];
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = bodies
                .into_iter()
                .map(|body| {
                    let (addr, t, barrier) = (srv.addr, t.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let auth = format!("Bearer {t}");
                        let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
                        barrier.wait();
                        http::request(addr, "POST", PATH, &headers, body.to_string().as_bytes())
                    })
                })
                .collect();
            let applied: Vec<i64> = handles
                .into_iter()
                .map(|h| {
                    let answer = h.join().unwrap();
                    // A batch that lost every retry to the other is refused (409/503) whole.
                    if answer.status == 201 { answer.json()["applied"].as_i64().unwrap() } else { 0 }
                })
                .collect();
            assert!(applied.iter().all(|a| *a == 0 || *a == 50), "round {round}: {applied:?}");
            assert_eq!(applied.iter().filter(|a| **a == 50).count(), 1, "round {round}: exactly one stands");
            let held = srv.count(&format!(
                "SELECT count(*) AS n FROM ip_licenses WHERE ip LIKE '198.51.{}.%'", base / 250
            ));
            assert!(held >= 50, "round {round}: {held}");
        }
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 150);
    }
}

//! The admin API through the real HTTP stack on both backends: tokens (unknown, revoked,
//! read-only), resellers (create with the secret once and Idempotency-Key, patch, block,
//! rotate), licenses with filters and cursor pages, usage, audit, prices, problem details.

use ipls::auth::admin::new_token;
use ipls::domain::admin_tokens;
use serde_json::{json, Value};

use crate::common::{http, Reseller, TestServer};
use crate::on_both_backends;

pub(crate) fn token(srv: &TestServer, name: &str, read_only: bool) -> String {
    let (token, hash) = new_token().unwrap();
    admin_tokens::create(
        &mut srv.conn(),
        name,
        &hash,
        read_only,
        srv.now().naive_utc(),
    )
    .unwrap();
    token
}

pub(crate) fn call(
    srv: &TestServer,
    token: &str,
    method: &str,
    target: &str,
    body: Option<Value>,
) -> http::Response {
    let auth = format!("Bearer {token}");
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let mut headers = vec![("authorization", auth.as_str())];
    if !text.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    http::request(srv.addr, method, target, &headers, text.as_bytes())
}

pub(crate) fn ok(
    srv: &TestServer,
    token: &str,
    method: &str,
    target: &str,
    body: Option<Value>,
) -> Value {
    let answer = call(srv, token, method, target, body);
    assert!(
        answer.status < 300,
        "{method} {target}: {} {}",
        answer.status,
        answer.text()
    );
    answer.json()
}

pub(crate) fn problem(answer: &http::Response, status: u16, kind: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let body = answer.json();
    assert_eq!(body["type"], format!("urn:ipls:problem:{kind}"), "{body}");
    assert_eq!(body["status"], status);
}

on_both_backends! {
    fn tokens_are_checked(srv) {
        let rw = token(&srv, "billing", false);
        let ro = token(&srv, "viewer", true);
        problem(&http::request(srv.addr, "GET", "/api/admin/v1/resellers", &[], b""), 401, "unauthorized");
        problem(&call(&srv, "ipls_at_0000", "GET", "/api/admin/v1/resellers", None), 401, "unauthorized");
        assert_eq!(ok(&srv, &ro, "GET", "/api/admin/v1/resellers", None)["items"], json!([]));
        let refused = call(&srv, &ro, "POST", "/api/admin/v1/resellers", Some(json!({"login": "x"})));
        problem(&refused, 403, "read-only-token");
        assert_eq!(srv.count("SELECT count(*) AS n FROM resellers"), 0);
        admin_tokens::revoke(&mut srv.conn(), "billing", srv.now().naive_utc()).unwrap();
        problem(&call(&srv, &rw, "GET", "/api/admin/v1/resellers", None), 401, "unauthorized");
        problem(&call(&srv, &ro, "DELETE", "/api/admin/v1/resellers", None), 405, "method-not-allowed");
        problem(&call(&srv, &ro, "GET", "/api/admin/v1/nothing", None), 404, "not-found");
    }

    fn resellers_are_managed(srv) {
        let t = token(&srv, "billing", false);
        let body = json!({"login": "newco", "types": [{"type": 1, "limit": 1}, {"type": 41}]});
        let send = |key: &str, body: &Value| {
            let auth = format!("Bearer {t}");
            http::request(srv.addr, "POST", "/api/admin/v1/resellers",
                &[("authorization", &auth), ("content-type", "application/json"), ("idempotency-key", key)],
                body.to_string().as_bytes())
        };
        let created = send("order-17", &body);
        assert_eq!(created.status, 201, "{}", created.text());
        let created = created.json();
        assert_eq!(created["reseller"]["types"], json!([{"type": 1, "limit": 1}, {"type": 41, "limit": null}]));
        assert_eq!(created["reseller"]["state"], "active");
        let secret = created["secret"].as_str().unwrap().to_string();
        // The same request again: the same answer, nothing created twice.
        let again = send("order-17", &body);
        assert_eq!(again.status, 201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.json()["secret"], secret.as_str());
        problem(&send("order-17", &json!({"login": "other"})), 409, "idempotency-key-reused");
        problem(&send("order-18", &body), 409, "conflict");
        assert_eq!(srv.count("SELECT count(*) AS n FROM resellers"), 1);
        // The secret works against the CLN API.
        let newco = Reseller { login: "newco".into(), secret: secret.clone(), addr: srv.addr, clock: srv.clock.clone() };
        newco.ok("register", "ip=203.0.113.1&type=1");

        let patched = ok(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco",
            Some(json!({"types": [{"type": 1, "limit": 5}], "allow_from": ["127.0.0.0/8"], "trial": true})));
        assert_eq!(patched["types"], json!([{"type": 1, "limit": 5}]));
        assert_eq!(patched["allow_from"], json!(["127.0.0.0/8"]));
        assert_eq!(patched["licenses_held"], 1);
        problem(&call(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco", Some(json!({"types": [{"type": 1, "limit": -1}]}))), 400, "invalid-request");
        problem(&call(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco", Some(json!([1]))), 400, "invalid-request");
        problem(&call(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco", Some(json!({"colour": "red"}))), 400, "invalid-request");
        problem(&call(&srv, &t, "GET", "/api/admin/v1/resellers/nobody", None), 404, "not-found");

        let blocked = ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/block", Some(json!({"reason": "unpaid"})));
        assert_eq!((blocked["state"].as_str(), blocked["blocked_reason"].as_str()), (Some("blocked"), Some("unpaid")));
        assert!(newco.refused("register", "ip=203.0.113.2&type=1").contains("blocked"));
        assert_eq!(ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/unblock", None)["state"], "active");

        let rotated = ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/rotate-secret", None);
        let renewed = Reseller { secret: rotated["secret"].as_str().unwrap().to_string(), ..newco.clone() };
        renewed.ok("check", "ip=203.0.113.1");
        assert_eq!(newco.refused("check", "ip=203.0.113.1"), "Authorization failed");
    }

    fn licenses_usage_audit_and_prices(srv) {
        let t = token(&srv, "billing", false);
        let acme = srv.add_reseller("acme", &[1, 16]);
        let beta = srv.add_reseller("beta", &[1]);
        for i in 1..=5 {
            acme.ok("register", &format!("ip=203.0.113.{i}&type=1"));
        }
        acme.ok("register", "ip=198.51.100.1&type=16");
        beta.ok("register", "ip=198.51.100.2&type=1");

        let first = ok(&srv, &t, "GET", "/api/admin/v1/licenses?limit=4", None);
        assert_eq!(first["items"].as_array().unwrap().len(), 4);
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        let rest = ok(&srv, &t, "GET", &format!("/api/admin/v1/licenses?limit=4&cursor={cursor}"), None);
        assert_eq!(rest["items"].as_array().unwrap().len(), 3);
        assert_eq!(rest["next_cursor"], Value::Null);
        let block = ok(&srv, &t, "GET", "/api/admin/v1/licenses?ip=198.51.100.0%2F24&type=1", None);
        assert_eq!(block["items"][0]["reseller"], "beta");
        assert_eq!(block["items"].as_array().unwrap().len(), 1);
        let mine = ok(&srv, &t, "GET", "/api/admin/v1/licenses?reseller=acme&registered=false", None);
        assert_eq!(mine["items"].as_array().unwrap().len(), 6);
        let on_ip = ok(&srv, &t, "GET", "/api/admin/v1/licenses/198.51.100.1", None);
        assert_eq!(on_ip["items"][0]["type"], 16);
        assert_eq!(on_ip["items"][0]["created"], "2026-11-28T12:00:00Z");
        assert_eq!(on_ip["next_cursor"], Value::Null);
        problem(&call(&srv, &t, "GET", "/api/admin/v1/licenses?limit=0", None), 400, "invalid-request");
        problem(&call(&srv, &t, "GET", "/api/admin/v1/licenses?registered=maybe", None), 400, "invalid-request");
        problem(&call(&srv, &t, "GET", "/api/admin/v1/licenses?reseller=nobody", None), 404, "not-found");

        let priced = ok(&srv, &t, "PUT", "/api/admin/v1/prices/1", Some(json!({"monthly_cents": 3000})));
        assert_eq!(priced["monthly_cents"], 3000);
        problem(&call(&srv, &t, "PUT", "/api/admin/v1/prices/999", Some(json!({"monthly_cents": 1}))), 404, "not-found");
        let prices = ok(&srv, &t, "GET", "/api/admin/v1/prices", None);
        assert!(prices["items"].as_array().unwrap().iter().any(|p| p["type"] == 1 && p["monthly_cents"] == 3000));
        assert_eq!(prices["next_cursor"], Value::Null);
        // JSON Schema's integers include 3000.0.
        let whole = ok(&srv, &t, "PUT", "/api/admin/v1/prices/1", Some(json!({"monthly_cents": 3000.0})));
        assert_eq!(whole["monthly_cents"], 3000);
        problem(&call(&srv, &t, "PUT", "/api/admin/v1/prices/1", Some(json!({"monthly_cents": 30.5}))), 400, "invalid-request");
        let usage = ok(&srv, &t, "GET", "/api/admin/v1/usage?month=2026-11&reseller=acme", None);
        assert_eq!(usage["month"], "2026-11");
        assert!(usage["lines"].as_array().unwrap().iter().all(|l| l["reseller"] == "acme"));
        assert!(usage["total_cents"].as_i64().unwrap() > 0, "{usage}");

        let page = ok(&srv, &t, "GET", "/api/admin/v1/audit?limit=3", None);
        assert_eq!(page["items"][0]["ip"], "198.51.100.2", "newest first");
        let older = ok(&srv, &t, "GET", &format!("/api/admin/v1/audit?limit=10&cursor={}", page["next_cursor"].as_str().unwrap()), None);
        // The older events: four license changes, then each account's creation with the
        // default keys its products came with (beta's CloudLinux OS key; acme's CloudLinux OS
        // and KernelCare keys), newest first.
        assert_eq!(older["items"].as_array().unwrap().len(), 9);
        let actions: Vec<&str> = older["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions[4..], ["reseller_create", "key_create", "reseller_create", "key_create", "key_create"], "{older}");
        assert_eq!(older["items"][4]["reseller"], "beta");
        assert_eq!(older["next_cursor"], Value::Null);
    }
}

/// A source that spent its failure budget gets 429 with `Retry-After` in the admin API, as
/// in the CLN API (problem details, `throttled`).
#[test]
fn throttled_callers_are_told_when_to_retry() {
    let Some(srv) = TestServer::start_with(
        crate::common::Kind::Sqlite,
        crate::common::Options {
            auth_failure_burst: 2,
            ..crate::common::Options::default()
        },
    ) else {
        return;
    };
    for _ in 0..2 {
        let refused = call(&srv, "ipls_at_nope", "GET", "/api/admin/v1/resellers", None);
        problem(&refused, 401, "unauthorized");
    }
    let throttled = call(&srv, "ipls_at_nope", "GET", "/api/admin/v1/resellers", None);
    problem(&throttled, 429, "throttled");
    let wait: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!(wait >= 1, "{wait}");
}

on_both_backends! {
    /// The default key a granted product comes with is recorded as made by whoever granted
    /// it (the admin token here, the CLI's `cli`, a console user), not by `ipls`.
    fn default_keys_are_recorded_as_made_by_the_granting_face(srv) {
        let t = token(&srv, "billing", false);
        let created = call(&srv, &t, "POST", "/api/admin/v1/resellers",
            Some(json!({"login": "kc", "types": [{"type": 16}]})));
        assert_eq!(created.status, 201, "{}", created.text());
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'key_create' AND source = 'admin:billing'"),
            1
        );
        ok(&srv, &t, "PATCH", "/api/admin/v1/resellers/kc", Some(json!({"types": [{"type": 16}, {"type": 41}]})));
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'key_create' AND source = 'admin:billing'"),
            2,
            "the Imunify default key of the new grant too"
        );
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_events WHERE source = 'ipls'"), 0);
    }
}

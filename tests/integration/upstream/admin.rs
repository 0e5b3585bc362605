//! The admin API's upstreams and licenses through a chain: add an upstream (its secret never
//! answered), list, one with its queue, change its types, test it, reconcile it, remove it;
//! register a license for a reseller (carried upstream before the answer), see it pending
//! while its removal waits, remove it.

use ipls::auth::admin::new_token;
use ipls::domain::admin_tokens;
use serde_json::{json, Value};

use super::{types_of, Chain};
use crate::common::chain::wait_until;
use crate::common::http;
use crate::on_both_kinds;

fn token(chain: &Chain) -> String {
    let (token, hash) = new_token().unwrap();
    let mut conn = ipls::db::establish(&chain.a.db.url).unwrap();
    admin_tokens::create(
        &mut conn,
        "billing",
        &hash,
        false,
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    token
}

fn call(
    chain: &Chain,
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
    http::request(
        chain.a.serve.addr,
        method,
        target,
        &headers,
        text.as_bytes(),
    )
}

on_both_kinds! {
    fn upstreams_and_licenses_through_the_admin_api(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let t = token(&chain);
        let added = call(&chain, &t, "POST", "/api/admin/v1/upstreams", Some(json!({
            "name": "spare", "url": "http://127.0.0.1:1/", "login": "partner",
            "secret": "not-shown-0123", "types": [40]
        })));
        assert_eq!(added.status, 201, "{}", added.text());
        assert!(!added.text().contains("not-shown-0123"), "the secret is never answered");
        assert_eq!(added.json()["url"], "http://127.0.0.1:1");
        let clash = call(&chain, &t, "POST", "/api/admin/v1/upstreams", Some(json!({
            "name": "again", "url": "http://127.0.0.1:1", "login": "p", "secret": "s", "types": [40]
        })));
        assert_eq!(clash.status, 409, "{}", clash.text());
        let listed = call(&chain, &t, "GET", "/api/admin/v1/upstreams", None).json();
        let names: Vec<&str> = listed["items"].as_array().unwrap().iter()
            .map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["cln", "spare"]);
        let patched = call(&chain, &t, "PATCH", "/api/admin/v1/upstreams/spare",
            Some(json!({"types": []}))).json();
        assert_eq!(patched["types"], json!([]));
        let tested = call(&chain, &t, "POST", "/api/admin/v1/upstreams/cln/test", None).json();
        assert_eq!(tested["ok"], true, "{tested}");
        let down = call(&chain, &t, "POST", "/api/admin/v1/upstreams/spare/test", None).json();
        assert_eq!(down["ok"], false);
        assert!(down["error"].as_str().unwrap().contains("cannot connect"), "{down}");
        assert_eq!(call(&chain, &t, "DELETE", "/api/admin/v1/upstreams/spare", None).status, 204);

        // A license registered by the operator for acme: at B when answered.
        let registered = call(&chain, &t, "POST", "/api/admin/v1/licenses", Some(json!({
            "reseller": "acme", "ip": "11.5.0.1", "type": 1
        })));
        assert_eq!(registered.status, 201, "{}", registered.text());
        assert_eq!(registered.json()["upstream"], Value::Null, "in step");
        assert_eq!(types_of(&chain.upstream_types("11.5.0.1")), [1]);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM license_events WHERE ip = '11.5.0.1' \
            AND source = 'admin:billing'"), 1);
        // An upstream refusal is a 409 in B's words.
        chain.b.add_reseller("rival", &[16]).ok("register", "ip=11.5.0.2&type=16");
        let refused = call(&chain, &t, "POST", "/api/admin/v1/licenses", Some(json!({
            "reseller": "acme", "ip": "11.5.0.2", "type": 16
        })));
        assert_eq!(refused.status, 409, "{}", refused.text());
        assert!(refused.json()["detail"].as_str().unwrap().contains("another reseller"));

        let reconciled = call(&chain, &t, "POST", "/api/admin/v1/upstreams/cln/reconcile",
            Some(json!({}))).json();
        assert_eq!(reconciled["counts"]["matching"], 1, "{reconciled}");
        assert!(reconciled["summary"].as_str().unwrap().starts_with("upstream cln: upstream-only 0"));

        assert_eq!(call(&chain, &t, "DELETE", "/api/admin/v1/licenses/11.5.0.1?reseller=acme&type=1", None).status, 204);
        assert_eq!(call(&chain, &t, "DELETE", "/api/admin/v1/licenses/11.5.0.1?reseller=acme", None).status, 404);
        // B applies the removal before A's worker marks it done: wait for both.
        wait_until("the removal reaches B and is marked done", std::time::Duration::from_secs(20), || {
            types_of(&chain.upstream_types("11.5.0.1")).is_empty()
                && call(&chain, &t, "GET", "/api/admin/v1/upstreams/cln", None).json()["pending"] == 0
        });
        let detail = call(&chain, &t, "GET", "/api/admin/v1/upstreams/cln", None).json();
        assert_eq!(detail["pending"], 0);
        assert_eq!(detail["waiting"], json!([]));
    }

    fn batches_carry_routed_registrations_only_when_not_atomic(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let t = token(&chain);
        let ops = json!([{"op": "register", "reseller": "acme", "ip": "11.0.1.1", "type": 1}]);
        let atomic = call(&chain, &t, "POST", "/api/admin/v1/batches",
            Some(json!({"atomic": true, "operations": ops})));
        assert_eq!(atomic.status, 409, "{}", atomic.text());
        assert!(atomic.text().contains("cannot be part of an atomic batch"), "{}", atomic.text());
        assert_eq!(chain.a.holds("11.0.1.1", 1), 0);
        let each = call(&chain, &t, "POST", "/api/admin/v1/batches",
            Some(json!({"operations": ops})));
        assert_eq!(each.status, 201, "{}", each.text());
        assert_eq!(each.json()["applied"], 1);
        // Registered through the relay: live at the upstream when the batch answered.
        assert_eq!(types_of(&chain.upstream_types("11.0.1.1")), [1]);
    }
}

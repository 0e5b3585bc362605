//! `?dry_run=true` on every change the admin API makes: the same status (200 for a creation's
//! 201) and answer shape as the real call, `Ipls-Dry-Run: true`, and nothing changed in any
//! table.

use diesel::prelude::*;
use ipls::db::models::{License, Reseller};
use ipls::db::schema::{ip_licenses, resellers};
use serde_json::{json, Value};

use crate::admin_api::{call, token};
use crate::common::TestServer;
use crate::on_both_backends;

/// Every table's rows as text: what a dry run must leave exactly as it was.
fn snapshot(srv: &TestServer) -> String {
    let mut conn = srv.conn();
    let sellers: Vec<Reseller> = resellers::table
        .order(resellers::id)
        .select(Reseller::as_select())
        .load(&mut conn)
        .unwrap();
    let licenses: Vec<License> = ip_licenses::table
        .order(ip_licenses::id)
        .select(License::as_select())
        .load(&mut conn)
        .unwrap();
    let tables = [
        "reseller_types",
        "prices",
        "trial_uses",
        "license_events",
        "idempotency_keys",
        "webhook_endpoints",
        "webhook_deliveries",
        "activation_keys",
        "key_servers",
        "upstreams",
        "upstream_routes",
        "upstream_ops",
        "upstream_claims",
    ];
    let counts: Vec<i64> = tables
        .iter()
        .map(|t| srv.count(&format!("SELECT count(*) AS n FROM {t}")))
        .collect();
    format!("{sellers:?}\n{licenses:?}\n{counts:?}")
}

/// The keys of an answer (the values of a real call may differ: ids, secrets, times).
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Array(map.keys().map(|k| json!(k)).collect()),
        Value::Array(items) => items.first().map(shape).unwrap_or(json!([])),
        _ => json!(null),
    }
}

/// Runs the call as a dry run, checks that nothing changed, then for real; both must answer
/// the same status and shape. Returns the real answer.
fn dry_then_real(
    srv: &TestServer,
    t: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let before = snapshot(srv);
    let sep = if path.contains('?') { '&' } else { '?' };
    let dry = call(
        srv,
        t,
        method,
        &format!("{path}{sep}dry_run=true"),
        body.clone(),
    );
    assert_eq!(
        snapshot(srv),
        before,
        "{method} {path}: a dry run changed something"
    );
    assert_eq!(dry.header("ipls-dry-run"), Some("true"), "{method} {path}");
    let real = call(srv, t, method, path, body);
    // A creation's dry run answers 200: nothing was created.
    let expected = if real.status == 201 { 200 } else { real.status };
    assert_eq!(
        dry.status,
        expected,
        "{method} {path}: {} / {}",
        dry.text(),
        real.text()
    );
    let (dry, real) = (dry.text(), real.text());
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let (dry, real) = (parse(&dry), parse(&real));
    assert_eq!(shape(&dry), shape(&real), "{method} {path}: {dry} / {real}");
    if real.is_object() && real.get("type").is_some_and(|t| t.is_string()) {
        assert_eq!(
            dry["detail"], real["detail"],
            "{method} {path}: the same refusal"
        );
    }
    real
}

on_both_backends! {
    fn every_change_can_be_dry_run(srv) {
        let t = token(&srv, "billing", false);
        let alice = srv.add_reseller("alice", &[1, 16]);
        alice.ok("register", "ip=203.0.113.40&type=1");
        let a = "/api/admin/v1";
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers"), Some(json!({"login": "newco", "types": [{"type": 1}]})));
        dry_then_real(&srv, &t, "PATCH", &format!("{a}/resellers/alice"), Some(json!({"types": [{"type": 1, "limit": 5}, {"type": 16}]})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers/alice/block"), Some(json!({"reason": "unpaid"})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers/alice/unblock"), None);
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers/nobody/block"), Some(json!({"reason": "x"})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses"), Some(json!({"reseller": "alice", "ip": "203.0.113.41", "type": 1})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses"), Some(json!({"reseller": "alice", "ip": "203.0.113.41", "type": 16})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses/203.0.113.41/move"), Some(json!({"reseller": "alice", "new_ip": "203.0.113.42"})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses/203.0.113.42/move"), Some(json!({"reseller": "alice", "new_ip": "203.0.113.40"})));
        dry_then_real(&srv, &t, "PATCH", &format!("{a}/licenses/203.0.113.42"), Some(json!({"reseller": "alice", "type": 1, "note": "n", "external_id": "e-1"})));
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/licenses/203.0.113.42?reseller=alice"), None);
        let key = dry_then_real(&srv, &t, "POST", &format!("{a}/keys"), Some(json!({"reseller": "alice", "product": "kcare", "limit": 2})));
        let key = key["key"].as_str().unwrap().to_string();
        dry_then_real(&srv, &t, "PATCH", &format!("{a}/keys/{key}"), Some(json!({"limit": 3})));
        let server = crate::keys_common::register(&srv, "kcare", &key);
        let server = server["data"]["server_id"].as_str().unwrap_or_else(|| panic!("{server}"));
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/key-servers/{server}"), None);
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/keys/{key}"), None);
        dry_then_real(&srv, &t, "PUT", &format!("{a}/prices/1"), Some(json!({"monthly_cents": 3000})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/upstreams"), Some(json!({
            "name": "spare", "url": "http://127.0.0.1:1/", "login": "partner", "secret": "s-0123", "types": [40]
        })));
        dry_then_real(&srv, &t, "PATCH", &format!("{a}/upstreams/spare"), Some(json!({"types": []})));
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/upstreams/spare"), None);
        let hook = dry_then_real(&srv, &t, "POST", &format!("{a}/webhooks"), Some(json!({"url": "https://93.184.216.34/ipls"})));
        let id = hook["id"].as_i64().unwrap_or_else(|| panic!("{hook}"));
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/webhooks/{id}"), None);
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers/alice/secrets"), Some(json!({"name": "billing"})));
        dry_then_real(&srv, &t, "DELETE", &format!("{a}/resellers/alice/secrets/billing"), None);
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses/203.0.113.40/suspend"), Some(json!({"reseller": "alice", "reason": "unpaid"})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/licenses/203.0.113.40/resume"), Some(json!({"reseller": "alice"})));
        dry_then_real(&srv, &t, "POST", &format!("{a}/resellers/alice/rotate-secret"), None);

        // Asking wrongly is refused before anything runs.
        let bad = call(&srv, &t, "POST", &format!("{a}/resellers/alice/block?dry_run=maybe"), Some(json!({"reason": "x"})));
        assert_eq!(bad.status, 400, "{}", bad.text());
        let get = call(&srv, &t, "GET", &format!("{a}/resellers?dry_run=true"), None);
        assert_eq!(get.status, 200, "a read is a read: {}", get.text());
        let test = call(&srv, &t, "POST", &format!("{a}/webhooks/1/test?dry_run=true"), None);
        assert_eq!(test.status, 400, "{}", test.text());
        assert!(test.text().contains("cannot be rolled back"), "{}", test.text());
    }
}

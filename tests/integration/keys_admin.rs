//! Activation keys through the admin API: every reseller's keys, one key with its servers,
//! create (with Idempotency-Key), patch, delete, remove a server; problems for bad input.

use serde_json::json;

use super::admin_api::{call, ok as admin, problem, token};
use super::keys_common::{keys, ok, register, server_count};
use crate::key_tests;

key_tests! {
    fn operator_manages_keys_through_the_admin_api(srv, kind) {
        let alice = srv.add_reseller("alice", &[16]);
        srv.add_reseller("bob", &[41]);
        let t = token(&srv, "partner", false);
        let page = admin(&srv, &t, "GET", "/api/admin/v1/keys", None);
        assert_eq!(page["next_cursor"], serde_json::Value::Null);
        let listed = page["items"].clone();
        assert_eq!(listed.as_array().unwrap().len(), 2, "{kind:?}: the two default keys: {listed}");
        // One a page: the cursor walks them.
        let first = admin(&srv, &t, "GET", "/api/admin/v1/keys?limit=1", None);
        assert_eq!(first["items"][0]["key"], listed[0]["key"]);
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        let second = admin(&srv, &t, "GET", &format!("/api/admin/v1/keys?limit=1&cursor={cursor}"), None);
        assert_eq!(second["items"][0]["key"], listed[1]["key"]);
        assert_eq!(listed[1]["product"], "360_1");
        assert_eq!(listed[1]["reseller"], "bob");

        let body = json!({"reseller": "alice", "product": "kcare", "limit": 2, "note": "billing #7"});
        let answer = call(&srv, &t, "POST", "/api/admin/v1/keys", Some(body.clone()));
        assert_eq!(answer.status, 201, "{}", answer.text());
        let created = answer.json();
        let key = created["key"].as_str().unwrap().to_string();
        assert_eq!(
            created,
            json!({"key": key, "reseller": "alice", "type": 16, "product": "kcare", "limit": 2,
                   "servers": 0, "note": "billing #7", "ip_ranges": [], "default": false,
                   "created_at": "2026-11-28T12:00:00Z", "sticky_tag": null})
        );
        // The reseller sees it through the CLN API.
        let own = ok(&alice, "kcare/key/list", "");
        assert!(own.as_array().unwrap().iter().any(|k| k["key"] == key.as_str()));

        let server = register(&srv, "kcare", &key)["data"]["server_id"].as_str().unwrap().to_string();
        let one = admin(&srv, &t, "GET", &format!("/api/admin/v1/keys/{key}"), None);
        assert_eq!(one["servers"], 1);
        assert_eq!(one["server_list"][0]["server_id"], server.as_str());
        assert_eq!(one["server_list"][0]["hostname"], "web.example");

        let patched = admin(&srv, &t, "PATCH", &format!("/api/admin/v1/keys/{key}"),
            Some(json!({"limit": 5, "ip_ranges": ["127.0.0.0/8"]})));
        assert_eq!(patched["limit"], 5);
        assert_eq!(patched["ip_ranges"], json!(["127.0.0.0/8"]));
        let below = call(&srv, &t, "PATCH", &format!("/api/admin/v1/keys/{key}"), Some(json!({"limit": 0})));
        assert_eq!(below.status, 200, "0 is unlimited: {}", below.text());
        let bad = call(&srv, &t, "PATCH", &format!("/api/admin/v1/keys/{key}"), Some(json!({"ip_ranges": ["10.0.0.0/40"]})));
        problem(&bad, 400, "invalid-request");
        let unknown = call(&srv, &t, "PATCH", "/api/admin/v1/keys/AAAAAAAAAAAAAAAA", Some(json!({"limit": 1})));
        problem(&unknown, 404, "not-found");
        let wrong = call(&srv, &t, "POST", "/api/admin/v1/keys", Some(json!({"reseller": "alice", "product": "nope"})));
        problem(&wrong, 400, "invalid-request");
        // Ranges on an Imunify key: refused, and its limit is not changed either.
        let bobs = listed[1]["key"].as_str().unwrap();
        let mixed = call(&srv, &t, "PATCH", &format!("/api/admin/v1/keys/{bobs}"),
            Some(json!({"limit": 7, "ip_ranges": ["10.0.0.0/8"]})));
        problem(&mixed, 409, "refused");
        assert_eq!(admin(&srv, &t, "GET", &format!("/api/admin/v1/keys/{bobs}"), None)["limit"], 0);
        let nobody = call(&srv, &t, "POST", "/api/admin/v1/keys", Some(json!({"reseller": "carol", "product": "kcare"})));
        problem(&nobody, 404, "not-found");

        let gone = call(&srv, &t, "DELETE", &format!("/api/admin/v1/key-servers/{server}"), None);
        assert_eq!(gone.status, 204);
        assert_eq!(server_count(&srv, &key), 0);
        problem(&call(&srv, &t, "DELETE", &format!("/api/admin/v1/key-servers/{server}"), None), 404, "not-found");
        let default_key = listed[0]["key"].as_str().unwrap();
        let refused = call(&srv, &t, "DELETE", &format!("/api/admin/v1/keys/{default_key}"), None);
        problem(&refused, 409, "refused");
        assert_eq!(call(&srv, &t, "DELETE", &format!("/api/admin/v1/keys/{key}"), None).status, 204);
        assert!(keys(&srv).iter().all(|k| k.0 != key));
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE source = 'admin:partner'"),
            5,
            "{kind:?}: create, limit and ranges (one change, one row), limit, remove server, delete"
        );

        // A read-only token reads but does not write.
        let reader = token(&srv, "reader", true);
        assert_eq!(call(&srv, &reader, "GET", "/api/admin/v1/keys?reseller=bob", None).status, 200);
        let write = call(&srv, &reader, "POST", "/api/admin/v1/keys", Some(body));
        assert_eq!(write.status, 403);
    }
}

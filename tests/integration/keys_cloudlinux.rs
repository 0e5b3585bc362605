//! CloudLinux OS activation keys through CLN's API v2 (keys.md, "CloudLinux OS keys"): the
//! four products, the key and server calls with their methods, CLN's words for a full or an
//! unknown key, and the FAQ's "move a license by key" walk, step by step.

use diesel::prelude::*;
use ipls::db::schema::license_events;
use serde_json::json;

use super::keys_common::{keys, ok_with, plain, server_count, with_method};
use crate::common::http;
use crate::key_tests;

const KEYS: &str = "/api/v2/cl/keys";
const SERVERS: &str = "/api/v2/cl/servers";

/// Registers a server with a CloudLinux OS key (ours: `/api/v2/cl/register_server.json`).
fn register(srv: &crate::common::TestServer, key: &str, host: &str) -> serde_json::Value {
    plain(
        srv.addr,
        &format!("/api/v2/cl/register_server.json?key={key}&hostname={host}"),
    )
}

fn is_cln_os_key(text: &str) -> bool {
    text.split_once('-').is_some_and(|(account, hex)| {
        !account.is_empty()
            && account.bytes().all(|b| b.is_ascii_digit())
            && hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

key_tests! {
    fn keys_of_the_four_products_through_v2(srv, kind) {
        let r = srv.add_reseller("alice", &[1, 1002, 4, 5]);
        // Each product came with its default key, unlimited.
        let listed = ok_with(&r, "GET", KEYS, "");
        let products: Vec<&str> = listed.as_array().unwrap().iter().map(|k| k["product_type"].as_str().unwrap()).collect();
        assert_eq!(products, ["cl", "clp", "cls", "cladmin"], "{kind:?}: {listed}");
        assert!(listed.as_array().unwrap().iter().all(|k| k["default"] == true && k["usage_limit"] == 0));

        let created = ok_with(&r, "POST", KEYS, "limit=2&productType=CL&note=web+one");
        let key = created["key"].as_str().unwrap().to_string();
        assert!(is_cln_os_key(&key), "{key}");
        assert_eq!(
            created,
            json!({"key": key, "product_type": "cl", "usage_limit": 2, "description": "web one",
                   "usage": 0, "default": false})
        );
        // productType in any case; the answer prints it in lower case.
        let solo = ok_with(&r, "POST", KEYS, "limit=1&productType=cls");
        assert_eq!(solo["product_type"], "cls");
        let only_cl = ok_with(&r, "GET", KEYS, "productType=CL");
        assert_eq!(only_cl.as_array().unwrap().len(), 2, "{only_cl}");

        let updated = ok_with(&r, "PATCH", KEYS, &format!("key={key}&limit=5&note=renamed"));
        assert_eq!(updated["usage_limit"], 5);
        assert_eq!(updated["description"], "renamed");
        // A form body is read as the query is, whatever the method.
        let target = format!("{KEYS}?token={}", r.token());
        let body = format!("key={key}&limit=4");
        let patched = http::request(r.addr, "PATCH", &target,
            &[("Content-Type", "application/x-www-form-urlencoded")], body.as_bytes()).json();
        assert_eq!(patched["data"]["usage_limit"], 4, "{patched}");

        // Servers: listed with a numeric id, removed by it.
        let first = register(&srv, &key, "one.example");
        assert_eq!(first["data"]["code"], 0, "{first}");
        register(&srv, &key, "two.example");
        let servers = ok_with(&r, "GET", SERVERS, "productType=CL");
        let rows = servers.as_array().unwrap();
        assert_eq!(rows.len(), 2, "{servers}");
        assert!(rows[0]["id"].is_i64(), "{servers}");
        assert_eq!(rows[0]["key"], key);
        assert_eq!(rows[0]["ip"], "127.0.0.1");
        assert_eq!(rows[0]["hostname"], "one.example");
        let id = rows[0]["id"].as_i64().unwrap();
        let removed = ok_with(&r, "DELETE", SERVERS, &format!("id={id}"));
        assert_eq!(removed, rows[0].clone());
        let again = with_method(&r, "DELETE", SERVERS, &format!("id={id}"));
        assert_eq!(again["success"], false);
        assert_eq!(again["message"], "Server not found");

        let sub = ok_with(&r, "GET", "/api/v2/cl/sub-account/servers", "");
        assert_eq!(sub.as_array().unwrap().len(), 1, "{sub}");
        assert_eq!(sub[0]["sub_account_login"], "alice");
        assert_eq!(sub[0]["server_key"], key);
        assert_eq!(sub[0]["ip"], "127.0.0.1");

        // Deleting a key takes its servers; the default key stays.
        assert_eq!(ok_with(&r, "DELETE", KEYS, &format!("key={key}")), json!({"key": key}));
        assert_eq!(server_count(&srv, &key), 0);
        let gone = with_method(&r, "DELETE", KEYS, &format!("key={key}"));
        assert_eq!(gone["message"], "Key not found");
        let default_key = listed[0]["key"].as_str().unwrap();
        let kept = with_method(&r, "DELETE", KEYS, &format!("key={default_key}"));
        assert!(kept["message"].as_str().unwrap().contains("cannot be deleted"), "{kept}");

        // Every change is in the history, with the product's type.
        let events: Vec<(String, Option<i32>)> = license_events::table
            .filter(license_events::action.like("key%"))
            .select((license_events::action, license_events::type_id))
            .order(license_events::id)
            .load(&mut srv.conn())
            .unwrap();
        for action in ["key_create", "key_update", "key_register", "key_remove", "key_delete"] {
            assert!(events.contains(&(action.to_string(), Some(1))), "{action}: {events:?}");
        }
    }

    fn refusals_in_the_envelope_change_nothing(srv, kind) {
        let r = srv.add_reseller("alice", &[1]);
        let before = keys(&srv);
        for (params, words) in [
            ("limit=1&productType=CLS", "not enabled"),
            ("limit=1&productType=XX", "Unknown productType"),
            ("limit=1", "productType is required"),
            ("productType=CL", "limit is required"),
            ("limit=-3&productType=CL", "Invalid limit"),
        ] {
            let answer = with_method(&r, "POST", KEYS, params);
            assert_eq!(answer["success"], false, "{params}: {answer}");
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(words), "{kind:?} {params}: {message}");
        }
        assert_eq!(keys(&srv), before);
        // Another product's key is not a CloudLinux OS key here.
        let kc = srv.add_reseller("bob", &[16]);
        let kc_key = crate::keys_common::ok(&kc, "kcare/key/create", "limit=1").as_str().unwrap().to_string();
        let answer = with_method(&kc, "PATCH", KEYS, &format!("key={kc_key}&limit=3"));
        assert_eq!(answer["message"], "Key not found");
        // Methods the address does not take: 405 with Allow.
        let put = http::request(r.addr, "PUT", &format!("{KEYS}?token={}", r.token()), &[], b"");
        assert_eq!(put.status, 405);
        assert_eq!(put.header("allow"), Some("GET, POST, PATCH, DELETE"));
        let post = http::request(r.addr, "POST", &format!("{SERVERS}?token={}", r.token()), &[], b"");
        assert_eq!(post.status, 405);
    }

    fn the_faq_walk_moves_a_license_by_key(srv, kind) {
        // A reseller with a paid CloudLinux OS key for one server.
        let r = srv.add_reseller("alice", &[1]);
        let key = ok_with(&r, "POST", KEYS, "limit=1&productType=CL&note=client")["key"]
            .as_str().unwrap().to_string();
        let old = register(&srv, &key, "old.example");
        assert_eq!(old["data"]["code"], 0, "{old}");

        // Step 1: the new server's registration with the same key fails with CLN's words.
        let refused = register(&srv, &key, "new.example");
        assert_eq!(
            refused,
            json!({"success": true, "message": "Maximum usage count of 1 reached", "type": null,
                   "data": {"server_id": null, "code": 3}}),
            "{kind:?}"
        );
        // An unknown key: CLN's other words.
        let unknown = "1-0123456789abcdef0123456789abcdef";
        assert_eq!(
            register(&srv, unknown, "new.example")["message"],
            format!("Could not find token '{unknown}'")
        );

        // Step 2: remove the server, not the license: find the old server in the servers
        // list and delete it; the key's slot is free at once.
        let servers = ok_with(&r, "GET", SERVERS, "productType=CL");
        let row = servers.as_array().unwrap().iter()
            .find(|s| s["hostname"] == "old.example").unwrap().clone();
        ok_with(&r, "DELETE", SERVERS, &format!("id={}", row["id"]));
        let listed = ok_with(&r, "GET", KEYS, "productType=CL");
        let mine = listed.as_array().unwrap().iter().find(|k| k["key"] == key).unwrap();
        assert_eq!((mine["usage"].clone(), mine["usage_limit"].clone()), (json!(0), json!(1)));

        // Step 3: the new server registers with the same key.
        let moved = register(&srv, &key, "new.example");
        assert_eq!(moved["data"]["code"], 0, "{moved}");
        assert_eq!(server_count(&srv, &key), 1);

        // The FAQ's other way: pick a key whose usage is below its total (the default key
        // is unlimited), and register with it.
        let listed = ok_with(&r, "GET", KEYS, "productType=CL");
        let with_room = listed.as_array().unwrap().iter()
            .find(|k| k["usage_limit"] == 0 || k["usage"].as_i64() < k["usage_limit"].as_i64())
            .unwrap()["key"].as_str().unwrap().to_string();
        assert_ne!(with_room, key);
        assert_eq!(register(&srv, &with_room, "third.example")["data"]["code"], 0);
    }

    fn key_servers_share_the_type_limit_with_ip_licenses(srv, kind) {
        let r = srv.add_reseller_with("alice", vec![(1, Some(2))], false);
        r.ok("register", "ip=203.0.113.5&type=1");
        let key = ok_with(&r, "POST", KEYS, "limit=0&productType=CL")["key"].as_str().unwrap().to_string();
        assert_eq!(register(&srv, &key, "a")["data"]["code"], 0);
        let full = register(&srv, &key, "b");
        assert_eq!(full["data"]["code"], 3, "{full}");
        assert!(full["message"].as_str().unwrap().contains("License limit reached"), "{full}");
        // And the IP license counts the key server: the second IP is refused.
        let message = r.refused("register", "ip=203.0.113.6&type=1");
        assert!(message.contains("limit"), "{kind:?}: {message}");
        // Usage counts the key server's days as one more license of type 1, as the IP one's.
        srv.clock.advance(chrono::Duration::days(2));
        let usage = r.ok("/api/usage.json", "month=2026-11");
        let row = usage["usage"].as_array().unwrap().iter().find(|u| u["type"] == 1).unwrap().clone();
        assert_eq!((row["license_days"].clone(), row["peak"].clone()), (json!(6), json!(2)), "{kind:?}: {usage}");
    }
}

/// Python's own XML-RPC client tests a key as a script would: the key as a string, then
/// Spacewalk's struct with `token` and `profile_name`; a full key and an unknown key are
/// Spacewalk's faults 61 and 60 with CLN's words.
const PYTHON_ACTIVATION: &str = r#"
import sys, xmlrpc.client
url, key, unknown = sys.argv[1], sys.argv[2], sys.argv[3]
proxy = xmlrpc.client.ServerProxy(url)
first = proxy.registration.new_system_activation_key(key)
assert isinstance(first, str) and len(first) == 16, first
for argument, code, words in [
    ({"token": key, "profile_name": "second"}, 61, "Maximum usage count of 1 reached"),
    (unknown, 60, "Could not find token '%s'" % unknown),
    (7, 30, "parameter 1"),
]:
    try:
        proxy.registration.new_system_activation_key(argument)
        raise SystemExit("expected a fault for %r" % (argument,))
    except xmlrpc.client.Fault as fault:
        assert (fault.faultCode, fault.faultString.startswith(words)) == (code, True), (fault.faultCode, fault.faultString)
print(first)
"#;

fn python_activation(srv: &crate::common::TestServer, key: &str, unknown: &str) -> String {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            PYTHON_ACTIVATION,
            &format!("http://{}/clweb/xmlrpc", srv.addr),
            key,
            unknown,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

key_tests! {
    fn xmlrpc_tests_a_key_with_spacewalks_faults(srv, kind) {
        let r = srv.add_reseller("alice", &[1]);
        let key = ok_with(&r, "POST", KEYS, "limit=1&productType=CL")["key"].as_str().unwrap().to_string();
        let server_id = python_activation(&srv, &key, "9-ffffffffffffffffffffffffffffffff");
        let servers = ok_with(&r, "GET", SERVERS, "");
        assert_eq!(servers.as_array().unwrap().len(), 1, "{kind:?}: {servers}");
        assert_eq!(server_count(&srv, &key), 1);
        // The server it made checks in by its id like any key server.
        let checked = plain(srv.addr, &format!("/api/server/checkin.json?server_id={server_id}"));
        assert_eq!(checked["data"]["types"], json!([1]), "{checked}");
        // Freed, the struct form registers with its profile name as the hostname.
        ok_with(&r, "DELETE", SERVERS, &format!("id={}", servers[0]["id"]));
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>registration.new_system_activation_key</methodName>\
             <params><param><value><struct><member><name>token</name><value><string>{key}</string></value></member>\
             <member><name>profile_name</name><value><string>web2.example</string></value></member></struct></value></param></params></methodCall>"
        );
        let answer = http::request(srv.addr, "POST", "/clweb/xmlrpc", &[("Content-Type", "text/xml")], body.as_bytes()).text();
        assert!(answer.contains("<string>") && !answer.contains("fault"), "{answer}");
        assert_eq!(ok_with(&r, "GET", SERVERS, "")[0]["hostname"], "web2.example");
    }
}

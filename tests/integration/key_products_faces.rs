//! The new key products' settings from every face: the KernelCare sticky tag (CLI, admin
//! API, console; shown in key lists and `key/servers.json` rows and by the Nagios key form),
//! the monitoring token (CLI, admin API, console), server groups on the console's key pages,
//! and CloudLinux OS and ELS keys from the CLI and the admin API.

use chrono::Duration;
use ipls::domain::roles::Role;
use serde_json::json;

use super::admin_api::{call, ok as admin, problem, token};
use super::keys_common::{ok, plain};
use crate::common::console::{add_user, get, log_in, post, PASSWORD};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::{http, TestServer, TEST_MASTER_KEY};
use crate::key_tests;

fn register(srv: &TestServer, product: &str, key: &str, host: &str) -> String {
    let answer = plain(
        srv.addr,
        &format!("/api/{product}/register_server.json?key={key}&hostname={host}"),
    );
    answer["data"]["server_id"].as_str().unwrap().to_string()
}

fn nagios(srv: &TestServer, target: &str) -> String {
    http::request(srv.addr, "GET", target, &[], b"").text()
}

key_tests! {
    fn sticky_tags_from_the_cli_the_admin_api_and_the_console(srv, kind) {
        let r = srv.add_reseller("alice", &[16, 41]);
        let ipls = |args: &[&str]| ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let server = register(&srv, "kcare", &key, "web.example");
        plain(srv.addr, &format!("/api/server/checkin.json?server_id={server}&kernel_id=4d1f&patch_level=2&latest_patch_level=2"));
        // The server's clock reads 2026-11-28: the last day a tag may name there is 2026-11-27.
        let said = succeeded(&ipls(&["key", "set-sticky-tag", &key, "2024-05-01"]));
        assert_eq!(said.trim(), format!("key {key}: servers take patches released before 2024-05-01"));
        let listed = ok(&r, "kcare/key/list", "");
        let row = listed.as_array().unwrap().iter().find(|k| k["key"] == key.as_str()).unwrap();
        assert_eq!(row["sticky_tag"], "2024-05-01", "{kind:?}: {row}");
        assert_eq!(ok(&r, "kcare/key/servers", &format!("key={key}"))[0]["sticky_tag"], "2024-05-01");
        let cli_rows: serde_json::Value = serde_json::from_str(&succeeded(&ipls(&["key", "list", "--format", "json"]))).unwrap();
        assert!(cli_rows.as_array().unwrap().iter().any(|k| k["key"] == key.as_str() && k["sticky_tag"] == "2024-05-01"), "{cli_rows}");
        assert_eq!(
            nagios(&srv, &format!("/api/kcare/nagios/{key}")),
            "KernelCare OK - all servers are up to date!|uptodate=1;outofdate=0;unsupported=0;inactive=0\nSticky tag: 2024-05-01\n"
        );
        // The CLI reads the real clock: today is refused there.
        let today = chrono::Utc::now().date_naive().to_string();
        for (date, words) in [("2018-05-27", "outside 2018-05-28"), (today.as_str(), "the day before today"), ("May 1", "not a date")] {
            let refused = ipls(&["key", "set-sticky-tag", &key, date]);
            assert!(!refused.status.success(), "{date}");
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert!(stderr.contains(words), "{date}: {stderr}");
        }
        assert!(succeeded(&ipls(&["key", "set-sticky-tag", &key, "2018-05-28"])).contains("2018-05-28"));
        let im_key = ok(&r, "im/key/create", "code=360_1&limit=1")["key"].as_str().unwrap().to_string();
        let refused = ipls(&["key", "set-sticky-tag", &im_key, "2024-05-01"]);
        assert!(String::from_utf8_lossy(&refused.stderr).contains("only KernelCare keys take a sticky tag"));

        // The admin API: set, clear with null, refuse a bad date with nothing changed.
        let t = token(&srv, "partner", false);
        let path = format!("/api/admin/v1/keys/{key}");
        let set = admin(&srv, &t, "PATCH", &path, Some(json!({"sticky_tag": "2025-01-15"})));
        assert_eq!(set["sticky_tag"], "2025-01-15");
        let bad = call(&srv, &t, "PATCH", &path, Some(json!({"sticky_tag": "2027-01-01", "note": "x"})));
        assert_eq!(bad.status, 409, "{}", bad.text());
        problem(&call(&srv, &t, "PATCH", &path, Some(json!({"sticky_tag": "soon"}))), 400, "invalid-request");
        assert_eq!(admin(&srv, &t, "GET", &path, None)["note"], "", "nothing changed");
        let refused = call(&srv, &t, "PATCH", &format!("/api/admin/v1/keys/{im_key}"), Some(json!({"sticky_tag": "2025-01-15", "note": "kept?"})));
        assert_eq!(refused.status, 409, "{}", refused.text());
        assert_eq!(admin(&srv, &t, "GET", &format!("/api/admin/v1/keys/{im_key}"), None)["note"], "", "{kind:?}: all or nothing");
        let cleared = admin(&srv, &t, "PATCH", &path, Some(json!({"sticky_tag": null})));
        assert_eq!(cleared["sticky_tag"], serde_json::Value::Null);
        let got = admin(&srv, &t, "GET", &path, None);
        assert_eq!(got["server_list"][0]["kernel_id"], "4d1f");
        assert_eq!(got["server_list"][0]["patch_level"], 2);

        // The console's key page: the form, the fact, the list's column.
        add_user(&srv, "ops@alice.example", Role::Full, Some("alice"));
        let s = log_in(&srv, "ops@alice.example", PASSWORD);
        let saved = post(&srv, &s.cookie, &format!("/console/keys/{key}/sticky"), &[("csrf", &s.csrf), ("sticky_tag", "2023-03-03")]);
        assert_eq!(saved.status, 303, "{}", saved.text());
        let page = get(&srv, &s.cookie, &format!("/console/keys/{key}")).text();
        assert!(page.contains("<dt>Sticky tag</dt><dd>2023-03-03</dd>"), "{page}");
        assert!(page.contains("max=\"2026-11-27\"") && page.contains("min=\"2018-05-28\""), "{page}");
        assert!(page.contains("up to date"), "the server's status: {page}");
        let list = get(&srv, &s.cookie, "/console/keys?product=kcare").text();
        assert!(list.contains("data-label=\"Sticky tag\">2023-03-03<"), "{list}");
        let bad = post(&srv, &s.cookie, &format!("/console/keys/{key}/sticky"), &[("csrf", &s.csrf), ("sticky_tag", "2017-01-01")]);
        assert_eq!(bad.status, 409, "{}", bad.text());
        assert!(bad.text().contains("outside 2018-05-28"));
        post(&srv, &s.cookie, &format!("/console/keys/{key}/sticky"), &[("csrf", &s.csrf), ("sticky_tag", "")]);
        assert_eq!(admin(&srv, &t, "GET", &path, None)["sticky_tag"], serde_json::Value::Null);
        // In the history: every change, as key_update with the tag.
        let history = srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'key_update' AND detail LIKE '%sticky_tag=%'");
        assert_eq!(history, 6, "{kind:?}");
        srv.clock.advance(Duration::days(1));
    }

    fn monitoring_tokens_from_every_face(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let server = register(&srv, "kcare", &key, "web.example");
        plain(srv.addr, &format!("/api/server/checkin.json?server_id={server}&kernel_id=4d1f&patch_level=1&latest_patch_level=3"));
        let expected = "1 machine is OUTOFDATE!|uptodate=0;outofdate=1;unsupported=0;inactive=0\nweb.example (127.0.0.1) is OUTOFDATE\n";
        let refused = "Registration token not found for reseller alice\n";
        let ipls = |args: &[&str]| ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args);

        let from_cli = succeeded(&ipls(&["key", "monitoring-token", "--reseller", "alice"])).trim().to_string();
        assert_eq!(nagios(&srv, &format!("/clweb/api/kcare/nagios-res/alice/{from_cli}")), expected, "{kind:?}");

        let t = token(&srv, "partner", false);
        let path = "/api/admin/v1/resellers/alice/monitoring-token";
        let made = call(&srv, &t, "POST", path, None);
        assert_eq!(made.status, 201, "{}", made.text());
        let from_api = made.json()["token"].as_str().unwrap().to_string();
        assert_eq!(nagios(&srv, &format!("/api/kcare/nagios-res/alice/{from_cli}")), refused, "rotated");
        assert_eq!(nagios(&srv, &format!("/api/kcare/nagios-res/alice/{from_api}")), expected);
        assert_eq!(admin(&srv, &t, "GET", path, None)["created_at"], "2026-11-28T12:00:00Z");
        let read_only = token(&srv, "viewer", true);
        problem(&call(&srv, &read_only, "POST", path, None), 403, "read-only-token");

        add_user(&srv, "ops@alice.example", Role::Full, Some("alice"));
        let s = log_in(&srv, "ops@alice.example", PASSWORD);
        let account = get(&srv, &s.cookie, "/console/account").text();
        assert!(account.contains("A monitoring token was made on"), "{account}");
        let page = post(&srv, &s.cookie, "/console/account/monitoring", &[("csrf", &s.csrf)]);
        assert_eq!(page.status, 200, "{}", page.text());
        let text = page.text();
        let start = text.find("<code id=\"revealed\">").unwrap() + "<code id=\"revealed\">".len();
        let from_console = &text[start..start + 32];
        assert_eq!(nagios(&srv, &format!("/api/kcare/nagios-res/alice/{from_console}")), expected);
        assert_eq!(nagios(&srv, &format!("/api/kcare/nagios-res/alice/{from_api}")), refused);
        let revoked = post(&srv, &s.cookie, "/console/account/monitoring/revoke", &[("csrf", &s.csrf)]);
        assert_eq!(revoked.status, 303);
        assert_eq!(nagios(&srv, &format!("/api/kcare/nagios-res/alice/{from_console}")), refused);
        assert_eq!(admin(&srv, &t, "GET", path, None)["created_at"], serde_json::Value::Null);
        assert!(succeeded(&ipls(&["key", "monitoring-token", "--reseller", "alice", "--revoke"])).contains("had no monitoring token"));
        // A read-only login sees the state but no form.
        add_user(&srv, "viewer@alice.example", Role::ReadOnly, Some("alice"));
        let v = log_in(&srv, "viewer@alice.example", PASSWORD);
        let account = get(&srv, &v.cookie, "/console/account").text();
        assert!(account.contains("No monitoring token yet.") && !account.contains("/console/account/monitoring\""), "{account}");
        // Every change is in the audit, with who.
        let audit = srv.count("SELECT count(*) AS n FROM license_events WHERE action LIKE 'monitoring_token%'");
        assert_eq!(audit, 4, "{kind:?}: cli, api, console rotate, console revoke");
    }

    fn groups_on_the_console_key_pages(srv, kind) {
        let r = srv.add_reseller("alice", &[41]);
        let key = ok(&r, "im/key/create", "code=360_1&limit=0")["key"].as_str().unwrap().to_string();
        let server = register(&srv, "im", &key, "web.example");
        add_user(&srv, "ops@alice.example", Role::Full, Some("alice"));
        let s = log_in(&srv, "ops@alice.example", PASSWORD);
        let made = post(&srv, &s.cookie, "/console/key-groups", &[("csrf", &s.csrf), ("product", "imunify"), ("name", "web"), ("description", "Front ends")]);
        assert_eq!(made.status, 303, "{}", made.text());
        let set = post(&srv, &s.cookie, "/console/key-groups/servers", &[("csrf", &s.csrf), ("key", &key), ("server_id", &server), ("group", "web")]);
        assert_eq!(set.status, 303, "{}", set.text());
        assert_eq!(ok(&r, "group/servers/list", "name=web")[0]["id"], server.as_str());
        let list = get(&srv, &s.cookie, "/console/keys?product=imunify").text();
        assert!(list.contains("data-label=\"Group\">web<") && list.contains("data-label=\"Servers\">1<"), "{kind:?}: {list}");
        let page = get(&srv, &s.cookie, &format!("/console/keys/{key}")).text();
        assert!(page.contains("<option value=\"web\" selected>web</option>"), "{page}");
        // Out of the group again; a group of another product is refused.
        post(&srv, &s.cookie, "/console/key-groups", &[("csrf", &s.csrf), ("product", "kcare"), ("name", "kernels")]);
        let wrong = post(&srv, &s.cookie, "/console/key-groups/servers", &[("csrf", &s.csrf), ("key", &key), ("server_id", &server), ("group", "kernels")]);
        assert_eq!(wrong.status, 409, "{}", wrong.text());
        assert_eq!(ok(&r, "group/servers/list", "name=web").as_array().unwrap().len(), 1, "nothing changed");
        post(&srv, &s.cookie, "/console/key-groups/servers", &[("csrf", &s.csrf), ("key", &key), ("server_id", &server), ("group", "")]);
        assert_eq!(ok(&r, "group/servers/list", "name=web"), json!([]));
    }

    fn cloudlinux_and_els_keys_from_the_cli_and_the_admin_api(srv, kind) {
        let r = srv.add_reseller("alice", &[1002, 3]);
        let ipls = |args: &[&str]| ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args);
        let cl = succeeded(&ipls(&["key", "create", "--reseller", "alice", "--product", "CLP", "--limit", "2"])).trim().to_string();
        assert!(cl.split_once('-').is_some_and(|(a, h)| a.parse::<u64>().is_ok() && h.len() == 32), "{cl}");
        let listed = crate::keys_common::ok_with(&r, "GET", "/api/v2/cl/keys", "productType=CLP");
        assert!(listed.as_array().unwrap().iter().any(|k| k["key"] == cl.as_str() && k["usage_limit"] == 2), "{listed}");
        let table = succeeded(&ipls(&["key", "list", "--reseller", "alice"]));
        assert!(table.contains("cloudlinux CLP") && table.contains("els CELS"), "{table}");
        let t = token(&srv, "partner", false);
        let answer = call(&srv, &t, "POST", "/api/admin/v1/keys", Some(json!({"reseller": "alice", "product": "CELS", "limit": 3})));
        assert_eq!(answer.status, 201, "{}", answer.text());
        let els = answer.json();
        assert_eq!((els["product"].clone(), els["type"].clone()), (json!("CELS"), json!(3)));
        let key = els["key"].as_str().unwrap();
        let rows = r.ok("/api/els/key/list.json", "productType=CELS");
        assert!(rows.as_array().unwrap().iter().any(|k| k["key"] == key && k["usageLimit"] == "3"), "{kind:?}: {rows}");
        let wrong = call(&srv, &t, "POST", "/api/admin/v1/keys", Some(json!({"reseller": "alice", "product": "CLS", "limit": 1})));
        assert_eq!(wrong.status, 409, "type 4 is not enabled: {}", wrong.text());
        let unknown = ipls(&["key", "create", "--reseller", "alice", "--product", "CLX"]);
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("CLADMIN"), "the codes are listed");
    }
}

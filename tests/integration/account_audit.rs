//! Changes to accounts (not licenses) reach the audit from every face, with who made them:
//! the admin API, the CLI, the operator's console pages and a reseller's Account page; read
//! back through `ipls audit`, the admin API's audit and the console's audit log, on both
//! backends.

use ipls::domain::users::Role;
use serde_json::{json, Value};

use crate::admin_api::{call, ok, token};
use crate::common::console::{add_user, get, log_in, post, PASSWORD};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::{TestServer, TEST_MASTER_KEY};
use crate::on_both_backends;

/// `(action, detail, source)` of every audit row of `login`'s account without an IP, oldest
/// first, as `ipls audit --format json` prints them.
fn account_rows(srv: &TestServer, login: &str) -> Vec<(String, String, String)> {
    let out = succeeded(&ipls_cli(
        &srv.db,
        Some(TEST_MASTER_KEY),
        &[
            "audit",
            "--reseller",
            login,
            "--format",
            "json",
            "--limit",
            "100",
        ],
    ));
    let rows: Vec<Value> = serde_json::from_str(&out).expect("JSON rows");
    rows.iter()
        // Account rows: no IP, and not the default keys' history (a product's default key
        // comes with it, as `key_create`).
        .filter(|r| r["ip"] == "" && r["action"] != "key_create")
        .map(|r| {
            let text = |f: &str| r[f].as_str().unwrap_or("").to_string();
            (text("action"), text("detail"), text("source"))
        })
        .collect()
}

fn cli(srv: &TestServer, args: &[&str]) -> String {
    succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args))
}

on_both_backends! {
    fn every_face_audits_account_changes_with_who(srv) {
        // The admin API.
        let t = token(&srv, "billing", false);
        let made = call(&srv, &t, "POST", "/api/admin/v1/resellers", Some(json!({"login": "newco", "types": [{"type": 1}]})));
        assert_eq!(made.status, 201, "{}", made.text());
        ok(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco", Some(json!({"types": [{"type": 1, "limit": 5}], "trial": true})));
        // The same values again change nothing, so they add no row.
        ok(&srv, &t, "PATCH", "/api/admin/v1/resellers/newco", Some(json!({"types": [{"type": 1, "limit": 5}], "trial": true})));
        ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/block", Some(json!({"reason": "unpaid"})));
        ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/unblock", None);
        ok(&srv, &t, "POST", "/api/admin/v1/resellers/newco/rotate-secret", None);

        // The CLI.
        cli(&srv, &["reseller", "set", "newco", "--api", "off", "--allow-from", "203.0.113.0/24"]);
        cli(&srv, &["user", "add", "boss@newco.example", "--reseller", "newco"]);
        cli(&srv, &["user", "passwd", "boss@newco.example"]);

        // The operator's console pages.
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let op = log_in(&srv, "root@ipls.example", PASSWORD);
        let blocked = post(&srv, &op.cookie, "/console/operator/resellers/newco/block", &[("csrf", &op.csrf), ("reason", "abuse report")]);
        assert_eq!(blocked.status, 303, "{}", blocked.text());
        post(&srv, &op.cookie, "/console/operator/resellers/newco/unblock", &[("csrf", &op.csrf)]);

        // A reseller's own Account page.
        add_user(&srv, "ops@newco.example", Role::Full, Some("newco"));
        let me = log_in(&srv, "ops@newco.example", PASSWORD);
        let added = post(&srv, &me.cookie, "/console/account/users", &[("csrf", &me.csrf), ("email", "viewer@newco.example"), ("role", "read-only")]);
        assert_eq!(added.status, 200, "{}", added.text());
        post(&srv, &me.cookie, "/console/account/users/remove", &[("csrf", &me.csrf), ("email", "viewer@newco.example")]);
        let secret = post(&srv, &me.cookie, "/console/account/secrets", &[("csrf", &me.csrf), ("name", "whmcs")]);
        assert_eq!(secret.status, 200, "{}", secret.text());
        cli(&srv, &["user", "remove", "boss@newco.example"]);

        let rows = account_rows(&srv, "newco");
        let expected: Vec<(&str, &str, &str)> = vec![
            ("reseller_create", "types=1", "admin:billing"),
            ("reseller_settings", "trial=on", "admin:billing"),
            ("reseller_types", "types=1:5", "admin:billing"),
            ("reseller_block", "reason=unpaid", "admin:billing"),
            ("reseller_unblock", "", "admin:billing"),
            ("secret_rotate", "", "admin:billing"),
            ("reseller_settings", "api=off allow_from=203.0.113.0/24", "cli"),
            ("user_add", "user=boss@newco.example role=full", "cli"),
            ("user_password", "user=boss@newco.example", "cli"),
            ("reseller_block", "reason=abuse report", "console:root@ipls.example"),
            ("reseller_unblock", "", "console:root@ipls.example"),
            ("user_add", "user=ops@newco.example role=full", "cli"),
            ("user_add", "user=viewer@newco.example role=read-only", "console:ops@newco.example"),
            ("user_remove", "user=viewer@newco.example", "console:ops@newco.example"),
            ("secret_add", "name=whmcs", "console:ops@newco.example"),
            ("user_remove", "user=boss@newco.example", "cli"),
        ];
        let got: Vec<(&str, &str, &str)> = rows.iter().map(|(a, d, s)| (a.as_str(), d.as_str(), s.as_str())).collect();
        assert_eq!(got, expected);

        // The same rows through the admin API and on the console's audit log, with who.
        let audit = ok(&srv, &t, "GET", "/api/admin/v1/audit?reseller=newco&limit=100", None);
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        // With the default CloudLinux OS key type 1 came with, oldest.
        assert_eq!(actions.len(), expected.len() + 1, "{audit}");
        assert_eq!(actions.last(), Some(&"key_create"), "{audit}");
        assert_eq!(actions[0], "user_remove", "newest first");
        let page = get(&srv, &op.cookie, "/console/operator/audit?reseller=newco").text();
        assert!(page.contains("reseller_block") && page.contains("reason=abuse report"), "{page}");
        assert!(page.contains("console user root@ipls.example") && page.contains("admin API token billing"), "{page}");
        // And the operator's own login, which belongs to no reseller, in the unfiltered log.
        let all = get(&srv, &op.cookie, "/console/operator/audit").text();
        assert!(all.contains("user=root@ipls.example role=operator"), "{all}");
    }
}

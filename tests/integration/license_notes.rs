//! A license's note and external id (ours): set on register, changed in the admin API, the
//! console and the CLI, searchable and exported, unique per reseller, and never in the CLN
//! faces' answers.

use ipls::domain::users::Role;
use serde_json::json;

use crate::admin_api::{call, ok, token};
use crate::common::console::{add_user, get, log_in, post, PASSWORD};
use crate::common::{http, TestServer};
use crate::on_both_backends;

fn with_note(srv: &TestServer) -> crate::common::Reseller {
    let acme = srv.add_reseller("acme", &[1, 16]);
    acme.ok(
        "register",
        "ip=203.0.113.1&type=1&note=rack%2012%2C%20customer%20Smith&external_id=svc-1001",
    );
    acme
}

on_both_backends! {
    fn the_cln_faces_never_show_them(srv) {
        let acme = with_note(&srv);
        assert_eq!(
            acme.ok("register", "ip=203.0.113.1&type=1"),
            json!({"ip": "203.0.113.1", "type": 1, "registered": false, "created": "2026-11-28T12:00+0000"})
        );
        for (endpoint, params) in [("list", ""), ("server", "ip=203.0.113.1"), ("check", "ip=203.0.113.1"),
            ("availability", "ip=203.0.113.1"), ("/api/v2/ip-license/licenses", "")] {
            let text = acme.call(endpoint, params).text();
            assert!(!text.contains("Smith") && !text.contains("svc-1001"), "{endpoint}: {text}");
            assert!(!text.contains("note") && !text.contains("external_id"), "{endpoint}: {text}");
        }
        let xml = format!(
            "<methodCall><methodName>registration.license_list</methodName><params><param><value>{}</value></param></params></methodCall>",
            acme.token()
        );
        let answer = http::request(srv.addr, "POST", "/clweb/xmlrpc", &[], xml.as_bytes()).text();
        assert!(!answer.contains("Smith") && !answer.contains("svc-1001"), "{answer}");
        // The admin API shows both.
        let t = token(&srv, "billing", false);
        let page = ok(&srv, &t, "GET", "/api/admin/v1/licenses?reseller=acme&external_id=svc-1001", None);
        assert_eq!(page["items"][0]["note"], "rack 12, customer Smith");
        assert_eq!(page["items"][0]["external_id"], "svc-1001");
        let none = ok(&srv, &t, "GET", "/api/admin/v1/licenses?external_id=svc-9", None);
        assert_eq!(none["items"], json!([]));
    }

    fn an_external_id_names_one_license_per_reseller(srv) {
        let acme = with_note(&srv);
        let message = acme.refused("register", "ip=203.0.113.2&type=1&external_id=svc-1001");
        assert!(message.contains("external_id svc-1001 is already on your license of type 1 on IP 203.0.113.1"), "{message}");
        assert_eq!(acme.ok("check", "ip=203.0.113.2"), json!([]), "nothing registered");
        let beta = srv.add_reseller("beta", &[1]);
        beta.ok("register", "ip=203.0.113.3&type=1&external_id=svc-1001");
        let long = "x".repeat(501);
        assert!(acme.refused("register", &format!("ip=203.0.113.4&type=1&note={long}")).contains("at most 500"));
        assert!(acme.refused("register", "ip=203.0.113.4&type=1&note=a%00b").contains("NUL"));
        assert!(acme.refused("register", "ip=203.0.113.4&type=1&external_id=a%0Ab").contains("control"));
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '203.0.113.4'"), 0);
    }

    fn changed_in_the_admin_api_the_cli_and_the_console(srv) {
        let acme = with_note(&srv);
        acme.ok("register", "ip=203.0.113.1&type=16");
        let t = token(&srv, "billing", false);
        let path = "/api/admin/v1/licenses/203.0.113.1";
        // An external id names one license: with two types on the IP, the type is needed.
        let both = call(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme", "external_id": "svc-2"})));
        assert_eq!(both.status, 400, "{}", both.text());
        let changed = ok(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme", "type": 16, "external_id": "svc-2"})));
        assert_eq!(changed[0]["external_id"], "svc-2");
        assert_eq!(changed[0]["note"], json!(null));
        let taken = call(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme", "type": 16, "external_id": "svc-1001"})));
        assert_eq!(taken.status, 409, "{}", taken.text());
        // Absent leaves a field, null clears it; every type without "type".
        let cleared = ok(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme", "type": 1, "note": null})));
        assert_eq!(cleared[0]["note"], json!(null));
        assert_eq!(cleared[0]["external_id"], "svc-1001");
        let all = ok(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme", "note": "moving Friday"})));
        assert_eq!(all.as_array().unwrap().len(), 2);
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'note'"),
            4,
            "one history row per license changed"
        );
        let nothing = ok(&srv, &t, "PATCH", path, Some(json!({"reseller": "acme"})));
        assert_eq!(nothing[0]["note"], "moving Friday", "nothing to change: answered as is");

        // The CLI.
        let cli = |args: &[&str]| {
            crate::common::process::ipls_cli(&srv.db, Some(crate::common::TEST_MASTER_KEY), args)
        };
        let out = cli(&["license", "note", "--reseller", "acme", "--ip", "203.0.113.1", "--type", "1", "--note", "from the CLI"]);
        assert!(out.status.success(), "{out:?}");
        let listed = cli(&["license", "list", "--reseller", "acme", "--format", "csv"]);
        let csv = String::from_utf8_lossy(&listed.stdout);
        assert!(csv.contains("svc-1001") && csv.contains("from the CLI"), "{csv}");

        // The console: shown, searchable, saved, exported.
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let found = get(&srv, &s.cookie, "/console/licenses?q=svc-1001").text();
        assert!(found.contains("from the CLI") && found.contains("ID svc-1001"), "{found}");
        let saved = post(&srv, &s.cookie, "/console/licenses/note", &[("csrf", &s.csrf), ("ip", "203.0.113.1"),
            ("type", "1"), ("note", "from the console"), ("external_id", "svc-3")]);
        assert_eq!(saved.header("location"), Some("/console/licenses?notice=noted"));
        let found = get(&srv, &s.cookie, "/console/licenses?q=FROM%20THE%20CONSOLE").text();
        assert!(found.contains("ID svc-3"), "{found}");
        let csv = get(&srv, &s.cookie, "/console/licenses.csv?q=svc-3").text();
        assert!(csv.contains(",svc-3,from the console"), "{csv}");
    }
}

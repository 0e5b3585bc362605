//! Console actions over HTTP on both backends: ELS and Imunify conversion through the
//! same domain calls as the API (history names the console user), sub-logins created by a
//! full user, usage and its CSV, the history's "who", and bad input answered clearly.

use ipls::domain::users::Role;

use crate::common::console::{add_user, field_value, get, log_in, post, PASSWORD};
use crate::on_both_backends;

on_both_backends! {
    fn els_and_conversion_go_through_the_domain(srv) {
        let acme = srv.add_reseller("acme", &[1, 41, 42]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        acme.ok("register", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.2&type=41");
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let els = post(&srv, &s.cookie, "/console/licenses/els", &[("csrf", &s.csrf), ("ip", "203.0.113.1"), ("type", "1"), ("els", "on")]);
        assert_eq!(els.header("location"), Some("/console/licenses?notice=els"));
        assert_eq!(acme.ok("server", "ip=203.0.113.1")[0]["ip"], "203.0.113.1");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses WHERE els_allowed"), 1);
        let page = get(&srv, &s.cookie, "/console/licenses").text();
        assert!(page.contains("ELS: on → off"), "{page}");

        let converted = post(&srv, &s.cookie, "/console/licenses/convert", &[("csrf", &s.csrf), ("ip", "203.0.113.2"), ("from", "41"), ("to", "42")]);
        assert_eq!(converted.header("location"), Some("/console/licenses?notice=converted"));
        assert_eq!(acme.ok("check", "ip=203.0.113.2"), serde_json::json!([42]));
        let refused = post(&srv, &s.cookie, "/console/licenses/convert", &[("csrf", &s.csrf), ("ip", "203.0.113.2"), ("from", "42"), ("to", "1")]);
        assert_eq!(refused.header("location"), Some("/console/licenses?notice=not-converted"));

        let history = get(&srv, &s.cookie, "/console/history?ip=203.0.113.2").text();
        assert!(history.contains("console user ops@acme.example"), "{history}");
        assert!(history.contains("API call from 127.0.0.1"), "{history}");
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'convert' AND source = 'console:ops@acme.example'"),
            1
        );
    }

    fn bad_input_is_refused_clearly(srv) {
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        // Input that is wrong is 400; a rule that refuses it in the current state is 409
        // (error::FACES).
        for (target, fields, says, status) in [
            ("/console/licenses/add", vec![("ip", "300.1.1.1"), ("type", "1")], "is not an IP address", 400),
            ("/console/licenses/add", vec![("ip", "203.0.113.1"), ("type", "x")], "is not a license type", 400),
            ("/console/licenses/add", vec![("ip", "203.0.113.1"), ("type", "16")], "not enabled", 409),
            ("/console/account/allowlist", vec![("allow_from", "10.0.0.0/33")], "allowed sources", 400),
            ("/console/account/users", vec![("email", "nobody"), ("role", "full")], "is not an e-mail address", 400),
            ("/console/account/password", vec![("current", PASSWORD), ("new", "short")], "at least 12 characters", 400),
        ] {
            let mut fields = fields;
            fields.push(("csrf", &s.csrf));
            let answer = post(&srv, &s.cookie, target, &fields);
            assert_eq!(answer.status, status, "{target}: {}", answer.text());
            assert!(answer.text().contains(says), "{target}: {}", answer.text());
        }
        for target in ["/console/licenses?ip=nonsense", "/console/licenses?after=1", "/console/usage?month=2026-13", "/console/stale?days=-1", "/console/history?since=yesterday"] {
            let answer = get(&srv, &s.cookie, target);
            assert_eq!(answer.status, 400, "{target}: {}", answer.text());
        }
        assert_eq!(get(&srv, &s.cookie, "/console/no-such-page").status, 404);
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 0);
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_users"), 1);
    }

    fn a_full_user_adds_a_read_only_login(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        acme.ok("register", "ip=203.0.113.1&type=1");
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let added = post(&srv, &s.cookie, "/console/account/users", &[("csrf", &s.csrf), ("email", "Viewer@Acme.example"), ("role", "read-only")]);
        assert_eq!(added.status, 200, "{}", added.text());
        let page = added.text();
        let start = page.find("id=\"revealed\">").expect("the password shown once") + "id=\"revealed\">".len();
        let password = &page[start..start + 24];
        let viewer = log_in(&srv, "viewer@acme.example", password);
        let licenses = get(&srv, &viewer.cookie, "/console/licenses").text();
        assert!(licenses.contains("203.0.113.1") && !licenses.contains("Add IP"));
        assert!(field_value(&licenses, "csrf").is_some(), "the logout form carries a token");
        let usage = get(&srv, &viewer.cookie, "/console/usage?format=csv").text();
        assert!(usage.starts_with("type,type_name,license_days,peak,amount,suspended_days\r\n1,"), "{usage}");
    }
}

on_both_backends! {
    fn the_operator_edits_a_reseller(srv) {
        let acme = srv.add_reseller("acme", &[1, 16]);
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let s = log_in(&srv, "root@ipls.example", PASSWORD);
        let saved = post(&srv, &s.cookie, "/console/operator/resellers/acme/settings", &[
            ("csrf", &s.csrf), ("types", "1"), ("limit-1", "1"), ("types", "41"), ("limit-41", ""),
            ("trial", "on"), ("api", "on"), ("legacy_sha1", "on"), ("allow_from", "127.0.0.0/8"),
        ]);
        assert_eq!(saved.header("location"), Some("/console/operator/resellers/acme?notice=saved"), "{}", saved.text());
        acme.ok("register", "ip=203.0.113.1&type=1");
        assert!(acme.refused("register", "ip=203.0.113.2&type=1").contains("limit"), "type 1 is limited to 1");
        assert!(acme.refused("register", "ip=203.0.113.2&type=16").contains("not enabled"));
        acme.ok("register", "ip=203.0.113.2&type=41");
        let page = get(&srv, &s.cookie, "/console/operator/resellers/acme").text();
        assert!(page.contains("127.0.0.0/8"), "{page}");

        // API access off: the reseller's calls are refused; on again: they work.
        let off = post(&srv, &s.cookie, "/console/operator/resellers/acme/settings", &[
            ("csrf", &s.csrf), ("types", "1"), ("limit-1", "1"), ("legacy_sha1", "on"),
        ]);
        assert_eq!(off.status, 303);
        assert!(acme.refused("check", "ip=203.0.113.1").contains("API access"));
        let listed = get(&srv, &s.cookie, "/console/operator/resellers?q=ACM").text();
        assert!(listed.contains(">acme</a>") && listed.contains("no API access"), "{listed}");
        let who = get(&srv, &s.cookie, "/console/operator/licenses?ip=203.0.113.2").text();
        assert!(who.contains(">acme</a>"), "{who}");
        let bad = post(&srv, &s.cookie, "/console/operator/resellers/acme/settings", &[
            ("csrf", &s.csrf), ("types", "1"), ("limit-1", "-3"),
        ]);
        assert_eq!(bad.status, 400);
        assert!(bad.text().contains("whole number"));
        assert_eq!(get(&srv, &s.cookie, "/console/operator/resellers/nobody").status, 404);
    }
}

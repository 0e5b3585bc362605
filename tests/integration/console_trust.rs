//! What a console user can trust, over HTTP on both backends: a removal "of every license
//! matching the filter" acts on exactly the set its confirmation counted, every notice says
//! what happened, a POST from another site is refused, HTTPS gets HSTS, and an e-mail address
//! follows one rule wherever it is typed.

use ipls::domain::users::Role;

use crate::common::console::{add_user, field_value, get, log_in, post, PASSWORD};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::{http, Options, TestServer, TEST_MASTER_KEY};
use crate::{on_both_backends, on_both_kinds};

fn licenses(srv: &TestServer) -> i64 {
    srv.count("SELECT count(*) AS n FROM ip_licenses")
}

/// The count and fingerprint a confirmation page carries.
fn confirmed(page: &str) -> (String, String) {
    (
        field_value(page, "confirmed_count").expect("the confirmed count"),
        field_value(page, "confirmed").expect("the confirmed set"),
    )
}

on_both_backends! {
    fn a_filtered_removal_takes_exactly_the_confirmed_set(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        for i in 1..=5 {
            acme.ok("register", &format!("ip=203.0.113.{i}&type=1"));
        }
        acme.ok("register", "ip=198.51.100.1&type=1");
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let confirm = get(&srv, &s.cookie, "/console/licenses/remove-matching?ip=203.0.113.0%2F24").text();
        let (count, set) = confirmed(&confirm);
        assert_eq!(count, "5");

        // A license that matches arrives between the confirmation and the click.
        acme.ok("register", "ip=203.0.113.50&type=1");
        let remove = |count: &str, set: &str| {
            post(&srv, &s.cookie, "/console/licenses/remove-matching", &[
                ("csrf", &s.csrf), ("ip", "203.0.113.0/24"), ("confirmed_count", count), ("confirmed", set),
            ])
        };
        let refused = remove(&count, &set);
        assert_eq!(refused.status, 200);
        let page = refused.text();
        assert!(page.contains("Nothing was removed: you confirmed 5 licenses"), "{page}");
        let (new_count, new_set) = confirmed(&page);
        assert_eq!(new_count, "6");
        assert_eq!(licenses(&srv), 7, "nothing removed");

        // The same count, another set: one removed and another added in its place.
        acme.ok("remove", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.51&type=1");
        let page = remove(&new_count, &new_set).text();
        assert!(page.contains("Nothing was removed"), "{page}");
        assert_eq!(licenses(&srv), 7);
        let (count, set) = confirmed(&page);

        // Confirmed again: exactly those six go, the licenses outside the filter stay.
        let done = remove(&count, &set).text();
        assert!(done.contains("Removed <strong class=\"count\">6</strong> licenses."), "{done}");
        assert_eq!(licenses(&srv), 1);
        assert_eq!(acme.ok("check", "ip=198.51.100.1"), serde_json::json!([1]));

        // A form without a fingerprint (or a forged one) removes nothing either.
        acme.ok("register", "ip=203.0.113.9&type=1");
        assert!(remove("1", "").text().contains("Nothing was removed"));
        assert_eq!(licenses(&srv), 2);
    }

    fn every_notice_says_what_happened(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        let beta = srv.add_reseller("beta", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        beta.ok("register", "ip=198.51.100.7&type=1");
        acme.ok("register", "ip=203.0.113.1&type=1");
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        for (target, extra) in [("/console/licenses/remove", None), ("/console/licenses/els", Some(("els", "on")))] {
            let mut fields = vec![("csrf", s.csrf.as_str()), ("ip", "198.51.100.7"), ("type", "1")];
            fields.extend(extra);
            let answer = post(&srv, &s.cookie, target, &fields);
            assert_eq!(answer.header("location"), Some("/console/licenses?notice=not-held"), "{target}");
        }
        let page = get(&srv, &s.cookie, "/console/licenses?notice=not-held").text();
        assert!(page.contains("Nothing changed: you hold no license of that type on that IP."), "{page}");

        // Ticked rows: none, some or all of them the caller's.
        let bulk = |picks: &[&str]| {
            let mut fields = vec![("csrf", s.csrf.as_str())];
            fields.extend(picks.iter().map(|p| ("pick", *p)));
            post(&srv, &s.cookie, "/console/licenses/bulk-remove", &fields).header("location").map(String::from)
        };
        assert_eq!(bulk(&["198.51.100.7|1"]).as_deref(), Some("/console/licenses?notice=removed-none"));
        assert_eq!(bulk(&["198.51.100.7|1", "203.0.113.1|1"]).as_deref(), Some("/console/licenses?notice=removed-part"));
        acme.ok("register", "ip=203.0.113.2&type=1");
        assert_eq!(bulk(&["203.0.113.2|1"]).as_deref(), Some("/console/licenses?notice=removed-some"));
        assert_eq!(beta.ok("check", "ip=198.51.100.7"), serde_json::json!([1]), "another's license stays");
        assert_eq!(licenses(&srv), 1);
    }
}

on_both_kinds! {
    fn a_post_from_another_site_is_refused_and_https_is_pinned(kind) {
        let options = Options { trusted_proxies: "127.0.0.1", ..Options::default() };
        let Some(srv) = TestServer::start_with(kind, options) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let body = serde_urlencoded::to_string([("csrf", s.csrf.as_str()), ("ip", "203.0.113.1"), ("type", "1")]).unwrap();
        let add = |origin: &str| {
            http::request(srv.addr, "POST", "/console/licenses/add", &[
                ("cookie", &s.cookie), ("origin", origin), ("content-type", "application/x-www-form-urlencoded"),
            ], body.as_bytes())
        };
        for elsewhere in ["https://attacker.example", "null", format!("http://{}.evil", srv.addr).as_str()] {
            let refused = add(elsewhere);
            assert_eq!(refused.status, 403, "{elsewhere}");
            assert!(refused.text().contains("sent from another site; nothing was changed"), "{}", refused.text());
            assert!(refused.header("content-security-policy").is_some(), "the refusal has the console's headers");
        }
        assert_eq!(licenses(&srv), 0);
        let own = format!("http://{}", srv.addr);
        assert_eq!(add(&own).status, 303);
        assert_eq!(licenses(&srv), 1);

        // HSTS only where the browser talks HTTPS: a trusted proxy that says so.
        let plain = get(&srv, &s.cookie, "/console/licenses");
        assert_eq!(plain.header("strict-transport-security"), None);
        let proxied = http::request(srv.addr, "GET", "/console/login", &[("x-forwarded-proto", "https")], b"");
        assert_eq!(proxied.header("strict-transport-security"), Some("max-age=31536000"));
    }

    fn an_email_follows_one_rule_everywhere(kind) {
        let Some(srv) = TestServer::start_with(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        // Each is refused by the login form's own `type="email"` field.
        for bad in ["a@b..example", "a@-b.example", "a b@c.example", "a@b_c.example", "\"q\"@b.example", "a@b.example.", "ä@b.example"] {
            let cli = ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "add", bad, "--reseller", "acme"]);
            assert!(!cli.status.success(), "{bad} accepted by the CLI");
            assert!(String::from_utf8_lossy(&cli.stderr).contains("is not an e-mail address"), "{bad}");
            let page = post(&srv, &s.cookie, "/console/account/users", &[("csrf", &s.csrf), ("email", bad), ("role", "full")]);
            assert_eq!(page.status, 400, "{bad}: {}", page.text());
        }
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_users"), 1);
        succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "add", "O'Neil+ops@Sub.Acme.example", "--reseller", "acme"]));
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_users WHERE email = 'o''neil+ops@sub.acme.example'"), 1);
    }
}

//! Several named API secrets per account: added (shown once), listed (never shown), revoked;
//! a CLN token verifies with any of them; at most 5; every change in the audit; re-sealed by
//! a rekey. Through the CLI, the admin API and the console, on both backends.

use ipls::domain::users::Role;
use serde_json::json;

use crate::admin_api::{call, ok, token};
use crate::common::console::{add_user, log_in, post, PASSWORD};
use crate::common::{Reseller, TestServer};
use crate::on_both_backends;

fn with_secret(acme: &Reseller, secret: &str) -> Reseller {
    Reseller {
        secret: secret.to_string(),
        ..acme.clone()
    }
}

fn cli(srv: &TestServer, args: &[&str]) -> std::process::Output {
    crate::common::process::ipls_cli(&srv.db, Some(crate::common::TEST_MASTER_KEY), args)
}

fn secret_from(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split_once(": ").map(|(_, s)| s.to_string()))
        .unwrap_or_else(|| panic!("{text}"))
}

on_both_backends! {
    fn any_active_secret_verifies_and_a_revoked_one_does_not(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        let out = cli(&srv, &["reseller", "secret", "add", "acme", "billing"]);
        assert!(out.status.success(), "{out:?}");
        let billing = with_secret(&acme, &secret_from(&out));
        billing.ok("check", "ip=203.0.113.1");
        acme.ok("check", "ip=203.0.113.1");
        // The first secret's rotation leaves the named one working.
        let rotated = cli(&srv, &["reseller", "rotate-secret", "acme"]);
        assert!(rotated.status.success(), "{rotated:?}");
        billing.ok("check", "ip=203.0.113.1");
        assert_eq!(acme.refused("check", "ip=203.0.113.1"), "Authorization failed");
        // Listed with its dates, never its value; "last used" is written in the background.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let listed = cli(&srv, &["reseller", "secret", "list", "acme", "--format", "json"]);
            let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
            assert_eq!(rows[0]["name"], "default");
            assert_eq!(rows[1]["name"], "billing");
            assert!(!String::from_utf8_lossy(&listed.stdout).contains(&billing.secret));
            if rows[1]["last_used_at"] == "2026-11-28T12:00:00Z" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "last use not recorded: {rows}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = cli(&srv, &["reseller", "secret", "revoke", "acme", "billing"]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(billing.refused("check", "ip=203.0.113.1"), "Authorization failed");
        let first = cli(&srv, &["reseller", "secret", "revoke", "acme", "default"]);
        assert!(String::from_utf8_lossy(&first.stderr).contains("rotate-secret"), "{first:?}");
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action IN ('secret_add', 'secret_revoke') \
                       AND detail = 'name=billing' AND source = 'cli'"),
            2,
            "both changes are in the audit"
        );
    }

    fn at_most_five_and_clear_refusals_in_the_admin_api(srv) {
        srv.add_reseller("acme", &[1]);
        let t = token(&srv, "billing", false);
        let path = "/api/admin/v1/resellers/acme/secrets";
        for name in ["a", "b", "c", "d"] {
            let added = call(&srv, &t, "POST", path, Some(json!({"name": name})));
            assert_eq!(added.status, 201, "{}", added.text());
            assert_eq!(added.json()["secret"].as_str().unwrap().len(), 48);
        }
        let fifth = call(&srv, &t, "POST", path, Some(json!({"name": "e"})));
        assert_eq!(fifth.status, 409, "{}", fifth.text());
        assert!(fifth.text().contains("already has 5 secrets"), "{}", fifth.text());
        let listed = ok(&srv, &t, "GET", path, None);
        let names: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["default", "a", "b", "c", "d"]);
        assert!(!listed.to_string().contains("secret\""), "{listed}");
        for (body, status) in [
            (json!({"name": "a"}), 409),
            (json!({"name": "default"}), 409),
            (json!({"name": "no spaces"}), 400),
            (json!({"name": ""}), 400),
        ] {
            call(&srv, &t, "DELETE", &format!("{path}/d"), None);
            let refused = call(&srv, &t, "POST", path, Some(body.clone()));
            assert_eq!(refused.status, status, "{body}: {}", refused.text());
        }
        assert_eq!(call(&srv, &t, "DELETE", &format!("{path}/a"), None).status, 204);
        assert_eq!(call(&srv, &t, "DELETE", &format!("{path}/a"), None).status, 404);
        assert_eq!(call(&srv, &t, "GET", "/api/admin/v1/resellers/nobody/secrets", None).status, 404);
    }

    fn the_console_adds_shows_once_and_revokes(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let page = post(&srv, &s.cookie, "/console/account/secrets", &[("csrf", &s.csrf), ("name", "whmcs")]).text();
        assert!(page.contains("New API secret whmcs"), "{page}");
        let shown = page.split("<code id=\"revealed\">").nth(1).and_then(|r| r.split('<').next()).unwrap().to_string();
        with_secret(&acme, &shown).ok("check", "ip=203.0.113.1");
        let again = crate::common::console::get(&srv, &s.cookie, "/console/account").text();
        assert!(again.contains("whmcs") && !again.contains(&shown), "shown once");
        let revoked = post(&srv, &s.cookie, "/console/account/secrets/revoke", &[("csrf", &s.csrf), ("name", "whmcs")]);
        assert_eq!(revoked.header("location"), Some("/console/account?notice=secret-revoked"));
        assert_eq!(with_secret(&acme, &shown).refused("check", "ip=203.0.113.1"), "Authorization failed");
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'secret_revoke' \
                       AND source = 'console:ops@acme.example'"),
            1
        );
    }

    fn a_rekey_reseals_named_secrets(srv) {
        srv.add_reseller("acme", &[1]);
        let old = crate::common::test_secrets();
        let by = ipls::domain::resellers::ChangedBy { source: &ipls::domain::Source::Cli, now: srv.now().naive_utc() };
        let clear = ipls::domain::resellers::secrets::add(&mut srv.conn(), "acme", "billing", &old, &by).unwrap();
        let new = ipls::secrets::SecretBox::new(&[7u8; 32], ipls::secrets::KeySource::Environment);
        let count = ipls::domain::rekey::reseal_all(&mut srv.conn(), &old, &new).unwrap();
        assert_eq!(count, 2, "the first secret and the named one");
        let reseller = ipls::domain::resellers::get(&mut srv.conn(), "acme").unwrap();
        let named = ipls::domain::resellers::secrets::clear_named(&mut srv.conn(), &reseller, &new).unwrap();
        assert_eq!(named[0].secret, clear);
        assert!(ipls::domain::resellers::secrets::clear_named(&mut srv.conn(), &reseller, &old).is_err());
    }
}

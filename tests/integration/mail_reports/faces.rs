//! Who receives reports is set from every face (the CLI, the admin API, the console's Account
//! page), each change audited; an address the SMTP server refuses for good (550) shows as
//! failing in all of them and in `ipls mail deliveries`; and a user who forgot the password
//! gets a reset link by mail.

use chrono::Duration as Hours;
use serde_json::{json, Value};

use super::*;
use crate::admin_api::{call, ok, token};
use crate::common::console::{add_user, field_value, get, log_in, post, try_log_in, PASSWORD};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::TEST_MASTER_KEY;
use ipls::domain::users::Role;

fn cli(srv: &TestServer, args: &[&str]) -> std::process::Output {
    ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

crate::on_both_kinds! {
    fn every_face_sets_reports_and_shows_failing_addresses(kind) {
        let Some(sink) = SmtpSink::start() else { return };
        let Some(srv) = mailing_server(kind, &sink) else { return };
        let acme = srv.add_reseller("acme", &[1, 16]);

        // The CLI.
        let set = cli(&srv, &["reseller", "reports", "acme", "--family", "cloudlinux",
            "--active", "on", "--to", "Billing@acme.example, bad@acme.example"]);
        assert!(succeeded(&set).contains(
            "cloudlinux reports of acme are on, to billing@acme.example, bad@acme.example"));
        let eleven: Vec<String> = (0..11).map(|n| format!("a{n}@acme.example")).collect();
        let too_many = cli(&srv, &["reseller", "reports", "acme", "--family", "els",
            "--active", "on", "--to", &eleven.join(",")]);
        assert!(stderr(&too_many).contains("at most 10 addresses per product family (11 given)"), "{}", stderr(&too_many));
        let none = cli(&srv, &["reseller", "reports", "acme", "--family", "els", "--active", "on"]);
        assert!(stderr(&none).contains("els reports need at least one address to be turned on"), "{}", stderr(&none));
        let unknown = cli(&srv, &["reseller", "reports", "acme", "--family", "plesk", "--active", "off"]);
        assert!(stderr(&unknown).contains("no product family \"plesk\""), "{}", stderr(&unknown));

        // The admin API.
        let t = token(&srv, "billing", false);
        let kc = ok(&srv, &t, "PUT", "/api/admin/v1/resellers/acme/reports/kernelcare",
            Some(json!({"active": true, "addresses": ["kc@acme.example"]})));
        assert_eq!(kc, json!({"family": "kernelcare", "active": true,
            "addresses": ["kc@acme.example"], "failing": []}));
        let bad = call(&srv, &t, "PUT", "/api/admin/v1/resellers/acme/reports/kernelcare",
            Some(json!({"active": true, "addresses": ["not an address"]})));
        assert_eq!(bad.status, 400, "{}", bad.text());
        assert!(bad.text().contains("not an e-mail address (name@example.com) (got \\\"not an address\\\")"), "{}", bad.text());
        let empty = call(&srv, &t, "PUT", "/api/admin/v1/resellers/acme/reports/els",
            Some(json!({"active": true, "addresses": []})));
        assert_eq!(empty.status, 409, "{}", empty.text());
        let listed = ok(&srv, &t, "GET", "/api/admin/v1/resellers/acme/reports", None);
        let families: Vec<&str> = listed["items"].as_array().unwrap().iter()
            .map(|i| i["family"].as_str().unwrap()).collect();
        assert_eq!(families, ["cloudlinux", "els", "imunify", "kernelcare"]);
        assert_eq!(listed["items"][3]["addresses"], json!(["kc@acme.example"]), "unchanged by the refused PUT");

        // The console: a bad address is shown in the form with what was typed.
        add_user(&srv, "owner@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "owner@acme.example", PASSWORD);
        let page = get(&srv, &s.cookie, "/console/account").text();
        assert!(page.contains("<h2>Reports</h2>"), "{page}");
        assert!(page.contains("value=\"billing@acme.example, bad@acme.example\""), "{page}");
        let refused = post(&srv, &s.cookie, "/console/account/reports", &[("csrf", &s.csrf),
            ("family", "imunify"), ("active", "on"), ("addresses", "im@acme.example, oops")]);
        assert_eq!(refused.status, 400, "{}", refused.text());
        assert!(refused.text().contains("&quot;oops&quot; is not an e-mail address"), "{}", refused.text());
        assert!(refused.text().contains("value=\"im@acme.example, oops\""), "typed kept");
        let saved = post(&srv, &s.cookie, "/console/account/reports", &[("csrf", &s.csrf),
            ("family", "imunify"), ("active", "on"), ("addresses", "im@acme.example")]);
        assert_eq!(saved.status, 303);
        assert!(get(&srv, &s.cookie, "/console/account?notice=reports").text().contains("Report mailing saved."));

        // Each change audited, with who made it.
        let audit: Vec<Value> = serde_json::from_str(&succeeded(&cli(&srv, &["audit", "--format", "json"]))).unwrap();
        let sources: Vec<&str> = audit.iter().filter(|r| r["action"] == "report_mailing")
            .map(|r| r["source"].as_str().unwrap()).collect();
        assert_eq!(sources.len(), 3, "{audit:?}");
        for who in ["cli", "admin:billing", "console:owner@acme.example"] {
            assert!(sources.contains(&who), "{sources:?}");
        }

        // 550 for one address: its message fails at once and the address shows as failing.
        sink.reject("bad@acme.example");
        acme.ok("register", "ip=192.0.2.7&type=1");
        srv.clock.advance(Hours::hours(25));
        let arrived = wait_for(&sink, 2);
        assert_eq!(with_subject(&arrived, "Systems Not Checking In: acme", "billing@acme.example").len(), 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while srv.count("SELECT count(*) AS n FROM mail_outbox WHERE failed_at IS NOT NULL") == 0 {
            assert!(Instant::now() < deadline, "the refusal was not recorded");
            std::thread::sleep(Duration::from_millis(50));
        }
        let failed: Vec<Value> = serde_json::from_str(&succeeded(&cli(&srv,
            &["mail", "deliveries", "--state", "failed", "--format", "json"]))).unwrap();
        assert_eq!(failed.len(), 1, "{failed:?}");
        // The table docs/operations.md shows.
        let table = succeeded(&cli(&srv, &["mail", "deliveries", "--state", "failed"]));
        let documented = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
        for line in table.lines() {
            assert!(documented.contains(&format!("    {}\n", line.trim_end())), "docs/operations.md lacks {line:?}");
        }
        assert_eq!(failed[0]["to"], "bad@acme.example");
        assert_eq!(failed[0]["state"], "failed");
        assert_eq!(failed[0]["attempts"], 1, "a refusal for good is not retried");
        assert!(failed[0]["error"].as_str().unwrap().contains("550"), "{failed:?}");
        let shown: Vec<Value> = serde_json::from_str(&succeeded(&cli(&srv,
            &["reseller", "reports", "acme", "--format", "json"]))).unwrap();
        assert_eq!(shown[0]["failing"], "bad@acme.example", "{shown:?}");
        let listed = ok(&srv, &t, "GET", "/api/admin/v1/resellers/acme/reports", None);
        assert_eq!(listed["items"][0]["failing"][0]["address"], "bad@acme.example");
        // A day later: a new session.
        let s = log_in(&srv, "owner@acme.example", PASSWORD);
        let page = get(&srv, &s.cookie, "/console/account").text();
        assert!(page.contains("<strong>bad@acme.example</strong> is failing"), "{page}");
    }

    fn a_forgotten_password_is_reset_through_a_mailed_link(kind) {
        let Some(sink) = SmtpSink::start() else { return };
        let Some(srv) = mailing_server(kind, &sink) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "owner@acme.example", Role::Full, Some("acme"));
        let login = http_get(&srv, "/console/login");
        assert!(login.contains("href=\"/console/reset/request\""), "{login}");
        let form = http_get(&srv, "/console/reset/request");
        assert!(form.contains("Mail me a reset link"), "{form}");
        let said = "If a login has this address, a link is on its way to it";
        assert!(request(&srv, "nobody@acme.example").contains(said));
        assert!(request(&srv, "Owner@acme.example").contains(said), "the same words either way");
        assert!(request(&srv, "owner@acme.example").contains(said));
        let mails = wait_for(&sink, 1);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sink.messages().len(), 1, "one link in 5 minutes, none for an unknown address");
        let text = mails[0].text();
        assert_eq!(mails[0].header("To"), "owner@acme.example");
        let link = text.lines().find(|l| l.starts_with("https://licenses.example.com/console/reset?token="))
            .unwrap_or_else(|| panic!("a link: {text}"));
        let target = link.trim_start_matches("https://licenses.example.com");
        let page = http_get(&srv, target);
        assert!(page.contains("owner@acme.example"), "{page}");
        let token = field_value(&page, "token").expect("the token field");
        let body = serde_urlencoded::to_string([("token", token.as_str()), ("password", "a brand new passphrase")]).unwrap();
        let set = crate::common::http::request(srv.addr, "POST", "/console/reset",
            &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes());
        assert_eq!(set.status, 200, "{}", set.text());
        assert_eq!(try_log_in(&srv, "owner@acme.example", PASSWORD, &[]).0.status, 401, "the old password is refused");
        log_in(&srv, "owner@acme.example", "a brand new passphrase");
        assert_eq!(srv.count(&format!("SELECT count(*) AS n FROM mail_outbox WHERE body LIKE '%{token}%'")), 0,
            "the link is not kept once sent");
    }
}

fn http_get(srv: &TestServer, target: &str) -> String {
    crate::common::http::request(srv.addr, "GET", target, &[], b"").text()
}

fn request(srv: &TestServer, email: &str) -> String {
    let body = serde_urlencoded::to_string([("email", email)]).unwrap();
    let answer = crate::common::http::request(
        srv.addr,
        "POST",
        "/console/reset/request",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text()
}

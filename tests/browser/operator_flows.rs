//! The operator at work: create a reseller (its secret shown once), block it; the
//! reseller's user then sees the banner and its API writes are refused.

use ipls::domain::users::Role;

use crate::common::console::{add_user, PASSWORD};
use crate::common::receiver::{Receiver, ReceiverOptions};
use crate::common::{Options, Reseller};
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

in_the_browser! {
    fn operator_creates_and_blocks_a_reseller(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let b = Browser::open(srv.addr);
        b.log_in("root@ipls.example", PASSWORD);
        assert_eq!(b.path(), "/console/operator/resellers");
        b.assert_accessible("Resellers");

        b.fill("#new-login", "newco");
        // Only types 1 and 16, type 1 limited to 5.
        let boxes = b.run("return Array.from(document.querySelectorAll('form.create input[name=types]')).filter(x => x.checked).length");
        assert!(boxes.parse::<usize>().unwrap() > 2);
        b.run("document.querySelectorAll('form.create input[name=types]').forEach(x => x.checked = (x.value === '1' || x.value === '16'))");
        b.fill("#limit-1", "5");
        b.click("form.create button[type=submit]");
        let secret = b.text("#revealed");
        assert_eq!(secret.len(), 48, "a new 48-hex secret: {secret}");
        b.screenshot(&format!("operator-created-{kind:?}"));
        let newco = Reseller { login: "newco".into(), secret, addr: srv.addr, clock: srv.clock.clone() };
        newco.ok("register", "ip=203.0.113.5&type=1");
        assert!(newco.refused("register", "ip=203.0.113.5&type=41").contains("not enabled"));

        b.goto("/console/operator/resellers/newco");
        b.assert_accessible("Reseller page");
        b.fill("#block-reason", "unpaid invoice <b>#42</b>");
        b.click("form[action$='/block'] button");
        assert_eq!(b.text("#reseller-state"), "blocked");
        b.screenshot(&format!("operator-reseller-{kind:?}"));
        assert!(newco.refused("register", "ip=203.0.113.6&type=1").contains("blocked"));

        // The reseller's user logs in and sees the banner; reads work, forms are gone.
        add_user(&srv, "boss@newco.example", Role::Full, Some("newco"));
        b.click("form.logout button");
        b.log_in("boss@newco.example", PASSWORD);
        assert_eq!(
            b.text(".banner.blocked"),
            "This account is blocked: unpaid invoice <b>#42</b> Everything can be read; nothing can be changed."
        );
        b.goto("/console/licenses");
        assert_eq!(b.texts("td.ip"), ["203.0.113.5"]);
        assert_eq!(b.count("form.add"), 0);
        b.screenshot(&format!("blocked-banner-{kind:?}"));
    }

    fn every_page_passes_axe(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1, 41, 42]);
        acme.ok("register", "ip=203.0.113.1&type=41");
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let b = Browser::open(srv.addr);
        b.goto("/console/login");
        b.assert_accessible("login");
        b.screenshot(&format!("login-{kind:?}"));
        b.log_in("ops@acme.example", PASSWORD);
        for (page, name) in [
            ("/console/dashboard", "dashboard"),
            ("/console/licenses", "licenses"),
            ("/console/stale?days=0", "stale"),
            ("/console/usage", "usage"),
            ("/console/history", "history"),
            ("/console/account", "account"),
            ("/console/security", "security"),
            ("/console/stale/remove?days=0", "stale-remove"),
            ("/console/licenses/remove?ip=203.0.113.1&type=41", "license-remove"),
        ] {
            b.goto(page);
            assert!(!b.body_text().contains("Not done"), "{page}: {}", b.body_text());
            b.assert_accessible(page);
            b.screenshot(&format!("{name}-{kind:?}"));
        }
        b.click("form.logout button");
        b.log_in("root@ipls.example", PASSWORD);
        for (page, name) in [
            ("/console/operator/resellers", "operator-resellers"),
            ("/console/operator/resellers/acme", "operator-reseller"),
            ("/console/operator/licenses?ip=203.0.113.1", "operator-licenses"),
            ("/console/operator/stale?days=0", "operator-stale"),
            ("/console/operator/usage", "operator-usage"),
            ("/console/operator/prices", "operator-prices"),
            ("/console/operator/audit", "operator-audit"),
            ("/console/security", "operator-security"),
        ] {
            b.goto(page);
            assert!(!b.body_text().contains("Not done"), "{page}: {}", b.body_text());
            b.assert_accessible(page);
            b.screenshot(&format!("{name}-{kind:?}"));
        }
    }
}

in_the_browser! {
    fn operator_manages_webhooks(kind) {
        let Some(receiver) = Receiver::start(ReceiverOptions::default()) else { return };
        let options = Options {
            configure: |c| {
                c.webhooks.allow_private = true;
                c.webhooks.poll = std::time::Duration::from_millis(50);
            },
            ..Options::default()
        };
        let Some(srv) = console_server(kind, options) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let b = Browser::open(srv.addr);
        b.log_in("root@ipls.example", PASSWORD);
        b.goto("/console/operator/webhooks");
        b.assert_accessible("Webhooks, empty");
        b.fill("#hook-url", &receiver.url);
        b.fill("#hook-reseller", "acme");
        b.click("#ev-license\\.registered");
        b.click("form.create button[type=submit]");
        let secret = b.text("#revealed");
        assert!(secret.starts_with("whsec_"), "{secret}");
        receiver.set_secret(&secret);

        b.goto("/console/operator/webhooks");
        assert_eq!(b.texts("#webhooks td:nth-child(3)"), ["license.registered"]);
        b.click("#webhooks form[action$='/test'] button");
        assert!(b.text("#test-result").contains("HTTP 200"), "{}", b.text("#test-result"));
        b.assert_accessible("Webhook test result");
        b.screenshot(&format!("operator-webhook-test-{kind:?}"));

        acme.ok("register", "ip=203.0.113.9&type=1");
        let got = receiver.wait_for_accepted(2, std::time::Duration::from_secs(30));
        assert!(got.iter().all(|r| r.verified), "{got:?}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            b.goto("/console/operator/webhooks/1");
            if b.texts("#deliveries td:nth-child(4)") == ["delivered"] {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{}", b.body_text());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(b.text("#endpoint-state"), "enabled");
        b.assert_accessible("Webhook endpoint");
        b.screenshot(&format!("operator-webhooks-{kind:?}"));
        b.click("#deliveries form button");
        assert!(b.body_text().contains("Delivery queued again."));
        receiver.wait_for_accepted(3, std::time::Duration::from_secs(30));
        b.goto("/console/operator/webhooks");
        b.screenshot(&format!("operator-webhook-list-{kind:?}"));
        b.click("#webhooks form[action$='/remove'] button");
        assert!(b.body_text().contains("Endpoint removed."));
    }
}

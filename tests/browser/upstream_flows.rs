//! The operator's Upstreams pages with a second ipls playing CLN: add an upstream (secret
//! sealed), test it, a reseller's registration carried there, reconcile (report, then
//! repair), and a change that waits while the upstream is down, shown as "pending upstream"
//! beside the license and in the upstream's queue.

use std::time::{Duration, Instant};

use ipls::domain::users::Role;

use crate::common::console::{add_user, PASSWORD};
use crate::common::{Kind, Options, TestServer};
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

in_the_browser! {
    fn operator_manages_upstreams(kind) {
        let options = Options {
            configure: |c| c.relay.poll = Duration::from_millis(100),
            ..Options::default()
        };
        let Some(srv) = console_server(kind, options) else { return };
        let Some(cln) = TestServer::start(Kind::Sqlite) else { return };
        // The relay mints its tokens at the real time.
        cln.clock.set(chrono::Utc::now());
        let partner = cln.add_reseller("partner", &[1]);
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let b = Browser::open(srv.addr);
        b.log_in("root@ipls.example", PASSWORD);
        b.goto("/console/operator/upstreams");
        b.assert_accessible("Upstreams, none");
        b.fill("#up-name", "cln");
        b.fill("#up-url", &format!("http://{}", cln.addr));
        b.fill("#up-login", "partner");
        b.fill("#up-secret", &partner.secret);
        b.fill("#up-types", "1");
        b.click("form.create button[type=submit]");
        assert!(b.body_text().contains("Upstream added."), "{}", b.body_text());
        assert!(!b.body_text().contains(&partner.secret), "the secret is never shown");
        b.click("#upstreams form[action$='/test'] button");
        assert!(b.text("#test-result").contains("are accepted; it holds 0 license(s)"), "{}", b.text("#test-result"));
        b.assert_accessible("Upstream test");

        acme.ok("register", "ip=203.0.113.7&type=1");
        assert_eq!(partner.ok("check", "ip=203.0.113.7"), serde_json::json!([1]));
        partner.ok("remove", "ip=203.0.113.7");
        b.goto("/console/operator/upstreams");
        b.click("#upstreams form[action$='/reconcile']:not(:has(input[name=repair])) button");
        assert!(b.text("#reconcile-summary").contains("local-only 1"), "{}", b.text("#reconcile-summary"));
        assert_eq!(b.texts("#differences td:nth-child(5)"), ["reported"]);
        b.assert_accessible("Reconcile report");
        b.screenshots(&format!("operator-upstream-reconcile-{kind:?}"));
        b.goto("/console/operator/upstreams");
        b.click("#upstreams form:has(input[name=repair]) button");
        assert_eq!(b.texts("#differences td:nth-child(5)"), ["register type 1 at upstream cln"]);
        wait_until("the repair reaches the upstream", || partner.ok("check", "ip=203.0.113.7") == serde_json::json!([1]));

        // The upstream goes down: a change waits, and says so.
        drop(cln);
        acme.ok("update", "ip=203.0.113.7&type=1&els_allowed=true");
        b.goto("/console/operator/licenses?ip=203.0.113.7");
        assert!(b.text("table .badge").contains("pending upstream"));
        b.assert_accessible("Licenses with a change pending upstream");
        b.screenshots(&format!("operator-license-pending-{kind:?}"));
        wait_until("the change has failed once", || {
            b.goto("/console/operator/upstreams/cln");
            b.count("#waiting tbody tr") == 1 && b.text("#waiting td:nth-child(6)").contains("cannot connect")
        });
        b.assert_accessible("Upstream with a change waiting");
        b.screenshots(&format!("operator-upstream-{kind:?}"));
        b.goto("/console/operator/upstreams");
        assert!(b.text("#upstreams .failing").starts_with("failing since"));
        b.screenshots(&format!("operator-upstreams-{kind:?}"));
    }
}

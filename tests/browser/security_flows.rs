//! The console's defences, seen from a browser: a form without its CSRF token changes
//! nothing, markup sent by a server at check-in shows as text, logout and idle expiry end
//! the session.

use chrono::Duration;
use ipls::domain::users::Role;

use crate::common::console::{add_user, PASSWORD};
use crate::common::{http, totp, Options};
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

in_the_browser! {
    fn a_form_without_its_csrf_token_changes_nothing(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/licenses");
        b.fill("#add-ip", "203.0.113.9");
        b.run("document.querySelector('form.add input[name=csrf]').remove()");
        b.click("form.add button[type=submit]");
        assert!(b.text(".error").contains("nothing was changed"), "{}", b.body_text());
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 0);
        b.assert_accessible("refusal page");
    }

    fn check_in_markup_is_shown_as_text(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        acme.ok("register", "ip=127.0.0.1&type=1");
        let hostile = "<img src=x onerror=\"document.title='pwned'\"><script>alert(1)</script>";
        let query = serde_urlencoded::to_string([("server_info", hostile)]).unwrap();
        let answer = http::request(srv.addr, "GET", &format!("/api/server/checkin.json?{query}"), &[], b"");
        assert_eq!(answer.json()["success"], true, "{}", answer.text());

        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/licenses");
        assert_eq!(b.texts("td.ip"), ["127.0.0.1"]);
        let shown = b.run("return document.querySelector('tbody tr td:nth-child(3)').textContent");
        assert_eq!(shown, hostile);
        assert_eq!(b.run("return document.title"), "IP Licenses · ipls");
        assert_eq!(b.count("tbody img"), 0);
        assert_eq!(b.count("tbody script"), 0);
    }

    fn logout_and_idle_expiry_end_the_session(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.click("form.logout button");
        assert_eq!(b.path(), "/console/login");
        b.goto("/console/licenses");
        assert_eq!(b.path(), "/console/login");
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_sessions"), 0);

        b.log_in("ops@acme.example", PASSWORD);
        srv.clock.advance(Duration::minutes(29));
        b.goto("/console/licenses");
        assert_eq!(b.path(), "/console/licenses", "29 minutes idle is within the limit");
        srv.clock.advance(Duration::minutes(31));
        b.goto("/console/licenses");
        assert_eq!(b.path(), "/console/login?expired=1");
        assert!(b.text(".error").contains("session ended"));
    }

    fn two_factor_login_set_up_and_used(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        // The header's e-mail address leads to two-factor login.
        b.click("span.who a");
        assert_eq!(b.text("#state"), "off");
        b.assert_accessible("Two-factor login, off");
        b.click("form[action='/console/security/begin'] button");
        let secret = b.text("#totp-secret");
        assert!(b.text("#totp-uri").starts_with("otpauth://totp/ipls:ops@acme.example?secret="));
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the setup page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("two-factor-setup-{kind:?}"));
        b.assert_accessible("Two-factor setup");
        b.fill("#enable-code", &totp::code(&secret, srv.now().timestamp()));
        b.click("form[action='/console/security/enable'] button");
        assert_eq!(b.count("#recovery-codes li"), 10);
        b.screenshots(&format!("two-factor-recovery-codes-{kind:?}"));
        b.assert_accessible("Recovery codes");

        // Logging in now asks for the code, which the test computes as an app would.
        b.goto("/console/dashboard");
        b.click("form.logout button");
        srv.clock.advance(Duration::seconds(30));
        b.log_in("ops@acme.example", PASSWORD);
        assert_eq!(b.path(), "/console/login/code");
        b.screenshots(&format!("two-factor-login-{kind:?}"));
        b.assert_accessible("Two-factor login step");
        b.fill("#code", "000000");
        b.click("form.login button[type=submit]");
        assert!(b.text(".error").starts_with("That code is not right"), "{}", b.body_text());
        b.fill("#code", &totp::code(&secret, srv.now().timestamp()));
        b.click("form.login button[type=submit]");
        assert_eq!(b.path(), "/console/dashboard");
    }

    fn a_reset_link_sets_a_new_password(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let expires = srv.now().naive_utc() + Duration::hours(24);
        let token = ipls::domain::password_resets::issue(&mut srv.conn(), "ops@acme.example", expires, &crate::common::by_cli()).unwrap();
        let b = Browser::open(srv.addr);
        b.goto(&format!("/console/reset?token={token}"));
        assert_eq!(b.text("#reset-email"), "ops@acme.example");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the reset page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("password-reset-{kind:?}"));
        b.assert_accessible("Password reset");
        b.fill("#reset-password", "a brand new passphrase");
        b.click("form.login button[type=submit]");
        assert!(b.text(".notice").starts_with("The password of ops@acme.example is set"), "{}", b.body_text());
        b.click("main a[href='/console/login']");
        b.log_in("ops@acme.example", "a brand new passphrase");
        assert_eq!(b.path(), "/console/dashboard");
    }
}

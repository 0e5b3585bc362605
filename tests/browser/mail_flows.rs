//! Mail in the browser: the Account page's Reports section (an error kept in its form, then
//! saved), and "Forgot your password?" from the login page to a password set through the
//! mailed link; each page checked with axe and photographed at desktop and phone width.

use ipls::domain::users::Role;

use crate::common::console::{add_user, PASSWORD};
use crate::common::smtp::SmtpSink;
use crate::common::Options;
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

fn mailing(sink: &SmtpSink) -> Options {
    Options {
        smtp_url: Some(sink.url()),
        configure: |c| {
            c.mail_reports.poll = std::time::Duration::from_millis(50);
            c.mail_reports.public_url = Some("https://licenses.example.com".into());
        },
        ..Options::default()
    }
}

in_the_browser! {
    fn reports_are_set_and_a_forgotten_password_is_reset_by_mail(kind) {
        let Some(sink) = SmtpSink::start() else { return };
        let Some(srv) = console_server(kind, mailing(&sink)) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/account");
        b.run("document.getElementById('reports').scrollIntoView(); return null;");
        b.click("#reports-cloudlinux-active");
        b.fill("#reports-cloudlinux-to", "billing@acme.example, oops");
        b.click("#reports form:nth-of-type(1) button[type=submit]");
        assert_eq!(b.text("#reports .error"), "\"oops\" is not an e-mail address (name@example.com)");
        assert_eq!(b.run("return document.getElementById('reports-cloudlinux-to').value"), "billing@acme.example, oops");
        b.run("document.getElementById('reports').scrollIntoView(); return null;");
        b.screenshots(&format!("account-reports-error-{kind:?}"));
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the Account page is {page} px wide at {viewport}");
        b.assert_accessible("Account, a report mailing refused");
        b.fill("#reports-cloudlinux-to", "billing@acme.example");
        b.click("#reports form:nth-of-type(1) button[type=submit]");
        assert_eq!(b.text(".notice"), "Report mailing saved.");
        assert_eq!(b.run("return String(document.getElementById('reports-cloudlinux-active').checked)"), "true");

        // Forgotten: from the login page to a new password, through the mail.
        b.click("form.logout button");
        b.goto("/console/login");
        b.click("a[href='/console/reset/request']");
        b.assert_accessible("Reset your password");
        b.fill("#reset-email", "ops@acme.example");
        b.click("form.login button[type=submit]");
        assert!(b.text(".notice").starts_with("If a login has this address, a link is on its way"));
        b.screenshots(&format!("reset-requested-{kind:?}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let link = loop {
            let found = sink.messages().iter().find_map(|m| {
                m.text().lines().find(|l| l.contains("/console/reset?token=")).map(str::to_string)
            });
            if let Some(link) = found {
                break link;
            }
            assert!(std::time::Instant::now() < deadline, "no reset mail");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        b.goto(link.trim_start_matches("https://licenses.example.com"));
        b.fill("#reset-password", "a brand new passphrase");
        b.click("form.login button[type=submit]");
        assert!(b.text(".notice").starts_with("The password of ops@acme.example is set"));
        b.log_in("ops@acme.example", "a brand new passphrase");
        assert_eq!(b.path(), "/console/dashboard");
    }
}

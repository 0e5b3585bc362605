//! Two-factor login over HTTP on both backends, with codes computed in the test (RFC 6238,
//! `common::totp`): setting it up, logging in with a code and with a recovery code, a code
//! refused twice and after its login step ran out, failed codes charged to the login budget,
//! the operator's requirement, `ipls user 2fa-off`, `ipls rekey`, and the one-time password
//! reset link.

use chrono::Duration;
use ipls::domain::users::Role;

use crate::common::console::{
    add_user, field_value, get, log_in, post, set_cookie, try_log_in, Session, PASSWORD,
};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::totp;
use crate::common::{http, Kind, Options, TestServer, TEST_MASTER_KEY};
use crate::on_both_kinds;

/// `name=value` of a Set-Cookie.
fn cookie_of(response: &http::Response, name: &str) -> String {
    set_cookie(response, name)
        .unwrap_or_else(|| panic!("a {name} cookie"))
        .split(';')
        .next()
        .expect("name=value")
        .to_string()
}

/// The text of the element with this id.
fn by_id(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("#{id} in {page}"))
        + id.len()
        + 6;
    let end = page[start..].find('<').expect("its end") + start;
    page[start..end].to_string()
}

/// Sets two-factor login up for the session's user; returns its secret and recovery codes.
fn enrol(srv: &TestServer, s: &Session) -> (String, Vec<String>) {
    let page = post(
        srv,
        &s.cookie,
        "/console/security/begin",
        &[("csrf", &s.csrf)],
    )
    .text();
    let secret = by_id(&page, "totp-secret");
    let uri = by_id(&page, "totp-uri");
    assert!(
        uri.starts_with("otpauth://totp/ipls:") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    let wrong = post(
        srv,
        &s.cookie,
        "/console/security/enable",
        &[("csrf", &s.csrf), ("code", "000000")],
    );
    assert_eq!(wrong.status, 400, "{}", wrong.text());
    assert_eq!(
        by_id(&get(srv, &s.cookie, "/console/security").text(), "state"),
        "off"
    );
    let now = srv.now().timestamp();
    let done = post(
        srv,
        &s.cookie,
        "/console/security/enable",
        &[("csrf", &s.csrf), ("code", &totp::code(&secret, now))],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let page = done.text();
    let list = &page[page.find("id=\"recovery-codes\"").expect("the codes")..];
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c[..c.find('<').unwrap()].to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    (secret, codes)
}

/// The password, then the code: the second step's answer (a 303 with the session, or not).
fn log_in_with(srv: &TestServer, email: &str, code: &str) -> http::Response {
    let (first, _) = try_log_in(srv, email, PASSWORD, &[]);
    assert_eq!(
        first.header("location"),
        Some("/console/login/code"),
        "{}",
        first.text()
    );
    assert!(
        set_cookie(&first, "ipls_session").is_none(),
        "no session before the code"
    );
    second_step(srv, &cookie_of(&first, "ipls_login_step"), code)
}

fn second_step(srv: &TestServer, step: &str, code: &str) -> http::Response {
    let form = http::request(
        srv.addr,
        "GET",
        "/console/login/code",
        &[("cookie", step)],
        b"",
    );
    let token = field_value(&form.text(), "login_token").expect("a token");
    let cookies = format!("{step}; {}", cookie_of(&form, "ipls_login"));
    let body =
        serde_urlencoded::to_string([("code", code), ("login_token", token.as_str())]).unwrap();
    http::request(
        srv.addr,
        "POST",
        "/console/login/code",
        &[
            ("cookie", &cookies),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// A session of a user who has not set up two-factor login yet, its CSRF token read from
/// the one page such a user may open when the operator requires it.
fn session_without_a_second_factor(srv: &TestServer, email: &str) -> Session {
    let (first, _) = try_log_in(srv, email, PASSWORD, &[]);
    let cookie = cookie_of(&first, "ipls_session");
    let page = get(srv, &cookie, "/console/security").text();
    Session {
        csrf: field_value(&page, "csrf").expect("a CSRF field"),
        cookie,
    }
}

fn lab(kind: Kind, require: bool) -> Option<TestServer> {
    let configure: fn(&mut ipls::config::Config) = if require {
        |c| c.console_require_2fa = true
    } else {
        |_| {}
    };
    TestServer::start_with(
        kind,
        Options {
            auth_failure_burst: 4,
            configure,
            ..Options::default()
        },
    )
}

on_both_kinds! {
    fn a_code_after_the_password_and_each_code_once(kind) {
        let Some(srv) = lab(kind, false) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let (secret, codes) = enrol(&srv, &s);
        assert_eq!(by_id(&get(&srv, &s.cookie, "/console/security").text(), "left"), "10");

        // The code that turned it on is spent: the same step does not log in again.
        let now = srv.now().timestamp();
        assert_eq!(log_in_with(&srv, "ops@acme.example", &totp::code(&secret, now)).status, 401);
        srv.clock.advance(Duration::seconds(30));
        let code = totp::code(&secret, srv.now().timestamp());
        let ok = log_in_with(&srv, "ops@acme.example", &code);
        assert_eq!(ok.status, 303, "{}", ok.text());
        let session = cookie_of(&ok, "ipls_session");
        assert_eq!(get(&srv, &session, "/console/dashboard").status, 200);
        // Seen once, refused after: even in the same 30 seconds.
        assert_eq!(log_in_with(&srv, "ops@acme.example", &code).status, 401);

        // A recovery code logs in once, typed in any case and spacing.
        srv.clock.advance(Duration::seconds(30));
        let typed = format!(" {} ", codes[3].to_uppercase());
        assert_eq!(log_in_with(&srv, "ops@acme.example", &typed).status, 303);
        assert_eq!(log_in_with(&srv, "ops@acme.example", &codes[3]).status, 401);
        assert_eq!(by_id(&get(&srv, &session, "/console/security").text(), "left"), "9");
    }

    fn a_login_step_runs_out_and_wrong_codes_are_charged(kind) {
        let Some(srv) = lab(kind, false) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let (secret, _) = enrol(&srv, &s);
        srv.clock.advance(Duration::seconds(30));

        // The password was right six minutes ago: the code comes too late.
        let (first, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &[]);
        let step = cookie_of(&first, "ipls_login_step");
        srv.clock.advance(Duration::minutes(6));
        let late = second_step(&srv, &step, &totp::code(&secret, srv.now().timestamp()));
        assert_eq!(late.status, 401, "{}", late.text());
        // No step cookie at all: back to the password.
        assert_eq!(second_step(&srv, "x=y", "123456").header("location"), Some("/console/login?expired=1"));

        // Wrong codes cost the login budget (4 here): then even the right one waits.
        srv.clock.advance(Duration::seconds(30));
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let (first, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &[]);
            if first.status == 429 {
                statuses.push(429);
                break;
            }
            statuses.push(second_step(&srv, &cookie_of(&first, "ipls_login_step"), "111111").status);
        }
        assert_eq!(statuses[..4], [401, 401, 401, 401], "{statuses:?}");
        assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
        let (blocked, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &[]);
        assert_eq!(blocked.status, 429, "the password form shares the budget");
    }

    fn the_operator_can_require_it(kind) {
        let Some(srv) = lab(kind, true) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let s = session_without_a_second_factor(&srv, "ops@acme.example");
        for page in ["/console/dashboard", "/console/licenses", "/console/account"] {
            assert_eq!(get(&srv, &s.cookie, page).header("location"), Some("/console/security?required=1"), "{page}");
        }
        let asked = get(&srv, &s.cookie, "/console/security?required=1").text();
        assert!(asked.contains("The operator requires two-factor login"), "{asked}");
        let refused = post(&srv, &s.cookie, "/console/licenses/add", &[("csrf", &s.csrf), ("ip", "203.0.113.1"), ("type", "1")]);
        assert_eq!(refused.header("location"), Some("/console/security?required=1"));
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 0);
        let (secret, _) = enrol(&srv, &s);
        assert_eq!(get(&srv, &s.cookie, "/console/dashboard").status, 200);
        let off = post(&srv, &s.cookie, "/console/security/disable", &[
            ("csrf", &s.csrf), ("password", PASSWORD), ("code", &totp::code(&secret, srv.now().timestamp() + 30)),
        ]);
        assert_eq!(off.status, 409, "{}", off.text());
        // Operators too.
        let op = session_without_a_second_factor(&srv, "root@ipls.example");
        assert_eq!(get(&srv, &op.cookie, "/console/operator/resellers").header("location"), Some("/console/security?required=1"));
    }

    fn off_by_the_user_or_the_operator_rekeyed_and_audited(kind) {
        let Some(srv) = lab(kind, false) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        let (secret, _) = enrol(&srv, &s);

        // `ipls rekey`'s re-sealing keeps the secret working under the new key.
        let old = crate::common::test_secrets();
        let key = ipls::secrets::parse_key(&"ab".repeat(32)).unwrap();
        let new = ipls::secrets::SecretBox::new(&key, ipls::secrets::KeySource::Environment);
        let resealed = ipls::domain::rekey::reseal_all(&mut srv.conn(), &old, &new).unwrap();
        assert!(resealed >= 2, "the reseller's secret and the TOTP secret: {resealed}");
        let id: i64 = srv.count("SELECT id AS n FROM console_users WHERE email = 'ops@acme.example'");
        let later = srv.now().naive_utc() + Duration::seconds(60);
        let code = totp::code(&secret, later.and_utc().timestamp());
        assert!(ipls::domain::two_factor::verify(&mut srv.conn(), id, &code, &new, later).unwrap());
        ipls::domain::rekey::reseal_all(&mut srv.conn(), &new, &old).unwrap();

        // The user turns it off with password and code; the operator with the CLI.
        srv.clock.advance(Duration::seconds(120));
        let off = post(&srv, &s.cookie, "/console/security/disable", &[
            ("csrf", &s.csrf), ("password", PASSWORD), ("code", &totp::code(&secret, srv.now().timestamp())),
        ]);
        assert_eq!(off.header("location"), Some("/console/security?notice=off"), "{}", off.text());
        assert_eq!(log_in(&srv, "ops@acme.example", PASSWORD).csrf.len(), 64, "a password alone again");
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        enrol(&srv, &s);
        succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "2fa-off", "ops@acme.example"]));
        log_in(&srv, "ops@acme.example", PASSWORD);
        let audit = succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["audit", "--reseller", "acme", "--format", "csv"]));
        let rows: Vec<&str> = audit.lines().filter(|l| l.contains("user_2fa")).collect();
        assert_eq!(rows.len(), 4, "{audit}");
        assert!(rows[0].contains("user_2fa_on") && rows[0].ends_with("console:ops@acme.example"), "{audit}");
        assert!(rows[3].contains("user_2fa_off") && rows[3].ends_with(",cli"), "{audit}");
    }

    fn a_reset_link_works_once(kind) {
        let Some(srv) = lab(kind, false) else { return };
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let before = log_in(&srv, "ops@acme.example", PASSWORD);
        let out = succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "reset-link", "OPS@acme.example", "--hours", "2"]));
        let link = out.lines().find(|l| l.starts_with("/console/reset?token=")).expect("a link").to_string();
        let page = http::request(srv.addr, "GET", &link, &[], b"").text();
        assert_eq!(by_id(&page, "reset-email"), "ops@acme.example");
        let token = link.split("token=").nth(1).unwrap().to_string();
        let set = |password: &str| {
            let body = serde_urlencoded::to_string([("token", token.as_str()), ("password", password)]).unwrap();
            http::request(srv.addr, "POST", "/console/reset", &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes())
        };
        assert_eq!(set("short").status, 400, "the password rule holds");
        let done = set("a brand new passphrase");
        assert_eq!(done.status, 200, "{}", done.text());
        assert_eq!(get(&srv, &before.cookie, "/console/dashboard").header("location"), Some("/console/login"), "old sessions end");
        log_in(&srv, "ops@acme.example", "a brand new passphrase");
        assert_eq!(set("another new passphrase").status, 404, "used once");
        // A link runs out (issued here on the server's clock: the CLI's is the real one).
        let expires = srv.now().naive_utc() + Duration::hours(1);
        let late = ipls::domain::password_resets::issue(&mut srv.conn(), "ops@acme.example", expires, &crate::common::by_cli()).unwrap();
        srv.clock.advance(Duration::minutes(61));
        assert_eq!(http::request(srv.addr, "GET", &format!("/console/reset?token={late}"), &[], b"").status, 404);
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'user_reset_link'"), 2);
        assert_eq!(srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'user_password' AND source = 'console:ops@acme.example'"), 1);
    }
}

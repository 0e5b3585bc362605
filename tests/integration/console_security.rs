//! The console's security rules over plain HTTP, on both backends: cookie attributes, CSP,
//! CSRF, read-only users, sessions that end (logout, removal, block, idle and absolute
//! timeouts) and failed-login budgets.

use chrono::Duration;
use ipls::domain::users::{self, Role};

use crate::common::console::{
    add_user, get, log_in, post, set_cookie, try_log_in, try_log_in_at, PASSWORD,
};
use crate::common::{Kind, Options, TestServer};
use crate::on_both_backends;

fn licenses(srv: &TestServer) -> i64 {
    srv.count("SELECT count(*) AS n FROM ip_licenses")
}

fn lab(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            allow_private_ips: true,
            trusted_proxies: "127.0.0.1",
            auth_failure_burst: 3,
            ..Options::default()
        },
    )
}

on_both_backends! {
    fn session_cookie_is_locked_down(srv) {
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let (plain, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &[]);
        let cookie = set_cookie(&plain, "ipls_session").expect("session cookie");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let page = get(&srv, cookie.split(';').next().unwrap(), "/console/licenses");
        let csp = page.header("content-security-policy").expect("a CSP");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    }

    fn a_post_without_csrf_changes_nothing(srv) {
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        for fields in [vec![("ip", "203.0.113.1"), ("type", "1")], vec![("csrf", "0123"), ("ip", "203.0.113.1"), ("type", "1")]] {
            let answer = post(&srv, &s.cookie, "/console/licenses/add", &fields);
            assert_eq!(answer.status, 403, "{}", answer.text());
            assert!(answer.text().contains("nothing was changed"));
        }
        assert_eq!(licenses(&srv), 0);
        // A session's token is not another's.
        add_user(&srv, "two@acme.example", Role::Full, Some("acme"));
        let other = log_in(&srv, "two@acme.example", PASSWORD);
        let answer = post(&srv, &s.cookie, "/console/licenses/add", &[("csrf", &other.csrf), ("ip", "203.0.113.1"), ("type", "1")]);
        assert_eq!(answer.status, 403);
        let answer = post(&srv, &s.cookie, "/console/licenses/add", &[("csrf", &s.csrf), ("ip", "203.0.113.1"), ("type", "1")]);
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(licenses(&srv), 1);
    }

    fn a_read_only_user_changes_nothing_even_by_hand(srv) {
        let acme = srv.add_reseller("acme", &[1]);
        acme.ok("register", "ip=203.0.113.1&type=1");
        add_user(&srv, "viewer@acme.example", Role::ReadOnly, Some("acme"));
        let s = log_in(&srv, "viewer@acme.example", PASSWORD);
        let page = get(&srv, &s.cookie, "/console/licenses").text();
        assert!(page.contains("203.0.113.1") && !page.contains("Add IP"), "{page}");
        let attempts: [(&str, Vec<(&str, &str)>); 7] = [
            ("/console/licenses/add", vec![("ip", "203.0.113.2"), ("type", "1")]),
            ("/console/licenses/remove", vec![("ip", "203.0.113.1"), ("type", "1")]),
            ("/console/licenses/bulk-remove", vec![("pick", "203.0.113.1|1")]),
            ("/console/licenses/remove-matching", vec![("ip", "")]),
            ("/console/account/rotate", vec![("confirm", "yes")]),
            ("/console/account/reveal", vec![("password", PASSWORD)]),
            ("/console/account/users", vec![("email", "evil@acme.example"), ("role", "full")]),
        ];
        for (target, mut fields) in attempts {
            fields.push(("csrf", &s.csrf));
            let answer = post(&srv, &s.cookie, target, &fields);
            assert_eq!(answer.status, 403, "{target}: {}", answer.text());
        }
        assert_eq!(licenses(&srv), 1);
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_users"), 1);
        acme.ok("check", "ip=203.0.113.1");
        // Nor may a reseller's user reach operator pages.
        assert_eq!(get(&srv, &s.cookie, "/console/operator/resellers").status, 403);
        let answer = post(&srv, &s.cookie, "/console/operator/resellers/acme/block", &[("csrf", &s.csrf), ("reason", "x")]);
        assert_eq!(answer.status, 403);
    }

    fn sessions_end_on_logout_removal_and_block(srv) {
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "a@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "b@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let a = log_in(&srv, "a@acme.example", PASSWORD);
        let b = log_in(&srv, "b@acme.example", PASSWORD);
        let root = log_in(&srv, "root@ipls.example", PASSWORD);

        let out = post(&srv, &a.cookie, "/console/logout", &[("csrf", &a.csrf)]);
        assert_eq!(out.status, 303);
        assert_eq!(get(&srv, &a.cookie, "/console/licenses").header("location"), Some("/console/login"));

        let blocked = post(&srv, &root.cookie, "/console/operator/resellers/acme/block", &[("csrf", &root.csrf), ("reason", "unpaid")]);
        assert_eq!(blocked.status, 303, "{}", blocked.text());
        assert_eq!(get(&srv, &b.cookie, "/console/licenses").header("location"), Some("/console/login"));
        let again = log_in(&srv, "b@acme.example", PASSWORD);
        assert!(get(&srv, &again.cookie, "/console/dashboard").text().contains("This account is blocked: </strong>unpaid"));
        // Blocked: reads work, changes are refused as in the API.
        assert_eq!(get(&srv, &again.cookie, "/console/licenses").status, 200);
        for (target, fields) in [
            ("/console/licenses/add", vec![("ip", "203.0.113.1"), ("type", "1")]),
            ("/console/account/rotate", vec![("confirm", "yes")]),
            ("/console/account/allowlist", vec![("allow_from", "")]),
        ] {
            let mut fields = fields;
            fields.push(("csrf", &again.csrf));
            let refused = post(&srv, &again.cookie, target, &fields);
            assert_eq!(refused.status, 409, "{target}");
            assert!(refused.text().contains("Account acme is blocked: unpaid"), "{target}: {}", refused.text());
        }

        let id = users::get(&mut srv.conn(), "b@acme.example").unwrap().id;
        users::remove(&mut srv.conn(), id, &crate::common::by_cli()).unwrap();
        assert_eq!(get(&srv, &again.cookie, "/console/dashboard").header("location"), Some("/console/login"));
        assert_eq!(try_log_in(&srv, "b@acme.example", PASSWORD, &[]).0.status, 401);
    }

    fn sessions_time_out_idle_and_absolute(srv) {
        srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let s = log_in(&srv, "ops@acme.example", PASSWORD);
        // Used every 20 minutes, the session still ends 12 hours after login.
        for _ in 0..35 {
            srv.clock.advance(Duration::minutes(20));
            assert_eq!(get(&srv, &s.cookie, "/console/dashboard").status, 200);
        }
        srv.clock.advance(Duration::minutes(20));
        let ended = get(&srv, &s.cookie, "/console/dashboard");
        assert_eq!(ended.header("location"), Some("/console/login?expired=1"));
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_sessions"), 0);
        // A session left to run out is cleared by the next login, whoever's.
        let _forgotten = log_in(&srv, "ops@acme.example", PASSWORD);
        srv.clock.advance(Duration::minutes(31));
        let _next = log_in(&srv, "ops@acme.example", PASSWORD);
        assert_eq!(srv.count("SELECT count(*) AS n FROM console_sessions"), 1);
    }
}

fn https_behind_a_trusted_proxy_gets_a_host_cookie(kind: Kind) {
    let Some(srv) = lab(kind) else { return };
    srv.add_reseller("acme", &[1]);
    add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
    let https = [("x-forwarded-proto", "https")];
    let (answer, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &https);
    let cookie = set_cookie(&answer, "__Host-ipls_session").expect("a __Host- cookie");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
    let value = cookie.split(';').next().unwrap();
    let over_https = |cookie: &str| {
        let headers = [("cookie", cookie), ("x-forwarded-proto", "https")];
        crate::common::http::request(srv.addr, "GET", "/console/dashboard", &headers, b"")
    };
    assert_eq!(over_https(value).status, 200);
    // The same id in a plain cookie (which anyone on the network could plant) is not a
    // session over HTTPS.
    let planted = value.replace("__Host-ipls_session", "ipls_session");
    assert_eq!(
        over_https(&planted).header("location"),
        Some("/console/login")
    );
}

fn failed_logins_spend_the_budgets(kind: Kind) {
    let Some(srv) = lab(kind) else { return };
    srv.add_reseller("acme", &[1]);
    add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
    let from = |addr: &'static str| [("x-forwarded-for", addr)];
    for _ in 0..3 {
        let (answer, _) = try_log_in(
            &srv,
            "ops@acme.example",
            "wrong password!",
            &from("198.51.100.1"),
        );
        assert_eq!(answer.status, 401);
    }
    let (throttled, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &from("198.51.100.1"));
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    assert!(throttled.text().contains("Too many failed logins"));
    // The address's budget is spent; so is the account's for unknown addresses, however
    // many addresses the guesses come from.
    let (elsewhere, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &from("198.51.100.2"));
    assert_eq!(elsewhere.status, 429);
    // An unknown e-mail costs the same and says the same as a wrong password.
    let (unknown, _) = try_log_in(
        &srv,
        "nobody@acme.example",
        "wrong password!",
        &from("198.51.100.3"),
    );
    assert_eq!(unknown.status, 401);
    assert!(unknown.text().contains("do not match a user"));
    // On Postgres every instance spends the same budget.
    if kind == Kind::Postgres {
        let other = srv.another_instance();
        let (there, _) = try_log_in_at(
            other.addr,
            "ops@acme.example",
            PASSWORD,
            &from("198.51.100.4"),
        );
        assert_eq!(there.status, 429, "{}", there.text());
    }
    // The budget comes back with time.
    srv.clock.advance(Duration::minutes(10));
    let (later, _) = try_log_in(&srv, "ops@acme.example", PASSWORD, &from("198.51.100.2"));
    assert_eq!(later.status, 303, "{}", later.text());
}

#[test]
fn https_host_cookie_sqlite() {
    https_behind_a_trusted_proxy_gets_a_host_cookie(Kind::Sqlite);
}

#[test]
fn https_host_cookie_postgres() {
    https_behind_a_trusted_proxy_gets_a_host_cookie(Kind::Postgres);
}

#[test]
fn login_budgets_sqlite() {
    failed_logins_spend_the_budgets(Kind::Sqlite);
}

#[test]
fn login_budgets_postgres() {
    failed_logins_spend_the_budgets(Kind::Postgres);
}

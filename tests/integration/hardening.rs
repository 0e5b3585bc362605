//! Hostile callers: failed-authentication throttling and per-reseller source allowlists.
//! Distinct client addresses come through a trusted proxy on loopback (X-Forwarded-For).

use ipls::domain::resellers::{self, AccountChanges};

use crate::common::{http, test_secrets, Kind, Reseller, Response, TestServer};

fn from(srv: &TestServer, address: &str, target: &str) -> Response {
    http::request(
        srv.addr,
        "GET",
        target,
        &[("X-Forwarded-For", address)],
        b"",
    )
}

fn check_target(token: &str) -> String {
    format!("/api/ipl/check.json?ip=203.0.113.1&token={token}")
}

fn wrong(r: &Reseller) -> String {
    let mut forged = r.clone();
    forged.secret = "a-wrong-secret-0000000".into();
    forged.token()
}

#[test]
fn failed_authentications_are_throttled_per_address() {
    let srv = TestServer::behind_proxy(Kind::Sqlite, 3).expect("sqlite");
    let a = srv.add_reseller("alice", &[1]);
    let b = srv.add_reseller("bob", &[1]);
    // Successful calls spend nothing.
    for _ in 0..30 {
        assert_eq!(
            from(&srv, "198.51.100.1", &check_target(&a.token())).json()["success"],
            true
        );
    }
    // Three failures (the burst), each answered normally...
    for login in ["x1", "x2", "x3"] {
        let token = format!("{login}|{}|{}", srv.now().timestamp(), "0".repeat(40));
        let response = from(&srv, "198.51.100.1", &check_target(&token));
        assert_eq!(
            (response.status, response.json()["message"].clone()),
            (200, "Authorization failed".into())
        );
    }
    // ...then the address is blocked: even a valid token is refused fast with 429 (the
    // address's own budget applies to every login, known source or not).
    let response = from(&srv, "198.51.100.1", &check_target(&a.token()));
    assert_eq!(response.status, 429, "{}", response.text());
    let retry: u64 = response
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let value = response.json();
    assert_eq!(value["success"], false);
    assert!(
        value["message"].as_str().unwrap().contains("retry in"),
        "{value}"
    );
    // Other addresses are unaffected.
    assert_eq!(
        from(&srv, "198.51.100.2", &check_target(&a.token())).json()["success"],
        true
    );
    assert_eq!(
        from(&srv, "198.51.100.2", &check_target(&b.token())).json()["success"],
        true
    );
}

#[test]
fn failed_authentications_are_throttled_per_login() {
    let srv = TestServer::behind_proxy(Kind::Sqlite, 3).expect("sqlite");
    let a = srv.add_reseller("alice", &[1]);
    let b = srv.add_reseller("bob", &[1]);
    // Guesses at alice's secret from ever new addresses: the burst is answered, then 429.
    for i in 1..=4 {
        let response = from(&srv, &format!("198.51.100.{i}"), &check_target(&wrong(&a)));
        assert_eq!(response.status, if i <= 3 { 200 } else { 429 });
    }
    let response = from(&srv, "198.51.100.50", &check_target(&a.token()));
    assert_eq!(
        response.status, 429,
        "alice is blocked from a fresh address"
    );
    assert_eq!(
        from(&srv, "198.51.100.50", &check_target(&b.token())).json()["success"],
        true,
        "bob is not"
    );
    // XML-RPC answers the block with fault 10.
    let body = format!(
        "<methodCall><methodName>registration.is_licensed</methodName><params><param><value>{}</value></param><param><value>203.0.113.1</value></param></params></methodCall>",
        a.token()
    );
    let response = http::request(
        srv.addr,
        "POST",
        "/clweb/xmlrpc",
        &[("X-Forwarded-For", "198.51.100.51")],
        body.as_bytes(),
    );
    let text = response.text();
    assert!(
        text.contains("<i4>10</i4>") && text.contains("retry in"),
        "{text}"
    );
}

fn source_allowlist(kind: Kind) {
    let Some(srv) = TestServer::behind_proxy(kind, 20) else {
        return;
    };
    let a = srv.add_reseller("alice", &[1]);
    let set = |allow: Option<&str>| {
        let changes = AccountChanges {
            allow_from: Some(allow.unwrap_or("").to_string()),
            ..Default::default()
        };
        resellers::update(
            &mut srv.conn(),
            "alice",
            &changes,
            &test_secrets(),
            &crate::common::by_cli(),
        )
        .unwrap();
    };
    set(Some("198.51.100.0/24,2001:db8::/32"));
    assert_eq!(
        from(&srv, "198.51.100.9", &check_target(&a.token())).json()["success"],
        true
    );
    assert_eq!(
        from(&srv, "2001:db8::5", &check_target(&a.token())).json()["success"],
        true
    );
    let value = from(&srv, "203.0.113.9", &check_target(&a.token())).json();
    assert_eq!(
        value["message"],
        "Calls for account alice are not allowed from 203.0.113.9"
    );
    let value = srv.get(&check_target(&a.token())).json();
    assert_eq!(
        value["message"],
        "Calls for account alice are not allowed from 127.0.0.1"
    );
    set(None);
    assert_eq!(
        from(&srv, "203.0.113.9", &check_target(&a.token())).json()["success"],
        true
    );
}

#[test]
fn source_allowlist_sqlite() {
    source_allowlist(Kind::Sqlite);
}

#[test]
fn source_allowlist_postgres() {
    source_allowlist(Kind::Postgres);
}

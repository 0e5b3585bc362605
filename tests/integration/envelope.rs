//! The envelope everywhere: unknown paths, wrong methods, status, content type.

use crate::common::{assert_envelope, http, Kind, TestServer};
use crate::on_both_backends;

on_both_backends! {
    fn status_reports_the_database(srv) {
        let response = srv.get("/api/status.json");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let value = response.json();
        assert_envelope(&value);
        assert_eq!(value["success"], true);
        let data = &value["data"];
        for key in ["db_clweb_connected", "db_clweb_online", "db_rhn_connected", "db_rhn_online", "ip_server_reg"] {
            assert_eq!(data[key], true, "{key}");
        }
        assert_eq!(data["rhn_overloaded"], false);
        assert_eq!(data["rhn_queue_full"], false);
        assert!(data["xmlrpc"].is_boolean());
        assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
        let expected = match srv.kind { Kind::Sqlite => "sqlite", Kind::Postgres => "postgres" };
        assert_eq!(data["database"], expected);
    }
}

#[test]
fn unknown_paths_and_methods_get_an_envelope() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    for target in [
        "/api/ipl/nope.json",
        "/api/",
        "/",
        "/api/ipl/check.json/extra",
    ] {
        let response = srv.get(target);
        assert_eq!(response.status, 404, "{target}");
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{target}"
        );
        let value = response.json();
        assert_envelope(&value);
        assert_eq!(value["success"], false);
    }
    let response = http::request(srv.addr, "PUT", "/api/ipl/check.json", &[], b"");
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, POST"));
    assert_envelope(&response.json());
}

#[test]
fn answers_never_carry_a_top_level_registered_key() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);
    for (endpoint, params) in [
        ("register", "ip=203.0.113.150&type=1"),
        ("register", "ip=203.0.113.150&type=1"),
        ("register", "ip=10.0.0.1&type=1"),
        ("list", ""),
        ("server", "ip=203.0.113.150"),
        ("remove", "ip=203.0.113.150"),
    ] {
        let value = r.json(endpoint, params);
        assert!(value.get("registered").is_none(), "{endpoint}: {value}");
    }
}

#[test]
fn oversized_form_bodies_are_refused() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    let body = vec![b'a'; 70_000];
    let response = http::request(
        srv.addr,
        "POST",
        "/api/ipl/check.json",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    );
    assert_eq!(response.status, 200);
    let value = response.json();
    assert_envelope(&value);
    assert!(
        value["message"].as_str().unwrap().contains("too large"),
        "{value}"
    );
}

#[test]
fn metrics_count_requests_by_endpoint_and_status() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);
    r.ok("check", "ip=203.0.113.1");
    r.ok("check", "ip=203.0.113.2");
    srv.get("/api/nope");
    let response = srv.get("/metrics");
    assert_eq!(response.status, 200);
    assert!(response
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text();
    for line in [
        "ipls_requests_total{endpoint=\"/api/ipl/check.json\",status=\"200\"} 2",
        "ipls_requests_total{endpoint=\"unmatched\",status=\"404\"} 1",
        "ipls_request_duration_seconds_count{endpoint=\"/api/ipl/check.json\"} 2",
        "ipls_request_duration_seconds_bucket{endpoint=\"/api/ipl/check.json\",le=\"+Inf\"} 2",
        "ipls_db_pool_max_connections{pool=\"writes\"} 8",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(text.contains("ipls_db_errors_total "), "{text}");
    assert!(!text.contains("alice"), "no reseller data in metrics");
}

/// With its database unreachable, ipls answers fast with a 503 envelope, and status.json
/// says the database is offline.
#[test]
fn unreachable_database_is_a_503_envelope() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ipls::config::Config::from_lookup(|_| None).unwrap();
    config.database_url =
        ipls::db::DatabaseUrl::parse(&format!("postgres://postgres@127.0.0.1:{closed_port}/none"))
            .unwrap();
    config.pool.checkout_timeout = std::time::Duration::from_millis(300);
    let pool = ipls::db::build_pool(&config.database_url, &config.pool);
    let clock = ipls::clock::ManualClock::new(crate::common::start_time());
    let state = ipls::state::AppState::new(
        pool,
        crate::common::test_secrets(),
        config,
        std::sync::Arc::new(clock),
    );
    let running = crate::common::Running::start(state, 1, "127.0.0.1:0");

    let response = http::request(running.addr, "GET", "/api/status.json", &[], b"");
    assert_eq!(response.status, 503);
    let value = response.json();
    assert_envelope(&value);
    assert_eq!(value["success"], false);
    assert_eq!(value["data"]["db_clweb_online"], false);
    assert_eq!(value["data"]["database"], "postgres");

    let started = std::time::Instant::now();
    let response = http::request(
        running.addr,
        "GET",
        "/api/ipl/check.json?ip=203.0.113.1&token=a|1|b",
        &[],
        b"",
    );
    assert_eq!(
        response.status, 200,
        "a malformed token is refused before any database work"
    );
    let token = ipls::auth::mint(
        "acme",
        "acme-secret-0123456789",
        crate::common::start_time().timestamp(),
        ipls::auth::HashForm::LegacySha1,
    );
    let response = http::request(
        running.addr,
        "GET",
        &format!("/api/ipl/check.json?ip=203.0.113.1&token={token}"),
        &[],
        b"",
    );
    assert_eq!(response.status, 503, "{}", response.text());
    let value = response.json();
    assert_envelope(&value);
    assert_eq!(value["message"], "Database unavailable, please retry later");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "failed fast"
    );
}

/// docs/api.md's table of errors on every face says what `error::FACES` does.
#[test]
fn errors_on_every_face_match_the_code() {
    use ipls::error::{XmlRpcAnswer, FACES};
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    let section = doc
        .split("## Errors on every face")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/api.md has the section");
    for row in FACES {
        let xmlrpc = match row.xmlrpc {
            XmlRpcAnswer::MinusOne => "-1".to_string(),
            XmlRpcAnswer::Fault(code) => format!("fault {code}"),
        };
        let line = section
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", row.name)))
            .unwrap_or_else(|| panic!("no row for {}", row.name));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | kind | meaning | CLN REST | XML-RPC | admin API | console | CLI |
        assert_eq!(cells[3], row.cln_status.to_string(), "{line}");
        assert_eq!(cells[4], xmlrpc, "{line}");
        assert_eq!(cells[5], row.admin_status.to_string(), "{line}");
        assert_eq!(cells[6], row.console_status.to_string(), "{line}");
        assert_eq!(cells[7], row.cli_exit.to_string(), "{line}");
    }
}

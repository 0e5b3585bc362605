//! XML-RPC /clweb/xmlrpc: raw bodies in the shapes real clients send, faults, hostile input,
//! a Python xmlrpc.client round trip, and the shared state with REST.

use std::process::Command;

use diesel::prelude::*;
use ipls::db::schema::ip_licenses;
use serde_json::json;

use crate::common::{http, Kind, Options, Reseller, Response, TestServer};
use crate::on_both_backends;

fn post(srv: &TestServer, content_type: &str, body: &[u8]) -> Response {
    let response = http::request(
        srv.addr,
        "POST",
        "/clweb/xmlrpc",
        &[("Content-Type", content_type)],
        body,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("text/xml"));
    response
}

/// MyAdmin plugin shape: untyped token and IP, `<int>`, application/xml with charset.
fn myadmin(srv: &TestServer, method: &str, token: &str, ip: &str, extra: &str) -> String {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodCall><methodName>{method}</methodName><params>\
         <param><value>{token}</value></param><param><value>{ip}</value></param>{extra}</params></methodCall>"
    );
    post(srv, "application/xml; charset=UTF-8", body.as_bytes()).text()
}

/// PEAR client shape: typed values, whitespace, text/xml.
fn pear(srv: &TestServer, method: &str, params: &[String]) -> String {
    let params: String = params
        .iter()
        .map(|p| format!("\n  <param>\n    <value>{p}</value>\n  </param>"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>{params}\n</params>\n</methodCall>\n"
    );
    post(srv, "text/xml", body.as_bytes()).text()
}

fn s(text: &str) -> String {
    format!("<string>{text}</string>")
}

fn int_param(n: i64) -> String {
    format!("<param><value><int>{n}</int></value></param>")
}

fn is_fault(body: &str, code: i32) -> bool {
    body.contains("<fault>")
        && body.contains(&format!(
            "<name>faultCode</name><value><i4>{code}</i4></value>"
        ))
}

fn license_count(srv: &TestServer) -> i64 {
    ip_licenses::table
        .count()
        .get_result(&mut srv.conn())
        .unwrap()
}

on_both_backends! {
    fn register_remove_and_rest_share_state(srv) {
        let r = srv.add_reseller("alice", &[1, 2, 16]);
        let other = srv.add_reseller("bob", &[1]);
        let body = myadmin(&srv, "registration.license", &r.token(), "203.0.113.200", &int_param(1));
        assert!(body.contains("<value><i4>0</i4></value>"), "{body}");
        assert_eq!(r.ok("check", "ip=203.0.113.200"), json!([1]), "visible over REST");
        // Again: already the caller's, still 0.
        let body = myadmin(&srv, "registration.license", &r.token(), "203.0.113.200", &int_param(1));
        assert!(body.contains("<i4>0</i4>"), "{body}");
        // Refusals are -1, not faults.
        let body = myadmin(&srv, "registration.license", &other.token(), "203.0.113.200", &int_param(1));
        assert!(body.contains("<value><i4>-1</i4></value>") && !body.contains("<fault>"), "{body}");
        let body = myadmin(&srv, "registration.license", &r.token(), "10.0.0.1", &int_param(1));
        assert!(body.contains("<i4>-1</i4>"), "{body}");
        // Registered over REST, removed over XML-RPC (PEAR shape, typed values).
        r.ok("register", "ip=203.0.113.201&type=16");
        let body = pear(&srv, "registration.remove_license", &[s(&r.token()), s("203.0.113.201"), "<i4>16</i4>".into()]);
        assert!(body.contains("<i4>0</i4>"), "{body}");
        let body = pear(&srv, "registration.remove_license", &[s(&r.token()), s("203.0.113.201"), "<i4>16</i4>".into()]);
        assert!(body.contains("<i4>-1</i4>"), "nothing left to remove: {body}");
        // Two-parameter form removes every type; type 0 means all too.
        r.ok("register", "ip=203.0.113.200&type=16");
        let body = myadmin(&srv, "registration.remove_license", &r.token(), "203.0.113.200", "");
        assert!(body.contains("<i4>0</i4>"), "{body}");
        assert_eq!(r.ok("check", "ip=203.0.113.200"), json!([]));
        r.ok("register", "ip=203.0.113.202&type=2");
        let body = myadmin(&srv, "registration.remove_license", &r.token(), "203.0.113.202", &int_param(0));
        assert!(body.contains("<i4>0</i4>"), "{body}");
        assert_eq!(r.ok("list", ""), json!([]));
    }

    fn is_licensed_old_and_new_forms(srv) {
        let r = srv.add_reseller("alice", &[2, 16, 5003]);
        let t = r.token();
        assert!(myadmin(&srv, "registration.is_licensed", &t, "203.0.113.210", "").contains("<value><i4>0</i4></value>"));
        r.ok("register", "ip=203.0.113.210&type=16");
        r.ok("register", "ip=203.0.113.210&type=5003");
        assert!(myadmin(&srv, "registration.is_licensed", &t, "203.0.113.210", "").contains("<i4>0</i4>"), "only 1/2 count");
        r.ok("register", "ip=203.0.113.210&type=2");
        let body = myadmin(&srv, "registration.is_licensed", &t, "203.0.113.210", "");
        assert!(body.contains("<param><value><i4>2</i4></value></param>"), "{body}");
        let all = "<param><value><boolean>1</boolean></value></param>";
        let body = myadmin(&srv, "registration.is_licensed", &t, "203.0.113.210", all);
        assert!(body.contains("<array><data><value><i4>2</i4></value><value><i4>16</i4></value><value><i4>5003</i4></value></data></array>"), "{body}");
        let legacy_only = "<param><value><boolean>0</boolean></value></param>";
        let body = myadmin(&srv, "registration.is_licensed", &t, "203.0.113.210", legacy_only);
        assert!(body.contains("<array><data><value><i4>2</i4></value></data></array>"), "{body}");
    }

    fn reconcile_lists_the_callers_licenses(srv) {
        let r = srv.add_reseller("alice", &[1, 16]);
        let b = srv.add_reseller("bob", &[1]);
        b.ok("register", "ip=198.51.100.1&type=1");
        let body = pear(&srv, "registration.reconcile", &[s(&r.token())]);
        assert!(body.contains("<array><data></data></array>"), "{body}");
        r.ok("register", "ip=203.0.113.220&type=16");
        r.ok("register", "ip=203.0.113.220&type=1");
        let body = pear(&srv, "registration.reconcile", &[s(&r.token())]);
        assert!(body.contains(
            "<value><struct><member><name>IP</name><value><string>203.0.113.220</string></value></member>\
             <member><name>TYPE</name><value><i4>1</i4></value></member>\
             <member><name>REGISTERED</name><value><boolean>0</boolean></value></member></struct></value>"
        ), "{body}");
        assert_eq!(body.matches("<struct>").count(), 2, "only the caller's: {body}");
    }

    fn faults_for_bad_calls_change_nothing(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let t = r.token();
        let before = license_count(&srv);
        let bad_token = myadmin(&srv, "registration.license", "alice|1|abc", "203.0.113.230", &int_param(1));
        assert!(is_fault(&bad_token, 10), "{bad_token}");
        assert!(is_fault(&myadmin(&srv, "registration.license", &t, "203.0.113.300", &int_param(1)), 40));
        assert!(is_fault(&myadmin(&srv, "registration.is_licensed", &t, "not-an-ip", ""), 40));
        assert!(is_fault(&myadmin(&srv, "registration.remove_license", &t, "1.2.3", ""), 40));
        assert!(is_fault(&myadmin(&srv, "registration.nope", &t, "203.0.113.230", ""), 30), "unknown method");
        assert!(is_fault(&myadmin(&srv, "registration.license", &t, "203.0.113.230", ""), 30), "wrong arity");
        let typed_wrong = "<param><value><string>1</string></value></param>";
        assert!(is_fault(&myadmin(&srv, "registration.license", &t, "203.0.113.230", typed_wrong), 30), "type must be int");
        let not_bool = "<param><value><int>1</int></value></param>";
        assert!(is_fault(&myadmin(&srv, "registration.is_licensed", &t, "203.0.113.230", not_bool), 30));
        assert!(is_fault(&pear(&srv, "registration.reconcile", &[]), 30));
        assert_eq!(license_count(&srv), before);
    }
}

#[test]
fn hostile_bodies_get_fault_30_quickly() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);
    let t = r.token();
    let register = |ip: &str| {
        format!("<methodCall><methodName>registration.license</methodName><params><param><value>{t}</value></param><param><value>{ip}</value></param>{}</params></methodCall>", int_param(1))
    };
    let billion_laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>{}",
        register("&lol2;")
    );
    let external = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        register("&xxe;")
    );
    let deep = format!(
        "<methodCall><methodName>registration.license</methodName><params><param>{}1{}</param></params></methodCall>",
        "<value><array><data>".repeat(200),
        "</data></array></value>".repeat(200)
    );
    let truncated = register("203.0.113.240");
    let truncated = &truncated[..truncated.len() / 2];
    let mut invalid_utf8 = register("203.0.113.241").into_bytes();
    invalid_utf8.insert(30, 0xff);
    let oversized = format!("{}{}", register("203.0.113.242"), " ".repeat(70_000));
    let bodies: Vec<Vec<u8>> = vec![
        billion_laughs.into_bytes(),
        external.into_bytes(),
        deep.into_bytes(),
        truncated.as_bytes().to_vec(),
        invalid_utf8,
        oversized.into_bytes(),
        b"".to_vec(),
        b"{\"json\": true}".to_vec(),
        register("&undeclared;").into_bytes(),
    ];
    for body in bodies {
        let text = post(&srv, "text/xml", &body).text();
        assert!(
            is_fault(&text, 30),
            "{} -> {text}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
    }
    assert_eq!(license_count(&srv), 0);
    // A declared length over the limit is refused before the body is read.
    let response = http::request(
        srv.addr,
        "POST",
        "/clweb/xmlrpc",
        &[("Content-Type", "text/xml"), ("Content-Length", "10000000")],
        b"",
    );
    assert!(is_fault(&response.text(), 30), "{}", response.text());
    // Not POST: still an XML fault.
    let response = http::request(srv.addr, "GET", "/clweb/xmlrpc", &[], b"");
    assert_eq!(response.status, 405);
    assert!(is_fault(&response.text(), 30));
}

#[test]
fn reconcile_streams_across_pages() {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let Some(srv) = TestServer::start_with(
            kind,
            Options {
                list_page_size: 2,
                ..Options::default()
            },
        ) else {
            continue;
        };
        let r = srv.add_reseller("alice", &[1]);
        for i in 1..=5 {
            r.ok("register", &format!("ip=203.0.113.{i}&type=1"));
        }
        let body = pear(&srv, "registration.reconcile", &[s(&r.token())]);
        assert_eq!(body.matches("<struct>").count(), 5, "{kind:?}: {body}");
        assert!(
            body.ends_with("</data></array></value></param></params></methodResponse>\n"),
            "{body}"
        );
        let first = body.find("203.0.113.1<").unwrap();
        let last = body.find("203.0.113.5<").unwrap();
        assert!(first < last, "ordered");
    }
}

const PYTHON_CLIENT: &str = r#"
import sys, xmlrpc.client
url, token, bad_token = sys.argv[1], sys.argv[2], sys.argv[3]
proxy = xmlrpc.client.ServerProxy(url)
assert proxy.registration.license(token, "203.0.113.250", 1) == 0
assert proxy.registration.license(token, "203.0.113.250", 1) == 0
assert proxy.registration.is_licensed(token, "203.0.113.250") == 1
assert proxy.registration.is_licensed(token, "203.0.113.250", True) == [1]
rows = proxy.registration.reconcile(token)
assert rows == [{"IP": "203.0.113.250", "TYPE": 1, "REGISTERED": False}], rows
for call, code in [
    (lambda: proxy.registration.license(bad_token, "203.0.113.250", 1), 10),
    (lambda: proxy.registration.license(token, "203.0.113.999", 1), 40),
    (lambda: proxy.registration.license(token, "203.0.113.251"), 30),
    (lambda: proxy.registration.unknown(token), 30),
]:
    try:
        call()
        raise SystemExit("expected a fault")
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode == code, (fault.faultCode, code, fault.faultString)
assert proxy.registration.remove_license(token, "203.0.113.250") == 0
assert proxy.registration.remove_license(token, "203.0.113.250", 1) == -1
print("python xmlrpc.client round trip ok")
"#;

fn python_round_trip(srv: &TestServer, r: &Reseller) {
    let output = Command::new("python3")
        .args([
            "-c",
            PYTHON_CLIENT,
            &format!("http://{}/clweb/xmlrpc", srv.addr),
            &r.token(),
            "alice|1|x",
        ])
        .output()
        .expect("python3 runs (CPython is part of the CI machine)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("round trip ok"));
}

on_both_backends! {
    fn python_xmlrpc_client_round_trip(srv) {
        let r = srv.add_reseller("alice", &[1]);
        python_round_trip(&srv, &r);
        assert_eq!(r.ok("list", ""), json!([]), "the Python client removed what it registered");
    }
}

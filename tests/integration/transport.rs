//! The transport: HTTPS with a certificate generated here, request limits, slow clients,
//! the connection cap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipls::config::ServerLimits;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::common::{assert_envelope, http, Kind, Options, TestServer};

#[test]
fn serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    let options = Options {
        tls: Some((cert_path, key_path)),
        ..Options::default()
    };
    let srv = TestServer::start_with(Kind::Sqlite, options).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(certified.cert.der().to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let config = Arc::new(config);
    let https = |target: &str| {
        let connection = rustls::ClientConnection::new(
            config.clone(),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let tcp = TcpStream::connect(srv.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        http::request_over(
            rustls::StreamOwned::new(connection, tcp),
            "localhost",
            "GET",
            target,
            &[],
            b"",
        )
    };
    let response = https("/api/status.json");
    assert_eq!(response.status, 200);
    assert_envelope(&response.json());
    let value = https(&format!(
        "/api/ipl/register.json?ip=203.0.113.5&type=1&token={}",
        r.token()
    ))
    .json();
    assert_eq!(value["success"], true, "{value}");

    // Plain HTTP on the TLS port gets no answer in clear text.
    let mut tcp = TcpStream::connect(srv.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /api/status.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("success"),
        "no plain answer"
    );
}

fn limits(request_timeout_ms: u64, max_connections: usize) -> ServerLimits {
    ServerLimits {
        request_timeout: Duration::from_millis(request_timeout_ms),
        keep_alive: Duration::from_secs(5),
        max_connections,
        max_query_bytes: 16_384,
        shutdown_timeout: Duration::from_secs(5),
    }
}

/// Opens a connection that sends half a request head and then nothing.
fn slow_client(srv: &TestServer) -> TcpStream {
    let mut tcp = TcpStream::connect(srv.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    tcp.write_all(b"GET /api/status.json HTTP/1.1\r\nHost: slow\r\n")
        .unwrap();
    tcp
}

/// Blocks until the server ends the slow connection; returns when it did.
fn wait_until_cut(mut tcp: TcpStream) -> Instant {
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf);
    let answer = String::from_utf8_lossy(&buf);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    Instant::now()
}

#[test]
fn slow_clients_are_cut_off_and_do_not_hold_the_server() {
    let options = Options {
        limits: Some(limits(500, 1_024)),
        workers: 1,
        ..Options::default()
    };
    let srv = TestServer::start_with(Kind::Sqlite, options).expect("sqlite");
    let slow: Vec<TcpStream> = (0..20).map(|_| slow_client(&srv)).collect();
    // While twenty clients dawdle, a normal call is served.
    assert_eq!(srv.get("/api/status.json").json()["success"], true);
    // And every dawdler is cut off by the request timeout (bounded by the read timeout).
    for tcp in slow {
        wait_until_cut(tcp);
    }
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let options = Options {
        limits: Some(limits(1_000, 2)),
        workers: 1,
        ..Options::default()
    };
    let srv = TestServer::start_with(Kind::Sqlite, options).expect("sqlite");
    let slow: Vec<TcpStream> = (0..2).map(|_| slow_client(&srv)).collect();
    let slots_taken = Instant::now();
    let addr = srv.addr;
    let third = std::thread::spawn(move || {
        let response = http::request(addr, "GET", "/api/status.json", &[], b"");
        (response.status, Instant::now())
    });
    for tcp in slow {
        wait_until_cut(tcp);
    }
    let (status, answered) = third.join().unwrap();
    assert_eq!(status, 200);
    // A slot frees when a dawdler is cut, 1 s after it connected (the request timeout). The
    // bound is taken from the server's timeout, not from when this thread noticed a cut: that
    // notice can come after the third call was already served in the freed slot.
    let waited = answered.duration_since(slots_taken);
    assert!(
        waited >= Duration::from_millis(800),
        "the third connection was served after {waited:?}, before a slot could be free"
    );
}

#[test]
fn oversized_query_strings_are_refused() {
    let srv = TestServer::start(Kind::Sqlite).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);
    let padding = "x".repeat(17_000);
    let response = srv.get(&format!(
        "/api/ipl/check.json?ip=203.0.113.1&pad={padding}&token={}",
        r.token()
    ));
    assert_eq!(response.status, 200);
    let value = response.json();
    assert_envelope(&value);
    assert!(
        value["message"]
            .as_str()
            .unwrap()
            .contains("Query string too long"),
        "{value}"
    );
}

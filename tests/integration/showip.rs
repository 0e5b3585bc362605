//! `/showip.php`: the caller's address as plain text, as CLN's FAQ has servers behind NAT ask
//! for it; a trusted proxy's `X-Forwarded-For` is believed, anyone else's is not.

use crate::common::{get_from, http, Kind, Options, TestServer};

#[test]
fn showip_answers_the_address_ipls_sees() {
    let direct = TestServer::start(Kind::Sqlite).expect("server");
    let plain = http::request(direct.addr, "GET", "/showip.php", &[], b"");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.text(), "127.0.0.1");
    assert!(plain
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain")));
    // Not a trusted proxy: the header is the client's claim, and ignored.
    assert_eq!(
        get_from(direct.addr, "203.0.113.7", "/showip.php").text(),
        "127.0.0.1"
    );
    let refused = http::request(direct.addr, "POST", "/showip.php", &[], b"");
    assert_eq!(refused.status, 405);

    let proxied = TestServer::start_with(
        Kind::Sqlite,
        Options {
            trusted_proxies: "127.0.0.1",
            ..Options::default()
        },
    )
    .expect("server");
    assert_eq!(
        get_from(proxied.addr, "203.0.113.7", "/showip.php").text(),
        "203.0.113.7"
    );
    assert_eq!(
        get_from(proxied.addr, "2001:db8::7", "/showip.php").text(),
        "2001:db8::7"
    );
}

//! Helpers of the activation-key tests: servers that allow many registrations from the test
//! client's one address, calls without a token, and rows read back from the database.

use diesel::prelude::*;
use ipls::db::schema::{activation_keys, key_servers};

use crate::common::{self, http, Kind, Options, Reseller, TestServer};

/// A test server whose per-source budget lets every registration of a test through.
pub fn start(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            workers: 4,
            configure: |c| c.checkin_per_minute = 10_000,
            ..Options::default()
        },
    )
}

/// A call without a token (what a server's agent sends); asserts HTTP 200 and the envelope.
pub fn plain(addr: std::net::SocketAddr, target: &str) -> serde_json::Value {
    let response = http::request(addr, "GET", target, &[], b"");
    assert_eq!(response.status, 200, "{target}: {}", response.text());
    let value = response.json();
    common::assert_envelope(&value);
    value
}

/// `data` of a successful key-API call, e.g. `ok(&r, "kcare/key/list", "")`.
pub fn ok(r: &Reseller, endpoint: &str, params: &str) -> serde_json::Value {
    r.ok(&format!("/api/{endpoint}.json"), params)
}

/// The whole envelope of a key-API call.
pub fn answer(r: &Reseller, endpoint: &str, params: &str) -> serde_json::Value {
    r.json(&format!("/api/{endpoint}.json"), params)
}

/// `message` of a refused key-API call (`success:false`, `data:null`).
pub fn refused(r: &Reseller, endpoint: &str, params: &str) -> String {
    r.refused(&format!("/api/{endpoint}.json"), params)
}

/// (key, limit, servers counter, note, ranges) of every key, oldest first.
pub fn keys(srv: &TestServer) -> Vec<(String, i32, i32, String, Option<String>)> {
    activation_keys::table
        .order(activation_keys::id)
        .select((
            activation_keys::key_text,
            activation_keys::server_limit,
            activation_keys::servers,
            activation_keys::note,
            activation_keys::cidrs,
        ))
        .load(&mut srv.conn())
        .unwrap()
}

/// Servers registered with `key`.
pub fn server_count(srv: &TestServer, key: &str) -> i64 {
    key_servers::table
        .inner_join(activation_keys::table)
        .filter(activation_keys::key_text.eq(key))
        .count()
        .get_result(&mut srv.conn())
        .unwrap()
}

/// Registers a server with `key` through `product`'s call (`kcare` or `im`).
pub fn register(srv: &TestServer, product: &str, key: &str) -> serde_json::Value {
    plain(
        srv.addr,
        &format!("/api/{product}/register_server.json?key={key}&hostname=web.example"),
    )
}

/// Runs each listed test on SQLite and on Postgres, on a server from `start` (a generous
/// per-source budget): `fn NAME(srv, kind) { ... }`.
#[macro_export]
macro_rules! key_tests {
    ($(fn $name:ident($srv:ident, $kind:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn run($kind: $crate::common::Kind) {
                    let Some($srv) = $crate::keys_common::start($kind) else { return };
                    $body
                }
                #[test]
                fn sqlite() {
                    run($crate::common::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    run($crate::common::Kind::Postgres)
                }
            }
        )*
    };
}

/// A token call with any method (`/api/v2/cl/...`): the parameters in the query string, as
/// CLN's v2 takes them; asserts HTTP 200 and the envelope.
pub fn with_method(r: &Reseller, method: &str, path: &str, params: &str) -> serde_json::Value {
    let sep = if params.is_empty() { "" } else { "&" };
    let target = format!("{path}?{params}{sep}token={}", r.token());
    let response = http::request(r.addr, method, &target, &[], b"");
    assert_eq!(
        response.status,
        200,
        "{method} {target}: {}",
        response.text()
    );
    let value = response.json();
    common::assert_envelope(&value);
    value
}

/// `data` of a successful call `with_method`.
pub fn ok_with(r: &Reseller, method: &str, path: &str, params: &str) -> serde_json::Value {
    let value = with_method(r, method, path, params);
    assert_eq!(value["success"], true, "{method} {path}?{params}: {value}");
    value["data"].clone()
}

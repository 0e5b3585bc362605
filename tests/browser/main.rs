//! The web console in a real browser: headless chromium through chromedriver, against a
//! real ipls HTTP server (the one `ipls serve` starts, with an injected clock) on SQLite and
//! on Postgres. axe-core checks each page; screenshots go to target/screenshots/.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "../common/mod.rs"]
mod common;

mod driver;
mod key_flows;
mod mail_flows;
mod operator_flows;
mod reseller_flows;
mod security_flows;
mod upstream_flows;

use common::{Kind, Options, TestServer};

/// A server for console tests (private addresses allowed: servers check in from loopback),
/// or None when this backend or the browser is not available here.
pub fn console_server(kind: Kind, options: Options) -> Option<TestServer> {
    if !driver::available() {
        return None;
    }
    TestServer::start_with(
        kind,
        Options {
            allow_private_ips: true,
            ..options
        },
    )
}

/// Runs each listed browser test on SQLite and on Postgres.
#[macro_export]
macro_rules! in_the_browser {
    ($(fn $name:ident($kind:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[test]
                fn sqlite() {
                    let $kind = $crate::common::Kind::Sqlite;
                    $body
                }
                #[test]
                fn postgres() {
                    let $kind = $crate::common::Kind::Postgres;
                    $body
                }
            }
        )*
    };
}

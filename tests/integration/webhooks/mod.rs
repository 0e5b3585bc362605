//! Webhooks end to end: the receiver verifies every signature with the official
//! `standardwebhooks` package; events arrive once and in order through failures, after a
//! SIGKILL, from two instances; a change that rolls back sends nothing; private targets are
//! refused; a 410 or a used-up schedule disables the endpoint.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use ipls::domain::resellers::{self, AccountChanges};
use ipls::domain::webhooks::{deliveries, endpoints};
use ipls::webhooks::subscribe::{add_endpoint, EndpointRequest};
use serde_json::json;

use crate::common::process::ServeProcess;
use crate::common::receiver::{Receiver, ReceiverOptions};
use crate::common::{get_from, test_secrets, Kind, Options, TestServer};

mod commands;
mod delivery;
mod endpoint_state;
mod notices;
mod restarts;

const WAIT: Duration = Duration::from_secs(30);

/// A server whose worker may send to loopback, looks for work every 50 ms and retries
/// after 100 ms, three times.
fn server(kind: Kind) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            trusted_proxies: "127.0.0.1",
            configure: |c| {
                c.webhooks.allow_private = true;
                c.webhooks.poll = Duration::from_millis(50);
                c.webhooks.retry_schedule = vec![
                    Duration::from_millis(100),
                    Duration::from_millis(100),
                    Duration::from_millis(100),
                ];
            },
            ..Options::default()
        },
    )
}

fn subscribe(srv: &TestServer, receiver: &Receiver, reseller: Option<&str>, events: &str) -> i64 {
    let (view, secret) = add_endpoint(
        &mut srv.conn(),
        &EndpointRequest {
            url: &receiver.url,
            reseller,
            events,
            now: srv.now().naive_utc(),
        },
        &test_secrets(),
        true,
    )
    .expect("add the endpoint");
    receiver.set_secret(&secret);
    view.endpoint.id
}

fn account_change(srv: &TestServer, login: &str, changes: AccountChanges) {
    resellers::update(
        &mut srv.conn(),
        login,
        &changes,
        &test_secrets(),
        &crate::common::by_cli(),
    )
    .expect("account change");
}

/// A real-time clock for a reseller calling a separately started `ipls serve`.
fn ipls_clock_now() -> ipls::clock::ManualClock {
    ipls::clock::ManualClock::new(Utc::now())
}

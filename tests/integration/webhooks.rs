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

mod every_event_signed_and_in_order {
    use super::*;

    fn run(kind: Kind) {
        let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
            return;
        };
        let Some(srv) = server(kind) else {
            return;
        };
        subscribe(&srv, &receiver, None, "*");
        let acme = srv.add_reseller("acme", &[1, 41, 42]);
        let trial = srv.add_reseller_with("trial", vec![(1, None)], true);
        acme.ok("register", "ip=203.0.113.5&type=41");
        acme.ok("convert", "ip=203.0.113.5&type=41&type_to=42");
        acme.ok("register", "ip=203.0.113.6&type=1");
        acme.ok("update", "ip=203.0.113.6&els_allowed=true");
        let checkin = get_from(
            srv.addr,
            "203.0.113.6",
            "/api/server/checkin.json?server_info=web1",
        );
        assert_eq!(checkin.json()["success"], true);
        acme.ok("remove", "ip=203.0.113.6");
        account_change(
            &srv,
            "acme",
            AccountChanges {
                blocked_reason: Some(Some("unpaid".into())),
                ..Default::default()
            },
        );
        account_change(
            &srv,
            "acme",
            AccountChanges {
                blocked_reason: Some(None),
                ..Default::default()
            },
        );
        account_change(
            &srv,
            "acme",
            AccountChanges {
                secret: Some("a-new-secret-0123456789".into()),
                ..Default::default()
            },
        );
        trial.ok("register", "ip=203.0.113.7&type=1");
        // The trial runs out by the server's clock; the worker ends it and reports it.
        srv.clock.advance(chrono::Duration::days(31));

        let all = receiver.wait_for_accepted(13, WAIT);
        // acme's types 41 and 42 came with their default activation keys.
        let (default_keys, got) = all.split_at(2);
        for (made, type_id) in default_keys.iter().zip([41, 42]) {
            assert_eq!(made.event_type(), "key.created");
            assert_eq!(made.payload["data"]["type"], type_id);
            assert_eq!(made.payload["data"]["reseller"], "acme");
            assert_eq!(made.payload["data"]["limit"], 0);
        }
        let types: Vec<&str> = got.iter().map(|r| r.event_type()).collect();
        assert_eq!(
            types,
            [
                "license.registered",
                "license.converted",
                "license.registered",
                "license.updated",
                "license.checked_in",
                "license.removed",
                "reseller.blocked",
                "reseller.unblocked",
                "reseller.secret_rotated",
                "license.registered",
                "license.expired",
            ]
        );
        for r in &all {
            assert!(r.verified, "signature did not verify: {r:?}");
            assert!(r.id.starts_with("msg_"), "{r:?}");
        }
        let ids: HashSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), all.len(), "every event has its own webhook-id");
        assert_eq!(got[1].payload["data"]["from_type"], 41);
        assert_eq!(got[1].payload["data"]["type"], 42);
        assert_eq!(got[2].payload["data"]["ip"], "203.0.113.6");
        assert_eq!(got[2].payload["data"]["reseller"], "acme");
        assert_eq!(got[2].payload["data"]["trial"], false);
        assert_eq!(got[3].payload["data"]["els_allowed"], true);
        assert_eq!(got[4].payload["data"]["source"], "203.0.113.6");
        assert_eq!(got[6].payload["data"]["reason"], "unpaid");
        assert_eq!(got[9].payload["data"]["trial"], true);
        assert_eq!(got[10].payload["data"]["ip"], "203.0.113.7");
        assert_eq!(got[0].payload["timestamp"], "2026-11-28T12:00:00Z");
        // The expired trial is gone from the table and its end is in the history.
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '203.0.113.7'"),
            0
        );
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'expire'"),
            1
        );
    }

    #[test]
    fn sqlite() {
        run(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Kind::Postgres);
    }
}

mod a_failing_receiver_gets_each_event_once_in_order {
    use super::*;

    fn run(kind: Kind) {
        let Some(receiver) = Receiver::start(ReceiverOptions {
            fail_first: 3,
            ..Default::default()
        }) else {
            return;
        };
        let Some(srv) = server(kind) else {
            return;
        };
        let endpoint = subscribe(&srv, &receiver, None, "license.registered");
        let acme = srv.add_reseller("acme", &[1]);
        let ips: Vec<String> = (10..16).map(|n| format!("203.0.113.{n}")).collect();
        for ip in &ips {
            acme.ok("register", &format!("ip={ip}&type=1"));
            acme.ok("remove", &format!("ip={ip}"));
        }
        let accepted = receiver.wait_for_accepted(ips.len(), WAIT);
        let got: Vec<&str> = accepted
            .iter()
            .map(|r| r.payload["data"]["ip"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(got, ips, "in the order of the changes, each once");
        let all = receiver.received();
        assert_eq!(
            all.len(),
            ips.len() + 3,
            "three refused attempts, then one each"
        );
        // The refused attempts were the first event's, with the same webhook-id every time.
        assert!(all[..4].iter().all(|r| r.id == accepted[0].id));
        // The receiver logs before it answers: wait for ipls to record the last answer.
        let deadline = std::time::Instant::now() + WAIT;
        let rows = loop {
            let rows = deliveries::list(&mut srv.conn(), endpoint, None, 100).expect("deliveries");
            if rows.iter().all(|d| d.state == deliveries::DELIVERED) {
                break rows;
            }
            assert!(std::time::Instant::now() < deadline, "{rows:?}");
            std::thread::sleep(Duration::from_millis(25));
        };
        assert_eq!(rows.len(), ips.len(), "only subscribed events were queued");
        let first = rows.iter().min_by_key(|d| d.id).expect("one");
        assert_eq!(first.attempts, 4);
        let failed = deliveries::attempts_of(&mut srv.conn(), &[first.id]).expect("attempts");
        assert_eq!(failed.len(), 3, "the failed attempts are logged");
        let log = deliveries::log_of(first, &failed);
        assert_eq!(
            log.iter().map(|a| a.status).collect::<Vec<_>>(),
            [Some(500), Some(500), Some(500), Some(200)]
        );
        assert_eq!(log[3].response.as_deref(), Some("ok"));
    }

    #[test]
    fn sqlite() {
        run(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Kind::Postgres);
    }
}

mod gone_or_used_up_disables_the_endpoint {
    use super::*;

    fn run(kind: Kind) {
        let (Some(gone), Some(failing)) = (
            Receiver::start(ReceiverOptions {
                status: 410,
                ..Default::default()
            }),
            Receiver::start(ReceiverOptions {
                status: 503,
                ..Default::default()
            }),
        ) else {
            return;
        };
        let Some(srv) = server(kind) else {
            return;
        };
        let gone_id = subscribe(&srv, &gone, None, "*");
        let failing_id = subscribe(&srv, &failing, None, "*");
        let acme = srv.add_reseller("acme", &[1]);
        acme.ok("register", "ip=203.0.113.20&type=1");
        let deadline = std::time::Instant::now() + WAIT;
        let disabled = |id| {
            endpoints::get(&mut srv.conn(), id)
                .expect("endpoint")
                .endpoint
        };
        while disabled(gone_id).enabled || disabled(failing_id).enabled {
            assert!(std::time::Instant::now() < deadline, "not disabled");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(gone.received().len(), 1, "410: no retry");
        assert_eq!(
            failing.received().len(),
            4,
            "the whole schedule, then no more"
        );
        assert_eq!(
            disabled(gone_id).disabled_reason.as_deref(),
            Some("the endpoint answered 410 Gone")
        );
        // A disabled endpoint gets nothing new queued.
        acme.ok("remove", "ip=203.0.113.20");
        assert_eq!(
            deliveries::list(&mut srv.conn(), gone_id, None, 10)
                .expect("list")
                .len(),
            1
        );
        // A retry by hand enables it and queues the delivery again.
        let failed = deliveries::list(&mut srv.conn(), gone_id, None, 10)
            .expect("list")
            .remove(0);
        assert_eq!(failed.state, deliveries::FAILED);
        deliveries::retry(&mut srv.conn(), failed.id).expect("retry");
        // Not read back at once: the worker may already have sent the retry and been answered
        // 410 again (a CI run saw that). The retry arriving shows the endpoint was enabled, since a
        // disabled endpoint is sent nothing.
        let deadline = std::time::Instant::now() + WAIT;
        while gone.received().len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the retry was not sent"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let again = gone.received();
        assert_eq!(
            again[1].id, again[0].id,
            "a retry carries the same webhook-id"
        );
        // Answered 410 again, it is disabled again.
        while disabled(gone_id).enabled {
            assert!(std::time::Instant::now() < deadline, "not disabled again");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(gone.received().len(), 2, "410: no retry");
    }

    #[test]
    fn sqlite() {
        run(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Kind::Postgres);
    }
}

mod a_rolled_back_change_sends_nothing {
    use super::*;

    /// A trigger makes the history insert of one IP fail: its register rolls back after the
    /// outbox row was written in the same transaction.
    const SQLITE_TRIGGER: &str = "CREATE TRIGGER refuse_one BEFORE INSERT ON license_events \
         WHEN NEW.ip = '203.0.113.66' BEGIN SELECT RAISE(ABORT, 'refused by test'); END;";
    const POSTGRES_TRIGGER: &str = "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ \
         BEGIN IF NEW.ip = '203.0.113.66' THEN RAISE EXCEPTION 'refused by test'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_one BEFORE INSERT ON license_events \
         FOR EACH ROW EXECUTE FUNCTION refuse_one();";

    fn run(kind: Kind) {
        let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
            return;
        };
        let Some(srv) = server(kind) else {
            return;
        };
        subscribe(&srv, &receiver, None, "*");
        let acme = srv.add_reseller("acme", &[1]);
        let trigger = match kind {
            Kind::Sqlite => SQLITE_TRIGGER,
            Kind::Postgres => POSTGRES_TRIGGER,
        };
        srv.conn()
            .batch_execute(trigger)
            .expect("install the trigger");
        let failed = acme.call("register", "ip=203.0.113.66&type=1");
        assert_ne!(failed.json()["success"], true, "{}", failed.text());
        acme.ok("register", "ip=203.0.113.67&type=1");
        let got = receiver.wait_for_accepted(1, WAIT);
        std::thread::sleep(Duration::from_millis(300));
        let all = receiver.received();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(got[0].payload["data"]["ip"], "203.0.113.67");
        assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_deliveries"), 1);
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '203.0.113.66'"),
            0
        );
    }

    #[test]
    fn sqlite() {
        run(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Kind::Postgres);
    }
}

#[test]
fn a_resellers_endpoint_gets_only_its_own_events() {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = server(Kind::Sqlite) else {
        return;
    };
    let acme = srv.add_reseller("acme", &[1]);
    let other = srv.add_reseller("other", &[1]);
    subscribe(&srv, &receiver, Some("acme"), "license.registered");
    other.ok("register", "ip=203.0.113.30&type=1");
    acme.ok("register", "ip=203.0.113.31&type=1");
    acme.ok("remove", "ip=203.0.113.31");
    other.ok("register", "ip=203.0.113.32&type=1");
    acme.ok("register", "ip=203.0.113.33&type=1");
    let got = receiver.wait_for_accepted(2, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.received().len(), 2);
    let ips: Vec<&serde_json::Value> = got.iter().map(|r| &r.payload["data"]["ip"]).collect();
    assert_eq!(ips, [&json!("203.0.113.31"), &json!("203.0.113.33")]);
}

#[test]
fn private_targets_are_refused() {
    let Some(srv) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    srv.add_reseller("acme", &[1]);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://localhost:9/hook",
        "https://user:pw@example.com/",
        "ftp://example.com/",
    ] {
        let refused = add_endpoint(
            &mut srv.conn(),
            &EndpointRequest {
                url,
                reseller: None,
                events: "*",
                now: Utc::now().naive_utc(),
            },
            &test_secrets(),
            false,
        );
        assert!(refused.is_err(), "{url} was accepted");
    }
    assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_endpoints"), 0);
}

/// ipls killed with SIGKILL while delivering, then started again: the rest is delivered,
/// with the same webhook-ids (a delivery cut mid-request may arrive twice).
#[test]
fn a_killed_server_delivers_the_rest_after_a_restart() {
    let Some(receiver) = Receiver::start(ReceiverOptions {
        delay_ms: 150,
        ..Default::default()
    }) else {
        return;
    };
    // The test's own server delivers nothing: only the `ipls serve` processes do.
    let options = Options {
        configure: |c| c.webhooks.workers = 0,
        ..Options::default()
    };
    let Some(srv) = TestServer::start_with(Kind::Postgres, options) else {
        return;
    };
    subscribe(&srv, &receiver, None, "license.registered");
    let env = [
        ("IPLS_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("IPLS_WEBHOOK_TIMEOUT_MS", "1000"),
        ("IPLS_WEBHOOK_POLL_MS", "100"),
    ];
    let url = srv.db.url_text();
    let mut first = ServeProcess::start(&url, &env);
    let mut acme = srv.add_reseller("acme", &[1]);
    acme.addr = first.addr;
    acme.clock = ipls_clock_now();
    let ips: Vec<String> = (1..=20).map(|n| format!("203.0.113.{n}")).collect();
    for ip in &ips {
        acme.ok("register", &format!("ip={ip}&type=1"));
    }
    receiver.wait_for_accepted(3, WAIT);
    first.child.kill().expect("SIGKILL");
    let _ = first.child.wait();
    let before = receiver.received().len();
    assert!(
        before < ips.len(),
        "all delivered before the kill: nothing to prove"
    );
    let _second = ServeProcess::start(&url, &env);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let accepted: HashSet<String> = receiver
            .received()
            .into_iter()
            .filter(|r| r.accepted())
            .map(|r| r.id)
            .collect();
        if accepted.len() == ips.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {} after the restart",
            accepted.len(),
            ips.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let queued: HashSet<String> = deliveries::list(&mut srv.conn(), 1, None, 100)
        .expect("deliveries")
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    let accepted: HashSet<String> = receiver
        .received()
        .into_iter()
        .filter(|r| r.accepted())
        .map(|r| r.id)
        .collect();
    assert_eq!(accepted, queued, "the same webhook-ids, none invented");
    let order: Vec<String> = receiver
        .received()
        .into_iter()
        .filter(|r| r.accepted())
        .map(|r| {
            r.payload["data"]["ip"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .fold(Vec::new(), |mut seen, ip| {
            if !seen.contains(&ip) {
                seen.push(ip);
            }
            seen
        });
    assert_eq!(order, ips, "first arrivals in order");
}

/// A real-time clock for a reseller calling a separately started `ipls serve`.
fn ipls_clock_now() -> ipls::clock::ManualClock {
    ipls::clock::ManualClock::new(Utc::now())
}

/// Two instances on one Postgres, both delivering: each event arrives once, in order, at
/// each of two endpoints.
#[test]
fn two_instances_deliver_each_event_once() {
    let (Some(one), Some(two)) = (
        Receiver::start(ReceiverOptions::default()),
        Receiver::start(ReceiverOptions::default()),
    ) else {
        return;
    };
    let Some(srv) = server(Kind::Postgres) else {
        return;
    };
    subscribe(&srv, &one, None, "*");
    subscribe(&srv, &two, None, "license.registered,license.removed");
    let second = srv.another_instance();
    let acme = srv.add_reseller("acme", &[1]);
    let mut via_second = acme.clone();
    via_second.addr = second.addr;
    let mut expected = Vec::new();
    for n in 1..=20 {
        let ip = format!("203.0.113.{n}");
        let caller = if n % 2 == 0 { &acme } else { &via_second };
        caller.ok("register", &format!("ip={ip}&type=1"));
        expected.push(("license.registered".to_string(), ip));
    }
    for receiver in [&one, &two] {
        let got = receiver.wait_for_accepted(expected.len(), WAIT);
        std::thread::sleep(Duration::from_millis(300));
        let all = receiver.received();
        assert_eq!(all.len(), expected.len(), "each event once");
        let seen: Vec<(String, String)> = got
            .iter()
            .map(|r| {
                (
                    r.event_type().to_string(),
                    r.payload["data"]["ip"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(seen, expected, "in order");
        assert!(all.iter().all(|r| r.verified));
    }
}

/// `ipls webhook add|list|test|deliveries|retry|remove` as an operator runs them.
#[test]
fn the_webhook_commands() {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    srv.add_reseller("acme", &[1]);
    let ipls = |allow: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ipls"))
            .args(args)
            .env("DATABASE_URL", srv.db.url_text())
            .env("IPLS_MASTER_KEY", crate::common::TEST_MASTER_KEY)
            .env("IPLS_WEBHOOK_ALLOW_PRIVATE", allow)
            .output()
            .expect("run ipls")
    };
    let refused = ipls("false", &["webhook", "add", &receiver.url]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("loopback address"), "{error}");

    let added = ipls(
        "true",
        &[
            "webhook",
            "add",
            &receiver.url,
            "--reseller",
            "acme",
            "--events",
            "license.removed,license.registered",
        ],
    );
    let out = crate::common::process::succeeded(&added);
    assert!(out.contains("added webhook endpoint 1"), "{out}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("signing secret: "))
        .expect("the secret line");
    receiver.set_secret(secret);

    let listed = crate::common::process::succeeded(&ipls("true", &["webhook", "list"]));
    assert!(
        listed.contains("license.registered,license.removed"),
        "{listed}"
    );
    assert!(
        listed.contains("acme") && listed.contains("enabled"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "{listed}");

    let tested = crate::common::process::succeeded(&ipls("true", &["webhook", "test", "1"]));
    assert!(tested.contains("HTTP 200"), "{tested}");
    let got = receiver.wait_for_accepted(1, WAIT);
    assert!(
        got[0].verified && got[0].event_type() == "webhook.test",
        "{got:?}"
    );

    let bad_events = ipls(
        "true",
        &["webhook", "add", &receiver.url, "--events", "license.nope"],
    );
    assert!(String::from_utf8_lossy(&bad_events.stderr).contains("unknown webhook event"));
    let empty = crate::common::process::succeeded(&ipls("true", &["webhook", "deliveries", "1"]));
    assert!(empty.contains("WEBHOOK-ID"), "{empty}");
    let unknown = ipls("true", &["webhook", "retry", "42"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no webhook delivery 42"));
    crate::common::process::succeeded(&ipls("true", &["webhook", "remove", "1"]));
    assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_endpoints"), 0);
}

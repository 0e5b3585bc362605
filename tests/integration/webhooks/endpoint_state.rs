//! Endpoints: disabled by a 410 or a used-up schedule, a reseller's sees only its own
//! events, private targets are refused.

use super::*;

crate::on_both_kinds! {
    fn gone_or_used_up_disables_the_endpoint(kind) {
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
    // Made before the subscriptions: its default key's key.created is not what is counted.
    let acme = srv.add_reseller("acme", &[1]);
    let gone_id = subscribe(&srv, &gone, None, "*");
    let failing_id = subscribe(&srv, &failing, None, "*");
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

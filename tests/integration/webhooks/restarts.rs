//! Processes: the rest is delivered after a SIGKILL and a restart; two instances deliver
//! each event once.

use super::*;

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
    // Made before the subscriptions: its default key's key.created is not what is counted.
    let acme = srv.add_reseller("acme", &[1]);
    subscribe(&srv, &one, None, "*");
    subscribe(&srv, &two, None, "license.registered,license.removed");
    let second = srv.another_instance();
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

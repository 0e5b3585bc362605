//! Delivery: every event signed, once and in order, through a failing receiver; nothing for a
//! change that rolls back.

use super::*;
use crate::common::receiver::Received;

/// The `data.ip` of each received event, in the order they arrived.
fn ips_of(received: &[Received]) -> Vec<&str> {
    received
        .iter()
        .map(|r| r.payload["data"]["ip"].as_str().unwrap_or_default())
        .collect()
}

/// A trigger makes the history insert of one IP fail: its register rolls back after the
/// outbox row was written in the same transaction.
const SQLITE_TRIGGER: &str = "CREATE TRIGGER refuse_one BEFORE INSERT ON license_events \
     WHEN NEW.ip = '203.0.113.66' BEGIN SELECT RAISE(ABORT, 'refused by test'); END;";
const POSTGRES_TRIGGER: &str = "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ \
     BEGIN IF NEW.ip = '203.0.113.66' THEN RAISE EXCEPTION 'refused by test'; END IF; \
     RETURN NEW; END $$ LANGUAGE plpgsql; \
     CREATE TRIGGER refuse_one BEFORE INSERT ON license_events \
     FOR EACH ROW EXECUTE FUNCTION refuse_one();";

crate::on_both_kinds! {
    fn every_event_signed_and_in_order(kind) {
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
    acme.ok("move", "ip=203.0.113.5&new_ip=203.0.113.8");
    let admin = crate::admin_api::token(&srv, "ops", false);
    let path = "/api/admin/v1/licenses/203.0.113.8";
    let body = serde_json::json!({"reseller": "acme", "reason": "unpaid invoice 7", "remove_after": "14d"});
    crate::admin_api::ok(&srv, &admin, "POST", &format!("{path}/suspend"), Some(body));
    let body = serde_json::json!({"reseller": "acme"});
    crate::admin_api::ok(&srv, &admin, "POST", &format!("{path}/resume"), Some(body));
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
    // 28 days on, both servers left have been silent longer than IPLS_STALE_AFTER (24 h) and
    // the trial ends within 3 days: the worker's pass says each once.
    srv.clock.advance(chrono::Duration::days(28));
    receiver.wait_for_accepted(20, WAIT);
    // Then the trial runs out by the server's clock; the worker ends it and reports it. No
    // second license.stale: neither server has checked in since.
    srv.clock.advance(chrono::Duration::days(3));

    let all = receiver.wait_for_accepted(21, WAIT);
    // acme's types 41, 42 and 1 came with their default activation keys (Imunify's, then
    // CloudLinux OS's), and the trial reseller's type 1 with its own.
    let (default_keys, got) = all.split_at(4);
    for (made, (type_id, login)) in default_keys.iter().zip([(41, "acme"), (42, "acme"), (1, "acme"), (1, "trial")]) {
        assert_eq!(made.event_type(), "key.created");
        assert_eq!(made.payload["data"]["type"], type_id);
        assert_eq!(made.payload["data"]["reseller"], login);
        assert_eq!(made.payload["data"]["limit"], 0);
    }
    let types: Vec<&str> = got.iter().map(|r| r.event_type()).collect();
    assert_eq!(
        types,
        [
            "license.registered",
            "license.converted",
            "license.moved",
            "license.suspended",
            "license.resumed",
            "license.registered",
            "license.updated",
            "license.checked_in",
            "license.removed",
            "reseller.blocked",
            "reseller.unblocked",
            "reseller.secret_rotated",
            "license.registered",
            "license.stale",
            "license.stale",
            "trial.expiring",
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
    assert_eq!(got[2].payload["data"]["ip"], "203.0.113.8");
    assert_eq!(got[2].payload["data"]["from_ip"], "203.0.113.5");
    assert_eq!(got[2].payload["data"]["type"], 42);
    assert_eq!(got[3].payload["data"]["reason"], "unpaid invoice 7");
    assert_eq!(got[3].payload["data"]["remove_at"], "2026-12-12T12:00:00Z");
    assert_eq!(got[3].payload["data"]["source"], "admin:ops");
    assert_eq!(got[4].payload["data"]["ip"], "203.0.113.8");
    assert_eq!(got[5].payload["data"]["ip"], "203.0.113.6");
    assert_eq!(got[5].payload["data"]["reseller"], "acme");
    assert_eq!(got[5].payload["data"]["trial"], false);
    assert_eq!(got[6].payload["data"]["els_allowed"], true);
    assert_eq!(got[7].payload["data"]["source"], "203.0.113.6");
    assert_eq!(got[9].payload["data"]["reason"], "unpaid");
    assert_eq!(got[12].payload["data"]["trial"], true);
    assert_eq!(got[13].payload["data"]["ip"], "203.0.113.8");
    assert_eq!(got[13].payload["data"]["last_checkin"], serde_json::Value::Null);
    assert_eq!(got[13].payload["data"]["silent_since"], "2026-11-28T12:00:00Z");
    assert_eq!(got[14].payload["data"]["ip"], "203.0.113.7");
    assert_eq!(got[14].payload["data"]["reseller"], "trial");
    assert_eq!(got[15].payload["data"]["ip"], "203.0.113.7");
    assert_eq!(got[15].payload["data"]["trial_ends"], "2026-12-28T12:00:00Z");
    assert_eq!(got[16].payload["data"]["ip"], "203.0.113.7");
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

    fn a_failing_receiver_gets_each_event_once_in_order(kind) {
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
    assert_eq!(ips_of(&accepted), ips, "in the order of the changes, each once");
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

    fn a_backlog_of_several_batches_drains_once_in_order(kind) {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = server(kind) else {
        return;
    };
    let endpoint = subscribe(&srv, &receiver, None, "license.registered");
    // A lease held by no worker keeps the endpoint from being served while 100 events queue;
    // once it is given back they go out in batches, each read of the queue starting after
    // the last id sent.
    let hold = |until: &str| {
        srv.conn()
            .batch_execute(&format!(
                "UPDATE webhook_endpoints SET lease_owner = 'test', lease_until = {until} \
                 WHERE id = {endpoint}"
            ))
            .expect("lease");
    };
    hold("'2999-01-01 00:00:00'");
    let acme = srv.add_reseller("acme", &[1]);
    let ips: Vec<String> = (0..100).map(|n| format!("198.51.100.{n}")).collect();
    for ip in &ips {
        acme.ok("register", &format!("ip={ip}&type=1"));
    }
    assert!(receiver.received().is_empty(), "nothing is sent while the lease is held");
    hold("NULL");
    let accepted = receiver.wait_for_accepted(ips.len(), WAIT);
    assert_eq!(ips_of(&accepted), ips, "in the order of the changes, each once");
    assert_eq!(receiver.received().len(), ips.len());
    }

    fn a_rolled_back_change_sends_nothing(kind) {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = server(kind) else {
        return;
    };
    // Made before the subscription: its default key's key.created is not what is counted.
    let acme = srv.add_reseller("acme", &[1]);
    subscribe(&srv, &receiver, None, "*");
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
}

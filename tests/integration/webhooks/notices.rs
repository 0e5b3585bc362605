//! `license.stale` once per silence: a server that checks in again and falls silent again is
//! noticed again, one that stays silent is not noticed twice; on both backends, with the
//! delivery worker's two workers racing for the same notices.

use super::*;

crate::on_both_kinds! {
    fn a_silence_is_noticed_once_and_a_new_one_again(kind) {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = server(kind) else {
        return;
    };
    subscribe(&srv, &receiver, None, "license.stale");
    let acme = srv.add_reseller("acme", &[1]);
    acme.ok("register", "ip=203.0.113.1&type=1");
    acme.ok("register", "ip=203.0.113.2&type=1");
    assert!(get_from(srv.addr, "203.0.113.2", "/api/server/checkin.json").json()["success"] == true);
    srv.clock.advance(chrono::Duration::hours(25));
    let first = receiver.wait_for_accepted(2, WAIT);
    let ips: Vec<&str> = first.iter().map(|r| r.payload["data"]["ip"].as_str().unwrap()).collect();
    assert_eq!(ips, ["203.0.113.1", "203.0.113.2"]);
    assert_eq!(first[1].payload["data"]["last_checkin"], "2026-11-28T12:00:00Z");

    // .2 checks in again and falls silent again; .1 stays silent: one more, for .2 only.
    assert!(get_from(srv.addr, "203.0.113.2", "/api/server/checkin.json").json()["success"] == true);
    srv.clock.advance(chrono::Duration::hours(25));
    let all = receiver.wait_for_accepted(3, WAIT);
    assert_eq!(all[2].payload["data"]["ip"], "203.0.113.2");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.received().len(), 3, "nothing noticed twice");
    assert_eq!(srv.count("SELECT count(*) AS n FROM license_notices"), 2);
    }
}

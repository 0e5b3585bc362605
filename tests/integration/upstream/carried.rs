//! What each face's change does at the upstream: a registration is live there before its
//! caller hears success, a refusal there reaches the caller and leaves nothing, removals,
//! ELS changes and converts follow through the outbox, unrouted types stay local.

use std::time::Duration;

use super::{types_of, Chain};
use crate::common::chain::wait_until;
use crate::common::http;
use crate::on_both_kinds;

const SETTLED: Duration = Duration::from_secs(20);

on_both_kinds! {
    fn a_registration_is_live_upstream_before_its_success(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let created = chain.acme.ok("register", "ip=11.0.0.1&type=1");
        assert_eq!(created["ip"], "11.0.0.1");
        // Already at B when A answered: no waiting.
        assert_eq!(types_of(&chain.upstream_types("11.0.0.1")), [1]);
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM ip_licenses WHERE ip = '11.0.0.1' AND relay_state IS NULL"), 1);
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM license_events WHERE ip = '11.0.0.1' AND action = 'register' \
             AND source = '127.0.0.1'"), 1);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.1'"), 1);
        // Idempotent for its owner: the same license, its original date.
        let again = chain.acme.ok("register", "ip=11.0.0.1&type=1");
        assert_eq!(again["created"], created["created"]);
        assert_eq!(chain.acme.ok("check", "ip=11.0.0.1"), serde_json::json!([1]));
        // A type no upstream takes stays here.
        chain.acme.ok("register", "ip=11.0.0.1&type=40");
        assert_eq!(types_of(&chain.upstream_types("11.0.0.1")), [1]);
        assert_eq!(chain.a.holds("11.0.0.1", 40), 1);
        // XML-RPC registers through the relay too.
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>registration.license</methodName><params>\
             <param><value><string>{}</string></value></param>\
             <param><value><string>11.0.0.9</string></value></param>\
             <param><value><int>16</int></value></param></params></methodCall>",
            chain.acme.token()
        );
        let answer = http::request(chain.a.serve.addr, "POST", "/clweb/xmlrpc",
            &[("Content-Type", "text/xml")], body.as_bytes());
        assert!(answer.text().contains("<i4>0</i4>"), "{}", answer.text());
        assert_eq!(types_of(&chain.upstream_types("11.0.0.9")), [16]);
    }

    fn an_upstream_refusal_reaches_the_caller_and_nothing_stays(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let rival = chain.b.add_reseller("rival", &[1]);
        rival.ok("register", "ip=11.0.0.2&type=1");
        let message = chain.acme.refused("register", "ip=11.0.0.2&type=1");
        assert!(message.contains("held by another reseller"), "B's own words: {message}");
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '11.0.0.2'"), 0);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.2'"), 0);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM license_events WHERE ip = '11.0.0.2'"), 0);
        // Local rules refuse before the upstream is asked.
        let local = chain.acme.refused("register", "ip=11.0.0.3&type=2");
        assert!(local.contains("not enabled"), "{local}");
        // A convert between a routed type and a local one is refused, and changes nothing.
        chain.acme.ok("register", "ip=11.0.0.4&type=41");
        let across = chain.acme.refused("convert", "ip=11.0.0.4&type=41&type_to=40");
        assert!(across.contains("carried to upstream") && across.contains("kept here"), "{across}");
        assert_eq!(chain.a.holds("11.0.0.4", 41), 1);
        assert_eq!(types_of(&chain.upstream_types("11.0.0.4")), [41]);
    }

    fn removals_updates_and_converts_follow_through_the_outbox(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        chain.acme.ok("register", "ip=11.0.0.3&type=41");
        assert_eq!(chain.acme.ok("convert", "ip=11.0.0.3&type=41&type_to=42"), true);
        assert_eq!(chain.acme.ok("update", "ip=11.0.0.3&type=42&els_allowed=true"), true);
        wait_until("the convert and update reach B", SETTLED, || {
            chain.b.count("SELECT count(*) AS n FROM ip_licenses WHERE ip = '11.0.0.3' \
                AND type_id = 42 AND els_allowed = true") == 1
        });
        wait_until("nothing waits", SETTLED, || chain.a.pending() == 0);
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.3' AND type_id = 42"), 1);
        // Removed here at once (the reseller stops paying), there soon after.
        assert_eq!(chain.acme.ok("remove", "ip=11.0.0.3"), true);
        assert_eq!(chain.a.holds("11.0.0.3", 42), 0);
        wait_until("the removal reaches B", SETTLED, || {
            types_of(&chain.upstream_types("11.0.0.3")).is_empty()
        });
        wait_until("the claim is dropped", SETTLED, || {
            chain.a.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.3'") == 0
        });
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM upstream_ops WHERE state = 'done' AND ip = '11.0.0.3'"), 3);
        // Register again right after a removal: it goes after the removal, never before.
        chain.acme.ok("register", "ip=11.0.0.4&type=1");
        chain.acme.ok("remove", "ip=11.0.0.4&type=1");
        chain.acme.ok("register", "ip=11.0.0.4&type=1");
        assert_eq!(types_of(&chain.upstream_types("11.0.0.4")), [1]);
        // A convert across the relay's boundary is refused: it would be two changes.
        chain.acme.ok("register", "ip=11.0.0.5&type=41");
        let across = chain.acme.refused("convert", "ip=11.0.0.5&type=41&type_to=40");
        assert!(across.contains("kept here"), "{across}");
    }

    fn moves_suspensions_and_resumes_follow_through_the_outbox(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        chain.acme.ok("register", "ip=11.0.0.6&type=1");
        // A move is a registration of the new IP there and a removal of the old one.
        chain.acme.ok("move", "ip=11.0.0.6&new_ip=11.0.0.7");
        wait_until("the move reaches B", SETTLED, || {
            types_of(&chain.upstream_types("11.0.0.7")) == [1]
                && types_of(&chain.upstream_types("11.0.0.6")).is_empty()
        });
        wait_until("nothing waits", SETTLED, || chain.a.pending() == 0);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.7'"), 1);
        assert_eq!(chain.a.count("SELECT count(*) AS n FROM upstream_claims WHERE ip = '11.0.0.6'"), 0);
        // Suspended: removed there (the partner stops paying), kept here.
        let out = chain.a.cli(&["license", "suspend", "--reseller", "acme", "--ip", "11.0.0.7", "--reason", "unpaid"]);
        assert!(out.status.success(), "{out:?}");
        wait_until("the suspension reaches B", SETTLED, || {
            types_of(&chain.upstream_types("11.0.0.7")).is_empty()
        });
        assert_eq!(chain.a.holds("11.0.0.7", 1), 1);
        // Resumed: registered there again.
        let out = chain.a.cli(&["license", "resume", "--reseller", "acme", "--ip", "11.0.0.7"]);
        assert!(out.status.success(), "{out:?}");
        wait_until("the resume reaches B", SETTLED, || {
            types_of(&chain.upstream_types("11.0.0.7")) == [1]
        });
        wait_until("nothing waits", SETTLED, || chain.a.pending() == 0);
    }
}

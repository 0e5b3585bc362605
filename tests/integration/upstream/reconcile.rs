//! `ipls upstream reconcile`: every kind of difference found and counted, repairs only of
//! what is ipls's (with history), foreign licenses left alone until adopted, the servers'
//! check-ins brought over, the exit status and the summary line for cron, the metrics; and
//! the same on a schedule inside `ipls serve`.

use std::time::Duration;

use super::{types_of, Chain};
use crate::common::chain::wait_until;
use crate::common::{get_from, http};
use crate::on_both_kinds;

fn last_line(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// One license of each kind of difference, and one that matches (checked in at B).
fn make_differences(chain: &Chain) {
    for (ip, t) in [
        ("11.1.0.1", 1),
        ("11.1.0.2", 1),
        ("11.1.0.3", 16),
        ("11.1.0.4", 41),
    ] {
        chain.acme.ok("register", &format!("ip={ip}&type={t}"));
    }
    let a = || ipls::db::establish(&chain.a.db.url).unwrap();
    let run = |sql: &str| {
        use diesel::connection::SimpleConnection;
        match a() {
            ipls::db::DbConnection::Postgresql(mut c) => c.batch_execute(sql).unwrap(),
            ipls::db::DbConnection::Sqlite(mut c) => c.batch_execute(sql).unwrap(),
        }
    };
    // Lost here, still held (and claimed) there: money lost.
    run("DELETE FROM ip_licenses WHERE ip = '11.1.0.2'");
    // Removed there by hand: a server that is not licensed.
    chain.partner.ok("remove", "ip=11.1.0.3");
    // Changed here behind the relay's back: the type differs.
    run("UPDATE ip_licenses SET type_id = 42 WHERE ip = '11.1.0.4'");
    // Held there, never through ipls: foreign.
    chain.partner.ok("register", "ip=11.1.0.5&type=1");
    // The matching one's server checks in with B.
    let checkin = get_from(
        chain.b.serve.addr,
        "11.1.0.1",
        "/api/server/checkin.json?server_info=web-one",
    );
    assert!(
        checkin.text().contains("\"success\":true"),
        "{}",
        checkin.text()
    );
}

on_both_kinds! {
    fn every_difference_is_found_and_only_iplss_are_repaired(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        make_differences(&chain);

        let report = chain.a.cli(&["upstream", "reconcile", "cln"]);
        assert_eq!(report.status.code(), Some(3), "differences remain: exit 3");
        let text = String::from_utf8_lossy(&report.stdout).to_string();
        for row in ["upstream-only  11.1.0.2", "local-only     11.1.0.3", "type-differs   11.1.0.4",
                    "foreign        11.1.0.5"] {
            assert!(text.contains(row), "{row:?} in:\n{text}");
        }
        assert_eq!(
            last_line(&report.stdout),
            "upstream cln: upstream-only 1, foreign 1, local-only 1, type-differs 1, in-flight 0, \
             matching 1, repaired 0, adopted 0; remaining 4; check-ins updated 1"
        );
        assert!(report.stderr.is_empty(), "the summary says it all: {}", String::from_utf8_lossy(&report.stderr));
        // The check-in at B is shown by A.
        let rows = chain.acme.ok("server", "ip=11.1.0.1");
        assert_eq!(rows[0]["server_info"], "web-one");
        assert_eq!(rows[0]["registered"], true);
        // Any instance's metrics say what the last reconcile found.
        wait_until("the gauges are read", Duration::from_secs(10), || {
            http::request(chain.a.serve.addr, "GET", "/metrics", &[], b"").text()
                .contains("ipls_upstream_differences{upstream=\"cln\",kind=\"foreign\"} 1")
        });

        let repaired = chain.a.cli(&["upstream", "reconcile", "cln", "--repair"]);
        assert_eq!(repaired.status.code(), Some(3), "the foreign one remains");
        let text = String::from_utf8_lossy(&repaired.stdout).to_string();
        assert!(text.contains("remove type 1 at upstream cln"), "{text}");
        assert!(text.contains("register type 16 at upstream cln"), "{text}");
        assert!(text.contains("replace type 41 with type 42 at upstream cln"), "{text}");
        assert!(text.contains("reported"), "{text}");
        assert!(last_line(&repaired.stdout).contains("repaired 3, adopted 0; remaining 1"), "{text}");
        assert!(types_of(&chain.upstream_types("11.1.0.2")).is_empty());
        assert_eq!(types_of(&chain.upstream_types("11.1.0.3")), [16]);
        assert_eq!(types_of(&chain.upstream_types("11.1.0.4")), [42]);
        assert_eq!(types_of(&chain.upstream_types("11.1.0.5")), [1], "foreign: left alone");
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM license_events WHERE action = 'upstream_repair' AND source = 'cli'"), 3);

        let adopted = chain.a.cli(&["upstream", "reconcile", "cln", "--adopt", "acme", "--format", "json"]);
        assert_eq!(adopted.status.code(), Some(0), "{}", String::from_utf8_lossy(&adopted.stderr));
        let rows: serde_json::Value = serde_json::from_slice(&adopted.stdout).expect("one JSON document");
        assert_eq!(rows[0]["kind"], "foreign");
        assert_eq!(rows[0]["action"], "adopted");
        assert!(last_line(&adopted.stderr).contains("adopted 1; remaining 0"));
        assert_eq!(chain.acme.ok("check", "ip=11.1.0.5"), serde_json::json!([1]));
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM license_events WHERE ip = '11.1.0.5' AND action = 'register' \
             AND detail = 'adopted from upstream cln' AND source = 'cli'"), 1);

        let clean = chain.a.cli(&["upstream", "reconcile", "cln"]);
        assert_eq!(clean.status.code(), Some(0));
        assert!(last_line(&clean.stdout).starts_with(
            "upstream cln: upstream-only 0, foreign 0, local-only 0, type-differs 0, in-flight 0, matching 4"));
    }

    fn the_schedule_repairs_and_brings_check_ins(kind) {
        let Some(chain) = Chain::start_with(kind, &[("IPLS_UPSTREAM_RECONCILE_SECS", "1")]) else {
            return;
        };
        chain.acme.ok("register", "ip=11.2.0.1&type=16");
        chain.partner.ok("remove", "ip=11.2.0.1");
        wait_until("the schedule registers it again at B", Duration::from_secs(30), || {
            types_of(&chain.upstream_types("11.2.0.1")) == [16]
        });
        assert_eq!(chain.a.count(
            "SELECT count(*) AS n FROM license_events WHERE action = 'upstream_repair' \
             AND source = 'upstream:cln' AND ip = '11.2.0.1'"), 1);
        get_from(chain.b.serve.addr, "11.2.0.1", "/api/server/checkin.json?server_info=from-b");
        wait_until("the check-in reaches A", Duration::from_secs(30), || {
            chain.acme.ok("server", "ip=11.2.0.1")[0]["server_info"] == "from-b"
        });
    }
}

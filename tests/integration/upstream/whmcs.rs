//! The official WHMCS module's actions (docs/whmcs.md §4) through ipls A relaying to ipls B:
//! each call as the module makes it (GET, parameters then a percent-encoded token), and what
//! B holds after each action.

use std::time::Duration;

use super::{types_of, Chain};
use crate::common::chain::wait_until;
use crate::common::{http, Reseller};
use crate::on_both_kinds;

/// A call as the module makes it; `data`, after the module's own check (`success === true`).
fn module(reseller: &Reseller, endpoint: &str, params: &str) -> serde_json::Value {
    let token = reseller.token().replace('|', "%7C");
    let target = format!("/api/ipl/{endpoint}.json?{params}&token={token}");
    let answer = http::request(reseller.addr, "GET", &target, &[], b"").json();
    assert_eq!(answer["success"], true, "{endpoint}?{params}: {answer}");
    answer["data"].clone()
}

fn create(reseller: &Reseller, ip: &str, type_id: i64) {
    let held = module(reseller, "check", &format!("ip={ip}"));
    assert!(
        !types_of_list(&held).contains(&type_id),
        "License already exists for IP Address"
    );
    module(reseller, "register", &format!("ip={ip}&type={type_id}"));
}

fn types_of_list(value: &serde_json::Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
        .unwrap_or_default()
}

const CARRIED: Duration = Duration::from_secs(20);

on_both_kinds! {
    fn the_modules_actions_reach_the_upstream(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let acme = &chain.acme;
        // Create.
        create(acme, "11.3.0.1", 1);
        assert_eq!(types_of(&chain.upstream_types("11.3.0.1")), [1]);
        // License Details: list.json finds the row by ip and type, then server.json.
        let list = module(acme, "list", "");
        let row = list.as_array().unwrap().iter()
            .find(|r| r["ip"] == "11.3.0.1" && r["type"] == 1).expect("the module's row");
        assert_eq!(row["registered"], false);
        let server = module(acme, "server", "ip=11.3.0.1");
        assert_eq!(server[0]["type"], 1);
        // Suspend, then Unsuspend.
        assert_eq!(module(acme, "remove", "ip=11.3.0.1&type=1"), true);
        wait_until("the suspension reaches B", CARRIED, || {
            types_of(&chain.upstream_types("11.3.0.1")).is_empty()
        });
        create(acme, "11.3.0.1", 1);
        assert_eq!(types_of(&chain.upstream_types("11.3.0.1")), [1]);
        // Change IP Address: check OLD, remove OLD, register NEW.
        module(acme, "check", "ip=11.3.0.1");
        module(acme, "remove", "ip=11.3.0.1&type=1");
        module(acme, "register", "ip=11.3.0.2&type=1");
        assert_eq!(types_of(&chain.upstream_types("11.3.0.2")), [1]);
        wait_until("the old address is released at B", CARRIED, || {
            types_of(&chain.upstream_types("11.3.0.1")).is_empty()
        });
        // Terminate, twice (the second finds nothing, and is still success).
        assert_eq!(module(acme, "remove", "ip=11.3.0.2&type=1"), true);
        assert_eq!(module(acme, "remove", "ip=11.3.0.2&type=1"), false);
        wait_until("the termination reaches B", CARRIED, || {
            types_of(&chain.upstream_types("11.3.0.2")).is_empty()
        });
        wait_until("nothing waits at A", CARRIED, || chain.a.pending() == 0);
    }
}

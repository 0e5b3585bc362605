//! What must hold after a fault, read from the database itself:
//! - every acknowledged write is there (and every acknowledged remove is gone): the state of
//!   each IP is one its answered calls allow, unanswered calls may have gone either way;
//! - the licenses table equals the replay of the history, with one owner per (IP, type)
//!   and per exclusive family slot;
//! - every call was answered in time, with a definite answer or the 503 envelope.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use ipls::db::schema::{ip_licenses, license_events, resellers};
use ipls::db::DbConnection;
use serde_json::Value;

use crate::load::{Action, Answer, Outcome};

/// The type a login holds on an IP, if any.
type Held = Option<i32>;

fn apply(action: Action, state: Held) -> Held {
    match (action, state) {
        (Action::Register(t), None) => Some(t),
        (Action::Register(_), held) => held,
        (Action::Remove, _) => None,
        (Action::Convert(from, to), Some(held)) if held == from => Some(to),
        (Action::Convert(..), held) => held,
        (Action::Check, held) => held,
    }
}

/// The states an IP may be in after its calls, oldest first.
fn possible(calls: &[&Outcome]) -> BTreeSet<Held> {
    let mut states = BTreeSet::from([None]);
    for call in calls {
        states = match (&call.answer, call.action) {
            (Answer::Done(_), Action::Register(t)) => BTreeSet::from([Some(t)]),
            (Answer::Done(_), Action::Remove) => BTreeSet::from([None]),
            (Answer::Done(Value::Bool(true)), Action::Convert(_, to)) => BTreeSet::from([Some(to)]),
            // A definite "no" changed nothing.
            (Answer::Done(_) | Answer::Refused(_), _) => states,
            // Unacknowledged: it may have happened or not.
            _ => states
                .iter()
                .flat_map(|s| [*s, apply(call.action, *s)])
                .collect(),
        };
    }
    states
}

pub struct Verdict {
    /// IPs whose state no answered call allows: acknowledged writes lost (or invented).
    pub lost: Vec<String>,
    /// Unacknowledged calls whose IP shows their effect / shows none.
    pub unacknowledged_applied: usize,
    pub unacknowledged_not_applied: usize,
}

/// Checks every IP the load touched against the database.
pub fn acknowledged_writes(conn: &mut DbConnection, outcomes: &[Outcome]) -> Verdict {
    let held: BTreeMap<(String, String), i32> = ip_licenses::table
        .inner_join(resellers::table)
        .select((resellers::login, ip_licenses::ip, ip_licenses::type_id))
        .load::<(String, String, i32)>(conn)
        .unwrap()
        .into_iter()
        .map(|(login, ip, t)| ((login, ip), t))
        .collect();
    let mut by_ip: BTreeMap<(String, String), Vec<&Outcome>> = BTreeMap::new();
    // Reads change nothing: only writes say what an IP must hold.
    for o in outcomes
        .iter()
        .filter(|o| !matches!(o.action, Action::Check))
    {
        by_ip
            .entry((o.login.to_string(), o.ip.clone()))
            .or_default()
            .push(o);
    }
    let mut verdict = Verdict {
        lost: Vec::new(),
        unacknowledged_applied: 0,
        unacknowledged_not_applied: 0,
    };
    for (key, mut calls) in by_ip {
        calls.sort_by_key(|o| o.seq);
        let actual = held.get(&key).copied();
        if !possible(&calls).contains(&actual) {
            verdict
                .lost
                .push(format!("{} on {}: holds {actual:?}", key.0, key.1));
        }
        // Which way did a trailing unacknowledged call go?
        if let Some(last) = calls.last().filter(|o| !o.answer.acknowledged()) {
            let before = possible(&calls[..calls.len() - 1]);
            if before.contains(&actual) && apply(last.action, actual) == actual {
                verdict.unacknowledged_not_applied += 1;
            } else {
                verdict.unacknowledged_applied += 1;
            }
        }
    }
    verdict
}

/// The licenses table equals the replay of the history, and nothing has two owners.
pub fn table_matches_history(conn: &mut DbConnection) {
    type Event = (Option<i64>, String, String, Option<i32>, Option<String>);
    let events: Vec<Event> = license_events::table
        .order(license_events::id)
        .select((
            license_events::reseller_id,
            license_events::action,
            license_events::ip,
            license_events::type_id,
            license_events::detail,
        ))
        .load(conn)
        .unwrap();
    let mut replayed: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for (reseller, action, ip, type_id, detail) in events {
        let (Some(reseller), Some(type_id)) = (reseller, type_id) else {
            continue;
        };
        match action.as_str() {
            "register" => {
                let before = replayed.insert((ip.clone(), type_id), reseller);
                assert!(before.is_none(), "{ip} type {type_id} registered twice");
            }
            "remove" | "expire" => {
                assert!(
                    replayed.remove(&(ip.clone(), type_id)).is_some(),
                    "{action} of {ip} {type_id} not held"
                );
            }
            "convert" => {
                let from: i32 = detail
                    .as_deref()
                    .and_then(|d| d.strip_prefix("from="))
                    .and_then(|n| n.parse().ok())
                    .expect("convert names its source type");
                assert!(
                    replayed.remove(&(ip.clone(), from)).is_some(),
                    "convert of {ip} from {from} not held"
                );
                replayed.insert((ip, type_id), reseller);
            }
            _ => {}
        }
    }
    let table: BTreeMap<(String, i32), i64> = ip_licenses::table
        .select((
            ip_licenses::ip,
            ip_licenses::type_id,
            ip_licenses::reseller_id,
        ))
        .load::<(String, i32, i64)>(conn)
        .unwrap()
        .into_iter()
        .map(|(ip, t, r)| ((ip, t), r))
        .collect();
    assert_eq!(
        table, replayed,
        "the licenses table is the replay of its history"
    );
    let slots: Vec<(String, String)> = ip_licenses::table
        .select((ip_licenses::ip, ip_licenses::slot))
        .load(conn)
        .unwrap();
    let distinct: BTreeSet<&(String, String)> = slots.iter().collect();
    assert_eq!(
        distinct.len(),
        slots.len(),
        "one owner per exclusive family slot"
    );
}

/// Calls overlapping [from, to): what the fault met.
pub fn during(outcomes: &[Outcome], from: Instant, to: Instant) -> Vec<&Outcome> {
    outcomes
        .iter()
        .filter(|o| o.finished >= from && o.started < to)
        .collect()
}

/// Every call answered within `bound`, and with a definite answer or the 503 envelope;
/// `silence_allowed` admits calls without an HTTP answer (the server process was gone).
pub fn answered_in_time(outcomes: &[Outcome], bound: Duration, silence_allowed: bool) {
    for o in outcomes {
        match &o.answer {
            Answer::Done(_) | Answer::Refused(_) | Answer::Unavailable => {}
            Answer::Silence(_) if silence_allowed => {}
            other => panic!("{} {:?} on {}: {other:?}", o.login, o.action, o.ip),
        }
        if !matches!(o.answer, Answer::Silence(_)) {
            assert!(
                o.took() <= bound,
                "{:?} took {:?} (bound {bound:?})",
                o,
                o.took()
            );
        }
    }
}

/// One row of the figures in docs/security.md.
pub struct Figures<'a> {
    pub fault: &'a str,
    pub outcomes: &'a [Outcome],
    pub fault_started: Instant,
    pub fault_ended: Instant,
    pub lost: usize,
}

impl Figures<'_> {
    /// Prints the row and appends it to `target/fault-figures.md` for the CI log.
    pub fn report(&self) {
        let met = during(self.outcomes, self.fault_started, self.fault_ended);
        let unavailable = met
            .iter()
            .filter(|o| o.answer == Answer::Unavailable)
            .count();
        let silence = met
            .iter()
            .filter(|o| matches!(o.answer, Answer::Silence(_)))
            .count();
        let slowest = met
            .iter()
            .filter(|o| !matches!(o.answer, Answer::Silence(_)))
            .map(|o| o.took())
            .max()
            .unwrap_or_default();
        let recovery = self
            .outcomes
            .iter()
            .filter(|o| o.started >= self.fault_ended && matches!(o.answer, Answer::Done(_)))
            .map(|o| o.finished - self.fault_ended)
            .min();
        let row = format!(
            "| {} | {} | {} | {} | {} ms | {} | {} |",
            self.fault,
            met.len(),
            unavailable,
            silence,
            slowest.as_millis(),
            self.lost,
            recovery.map_or("none".to_string(), |d| format!("{} ms", d.as_millis())),
        );
        println!("{row}");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/fault-figures.md");
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            use std::io::Write;
            let _ = writeln!(file, "{row}");
        }
    }
}

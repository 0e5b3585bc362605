//! One reconcile of one upstream (`ipls upstream reconcile`, the admin API, and the schedule
//! inside `ipls serve`): the local ledger read, the upstream's list.json fetched, the ledger
//! read again, the two compared (`domain::upstream::reconcile`), differences repaired as
//! asked, and the servers' check-ins brought over from server.json.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

use super::client::CallError;
use super::cln::{cln_date, ListRow, ServerRow, SERVER_BATCH};
use super::settings::Relay;
use crate::db;
use crate::db::models::Upstream;
use crate::domain::actor::Source;
use crate::domain::ip::LicenseIp;
use crate::domain::resellers;
use crate::domain::upstream::checkins::{self, Seen};
use crate::domain::upstream::reconcile::{
    compare, prune_claim, repair, snapshot, Counts, Difference, Kind, Repair, Snapshot,
};
use crate::domain::upstream::upstreams;
use crate::error::DomainError;

/// list.json of a large account is megabytes: it gets longer than one call's bound.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(300);

/// What to do besides comparing.
#[derive(Debug, Clone)]
pub struct Options {
    /// Repair the differences that are ipls's.
    pub repair: bool,
    /// Take foreign licenses in under this local reseller.
    pub adopt_into: Option<String>,
    /// Who reconciles (the repairs' history source).
    pub source: Source,
    /// Bring the servers' check-ins over.
    pub checkins: bool,
}

/// What one reconcile found and did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub differences: Vec<(Difference, Option<Repair>)>,
    pub counts: Counts,
    /// Local licenses whose check-in data changed.
    pub checkins: usize,
}

fn unavailable(e: CallError) -> DomainError {
    match e {
        CallError::Refused(m) => DomainError::refused(format!("the upstream refused: {m}")),
        other => DomainError::upstream_unavailable(other.text()),
    }
}

/// The upstream's licenses of the types carried to it, by canonical IP.
async fn fetch_list(
    relay: &Relay,
    upstream: &Upstream,
    secret: &str,
    routed: &Snapshot,
) -> Result<HashMap<String, BTreeSet<i32>>, DomainError> {
    let answer = relay
        .client
        .call(upstream, secret, "list", &[], LIST_TIMEOUT)
        .await;
    relay.metrics.call(&upstream.name, &answer);
    let rows: Vec<ListRow> = serde_json::from_value(answer.map_err(unavailable)?)
        .map_err(|e| DomainError::upstream_unavailable(format!("list.json rows: {e}")))?;
    let mut held: HashMap<String, BTreeSet<i32>> = HashMap::new();
    for row in rows {
        let Some(ip) = LicenseIp::parse(&row.ip) else {
            continue;
        };
        if routed.routed.contains_key(&row.type_id) {
            held.entry(ip.to_string()).or_default().insert(row.type_id);
        }
    }
    Ok(held)
}

pub async fn run(
    relay: &Relay,
    upstream: &Upstream,
    options: &Options,
) -> Result<Outcome, DomainError> {
    let secret = upstreams::clear_secret(upstream, &relay.secrets)?;
    let id = upstream.id;
    let adopt_into = match options.adopt_into.clone() {
        Some(login) => Some(db::run(&relay.pool, move |c| resellers::get(c, &login)).await?),
        None => None,
    };
    let before = db::run(&relay.pool, move |c| snapshot(c, id)).await?;
    let held = fetch_list(relay, upstream, &secret, &before).await?;
    let after = db::run(&relay.pool, move |c| snapshot(c, id)).await?;
    let comparison = compare(&held, &before, &after);
    let mut outcome = Outcome::default();
    outcome.counts.matching = comparison.matching;
    outcome.counts.in_flight = comparison.in_flight;
    let source = options.source.to_string();
    for difference in comparison.differences {
        outcome.counts.add(difference.kind);
        let wanted = match difference.kind {
            Kind::Foreign => adopt_into.is_some(),
            _ => options.repair,
        };
        let done = if wanted {
            let (u, d, a, s) = (
                upstream.clone(),
                difference.clone(),
                adopt_into.clone(),
                source.clone(),
            );
            let now = relay.clock.now().naive_utc();
            let done =
                db::run(&relay.pool, move |c| repair(c, &u, &d, a.as_ref(), &s, now)).await?;
            match done {
                Repair::Queued(_) => outcome.counts.repaired += 1,
                Repair::Adopted => outcome.counts.adopted += 1,
                Repair::LeftAlone(_) => {}
            }
            Some(done)
        } else {
            None
        };
        outcome.differences.push((difference, done));
    }
    for (ip, type_id) in comparison.stale_claims {
        db::run(&relay.pool, move |c| prune_claim(c, id, &ip, type_id)).await?;
    }
    if options.checkins {
        outcome.checkins = bring_checkins(relay, upstream, &secret, &held, &after).await?;
    }
    let counts = serde_json::to_string(&outcome.counts).unwrap_or_default();
    let now = relay.clock.now().naive_utc();
    db::run(&relay.pool, move |c| {
        upstreams::reconciled(c, id, now, &counts)
    })
    .await?;
    Ok(outcome)
}

/// server.json for every IP both sides hold, a batch of 100 per call at the upstream's rate;
/// returns how many local licenses changed.
async fn bring_checkins(
    relay: &Relay,
    upstream: &Upstream,
    secret: &str,
    held: &HashMap<String, BTreeSet<i32>>,
    local: &Snapshot,
) -> Result<usize, DomainError> {
    let mut ips: Vec<&String> = held
        .keys()
        .filter(|ip| {
            local
                .licenses
                .get(*ip)
                .is_some_and(|rows| rows.iter().any(|r| r.relay_state.is_none()))
        })
        .collect();
    ips.sort();
    let mut changed = 0;
    for batch in ips.chunks(SERVER_BATCH) {
        let joined = batch
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let answer = relay
            .client
            .call(
                upstream,
                secret,
                "server",
                &[("ip", joined)],
                relay.settings.call_timeout,
            )
            .await;
        relay.metrics.call(&upstream.name, &answer);
        let rows: Vec<ServerRow> = match answer.map(serde_json::from_value::<Vec<ServerRow>>) {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                return Err(DomainError::upstream_unavailable(format!(
                    "server.json rows: {e}"
                )))
            }
            Err(e) => return Err(unavailable(e)),
        };
        let seen: Vec<Seen> = rows.into_iter().filter_map(seen_of).collect();
        changed += db::run(&relay.pool, move |c| checkins::apply(c, &seen)).await?;
    }
    Ok(changed)
}

fn seen_of(row: ServerRow) -> Option<Seen> {
    Some(Seen {
        ip: LicenseIp::parse(&row.ip)?.to_string(),
        type_id: row.type_id,
        registered: row.registered,
        last_checkin: row.last_checkin.as_deref().and_then(cln_date),
        server_info: row.server_info,
    })
}

/// What the upstream holds now on `ips` (at most 100), by its server.json: the worker settles
/// left-behind intents by it.
pub async fn holds(
    relay: &Relay,
    upstream: &Upstream,
    ips: &[String],
) -> Result<HashMap<String, BTreeSet<i32>>, CallError> {
    let secret = upstreams::clear_secret(upstream, &relay.secrets)
        .map_err(|e| CallError::NotSent(e.to_string()))?;
    let answer = relay
        .client
        .call(
            upstream,
            &secret,
            "server",
            &[("ip", ips.join(","))],
            relay.settings.call_timeout,
        )
        .await;
    relay.metrics.call(&upstream.name, &answer);
    let rows: Vec<ServerRow> = serde_json::from_value(answer?)
        .map_err(|e| CallError::NoAnswer(format!("server.json rows: {e}")))?;
    let mut held: HashMap<String, BTreeSet<i32>> = HashMap::new();
    for row in rows {
        if let Some(ip) = LicenseIp::parse(&row.ip) {
            held.entry(ip.to_string()).or_default().insert(row.type_id);
        }
    }
    Ok(held)
}

/// Reads a stored counts column back.
pub fn stored_counts(text: Option<&str>) -> Option<Counts> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| serde_json::from_value(v).ok())
}

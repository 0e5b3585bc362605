//! `ipls upstream test` (and the admin API's and console's test): one list.json call with the
//! upstream's credentials, and what it found there.

use std::collections::BTreeMap;

use super::client::CallError;
use super::cln::ListRow;
use super::settings::Relay;
use crate::db::models::Upstream;
use crate::domain::upstream::upstreams;
use crate::error::DomainError;

/// What the upstream holds for ipls's account.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Found {
    pub total: usize,
    /// Licenses per type.
    pub by_type: BTreeMap<i32, usize>,
}

impl Found {
    /// `type 1: 10, type 16: 2`, or `none`.
    pub fn by_type_text(&self) -> String {
        if self.by_type.is_empty() {
            return "none".into();
        }
        let parts: Vec<String> = self
            .by_type
            .iter()
            .map(|(t, n)| format!("type {t}: {n}"))
            .collect();
        parts.join(", ")
    }
}

pub async fn probe(relay: &Relay, upstream: &Upstream) -> Result<Found, DomainError> {
    let secret = upstreams::clear_secret(upstream, &relay.secrets)?;
    let answer = relay
        .client
        .call(
            upstream,
            &secret,
            "list",
            &[],
            super::reconcile::LIST_TIMEOUT,
        )
        .await;
    relay.metrics.call(&upstream.name, &answer);
    let data = answer.map_err(|e| match e {
        CallError::Refused(m) => DomainError::refused(format!(
            "upstream {} refused ipls's credentials or the call: {m}",
            upstream.name
        )),
        other => DomainError::upstream_unavailable(other.text()),
    })?;
    let rows: Vec<ListRow> = serde_json::from_value(data).map_err(|e| {
        DomainError::upstream_unavailable(format!("list.json is not a list of licenses: {e}"))
    })?;
    let mut found = Found {
        total: rows.len(),
        ..Found::default()
    };
    for row in rows {
        *found.by_type.entry(row.type_id).or_default() += 1;
    }
    Ok(found)
}

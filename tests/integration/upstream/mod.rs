//! The relay to upstreams, through chains of real `ipls serve` processes: a client calls ipls
//! A, whose routed types are carried to ipls B playing CLN (docs/upstream.md).

mod admin;
mod carried;
mod cli;
mod reconcile;
mod whmcs;

use crate::common::chain::Node;
use crate::common::{Kind, Reseller};

/// A partner's setup: B (playing CLN) holds the partner's account `partner`; A carries types
/// 1, 16, 41 and 42 there, and serves its reseller `acme` (1, 16, 41, 42 and the local 40).
pub struct Chain {
    pub a: Node,
    pub b: Node,
    /// acme's client, calling A.
    pub acme: Reseller,
    /// The partner's own client, calling B directly (what the partner sees at CLN).
    pub partner: Reseller,
}

impl Chain {
    pub fn start(kind: Kind) -> Option<Self> {
        Self::start_with(kind, &[])
    }

    pub fn start_with(kind: Kind, a_env: &[(&str, &str)]) -> Option<Self> {
        // B believes a proxy on loopback, so that a test can check a server in from any
        // address (X-Forwarded-For).
        let b = Node::start(kind, &[("IPLS_TRUSTED_PROXIES", "127.0.0.1")])?;
        let a = Node::start(kind, a_env)?;
        let partner = b.add_reseller("partner", &[1, 16, 40, 41, 42]);
        a.add_upstream("cln", &b, "partner", "1,16,41,42");
        let acme = a.add_reseller("acme", &[1, 16, 40, 41, 42]);
        Some(Self {
            a,
            b,
            acme,
            partner,
        })
    }

    /// The types B holds for the partner on `ip`.
    pub fn upstream_types(&self, ip: &str) -> serde_json::Value {
        self.partner.ok("server", &format!("ip={ip}"))
    }
}

/// The types in server.json rows.
pub fn types_of(rows: &serde_json::Value) -> Vec<i64> {
    let mut types: Vec<i64> = rows
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["type"].as_i64()).collect())
        .unwrap_or_default();
    types.sort_unstable();
    types
}

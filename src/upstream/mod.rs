//! The relay to upstreams (docs/upstream.md): licenses of the types an operator routes to CLN
//! (or any CLN-compatible API, another ipls included) are carried there. A registration asks
//! the upstream before it answers (`relay`); removals, ELS changes and converts are carried
//! from the outbox by the worker (`worker`, `carry`); `reconcile` compares both sides,
//! repairs what is ipls's and brings the servers' check-ins over. The rules and records are
//! `domain::upstream`'s; this layer makes the calls.

pub mod carry;
pub mod client;
pub mod cln;
pub mod metrics;
pub mod probe;
pub mod reconcile;
pub mod relay;
pub mod settings;
pub mod source;
pub mod source_key_products;
pub mod worker;

pub use settings::{Relay, RelaySettings};

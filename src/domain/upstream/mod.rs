//! The relay's rules and records (docs/upstream.md): upstreams and which types they take
//! (`upstreams`), the outbox of changes to carry to them (`ops`), what ipls may hold at each
//! (`claims`), and a routed registration's intent, which holds its IP while the upstream is
//! asked (`intents`). The HTTP side is `crate::upstream`.

pub mod checkins;
pub mod claims;
pub mod intents;
pub mod ops;
pub mod reconcile;
pub mod upstreams;

pub use upstreams::route_of;

/// A routed license's states (`ip_licenses.relay_state`); settled licenses have none.
pub const REGISTERING: &str = "registering";
pub const WITHDRAWING: &str = "withdrawing";

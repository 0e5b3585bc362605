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

/// Where a license stands with its upstream, when it is not simply in step with it (or local).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayStatus {
    /// The upstream is being asked to register it (it holds its IP already).
    Registering,
    /// An unanswered registration is being withdrawn there.
    Withdrawing,
    /// A change to it is waiting to be carried there ("pending upstream").
    Pending,
}

impl RelayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayStatus::Registering => REGISTERING,
            RelayStatus::Withdrawing => WITHDRAWING,
            RelayStatus::Pending => "pending",
        }
    }

    /// `pending`: the (ip, type) pairs with a change waiting (`ops::pending_among`).
    pub fn of(
        license: &crate::db::models::License,
        pending: &std::collections::HashSet<(String, i32)>,
    ) -> Option<Self> {
        match license.relay_state.as_deref() {
            Some(REGISTERING) => Some(RelayStatus::Registering),
            Some(_) => Some(RelayStatus::Withdrawing),
            None if pending.contains(&(license.ip.clone(), license.type_id)) => {
                Some(RelayStatus::Pending)
            }
            None => None,
        }
    }
}

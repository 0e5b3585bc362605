//! Webhooks in the domain: which events exist, the outbox rows written inside the change's
//! own transaction, the endpoints that receive them and the state of each delivery. Sending
//! is the delivery worker's (`crate::webhooks`).

pub mod deliveries;
pub mod endpoints;
pub mod event_types;
pub mod outbox;

pub use event_types::{EventType, Subscription};

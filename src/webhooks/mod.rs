//! Sending webhooks: Standard Webhooks signatures, safe targets, the HTTP sender, the retry
//! schedule and the delivery worker `ipls serve` runs. What is sent, and when it was
//! queued, is the domain's (`crate::domain::webhooks`).

pub mod ping;
pub mod schedule;
pub mod sender;
pub mod settings;
pub mod signature;
pub mod subscribe;
pub mod target;
pub mod worker;

//! Sending webhooks: Standard Webhooks signatures, safe targets, the HTTP sender and the
//! delivery worker `ipls serve` runs (its retry schedule is `crate::retry_schedule`). What is sent, and when it was
//! queued, is the domain's (`crate::domain::webhooks`).

pub mod ping;
pub mod sender;
pub mod settings;
pub mod signature;
pub mod subscribe;
pub mod target;
pub mod worker;

//! What an operator watches: Prometheus metrics and one access-log line per request.

pub mod access;
pub mod metrics;

//! What an operator watches: Prometheus metrics and one access-log line per request, with
//! credentials redacted.

pub mod access;
pub mod metrics;
pub mod redact;

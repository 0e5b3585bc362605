//! Fault injection under time-bounded load (issue "Fault injection that proves something"):
//! each test keeps clients writing through one fault and then checks, from the database,
//! that nothing acknowledged was lost, nothing is half-done, and every call was answered in
//! time. The tests run one at a time (they measure time and share two cores).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "../common/mod.rs"]
mod common;

mod invariants;
mod load;
mod proxy;
mod setup;

mod connection_cuts;
mod failover;
mod postgres_outage;
mod relay;
mod row_lock;
mod sigkill;
mod sqlite_readonly;

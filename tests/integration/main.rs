//! Integration tests: every call goes through the real HTTP stack to a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "../common/mod.rs"]
mod common;

mod authentication;
mod availability_check;
mod cli;
mod db_fault;
mod envelope;
mod fuzz_regressions;
mod hardening;
mod instances;
mod isolation;
mod lifecycle;
mod list;
mod migrations;
mod race;
mod register;
mod remove;
mod secrets_at_rest;
mod server_update_convert;
mod shutdown;
mod transport;
mod xmlrpc;

//! Integration tests: every call goes through the real HTTP stack to a real database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

#[path = "../common/mod.rs"]
mod common;

mod admin_api;
mod admin_dry_run;
mod admin_idempotency;
mod admin_openapi;
mod admin_webhooks;
mod authentication;
mod availability_check;
mod backup;
mod checkin_flood;
mod cli;
mod cln_openapi;
mod coalesced_reads;
mod console_cli;
mod console_pages;
mod console_security;
mod docs_match;
mod doctor;
mod dual_stack;
mod envelope;
mod fuzz_regressions;
mod hardening;
mod health;
mod import_cln;
mod instances;
mod isolation;
mod keys_admin;
mod keys_cli;
mod keys_common;
mod keys_imunify;
mod keys_kernelcare;
mod keys_race;
mod lanes;
mod license_move;
mod lifecycle;
mod list;
mod lockout;
mod migrations;
mod nul_text;
mod race;
mod register;
mod rekey_live;
mod remove;
mod schema_version;
mod secrets_at_rest;
mod server_update_convert;
mod showip;
mod shutdown;
mod stale_writes;
mod transport;
mod upstream;
mod webhooks;
mod xmlrpc;

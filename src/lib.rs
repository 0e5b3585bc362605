//! ipls: an IP-license reseller API server, wire-compatible with CloudLinux Network.
//!
//! Layers: `api` (HTTP only) → `domain` (the rules) → `db` (storage, two backends).

pub mod admin;
pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod domain;
pub mod error;
pub mod mail;
pub mod net;
pub mod observe;
pub mod problem;
pub mod retry_schedule;
pub mod secrets;
pub mod server;
pub mod state;
pub mod tls;
pub mod token;
pub mod upstream;
pub mod webhooks;
pub mod wire;
pub mod xmlrpc;

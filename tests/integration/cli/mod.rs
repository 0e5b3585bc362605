//! The operator CLI, run as the real binary against real databases.

mod accounts;
mod dry_run;
mod hygiene;
mod reports;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use ipls::auth;

use crate::common::process::{ipls_cli, succeeded, ServeProcess};
use crate::common::{http, Kind, TestDatabase};

/// Runs the CLI on `db` with the test master key (the key file default has its own test).
fn ipls(db: &TestDatabase, args: &[&str]) -> Output {
    ipls_cli(db, Some(crate::common::TEST_MASTER_KEY), args)
}

fn fails_cleanly(output: &Output, needle: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

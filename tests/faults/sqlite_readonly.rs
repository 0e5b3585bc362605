//! Fault 5 (SQLite): the database files made unwritable while writes run (`chattr +i`,
//! which binds root too and applies to descriptors already open): clear 503s, no
//! corruption, writes resume when the files are writable again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{Kind, TestDatabase};
use crate::load::Answer;
use crate::setup::{
    acme_clients, can_inject, is_root, one_at_a_time, seed, serve, target, under_fault,
};
use crate::sigkill::integrity_ok;

/// Files made immutable, made writable again however the test ends (a tempdir holding
/// immutable files could not be removed).
struct Immutable(Vec<PathBuf>);

fn chattr(flag: &str, path: &Path) -> bool {
    Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl Immutable {
    fn set(paths: Vec<PathBuf>) -> Self {
        for path in &paths {
            assert!(
                chattr("+i", path),
                "chattr +i {} (needs root on ext4-like file systems)",
                path.display()
            );
        }
        Self(paths)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.0 {
            chattr("-i", path);
        }
    }
}

#[test]
fn sqlite_files_read_only() {
    let _serial = one_at_a_time();
    if !can_inject("root (chattr +i)", is_root()) {
        return;
    }
    let db = TestDatabase::create(Kind::Sqlite).unwrap();
    seed(&db.url);
    let server = serve(&db.url_text(), &[]);
    let (outcomes, (fault_started, fault_ended)) = under_fault(
        "SQLite files read-only 3 s",
        &db.url,
        target(server.addr),
        acme_clients(3),
        false,
        || {
            let files: Vec<PathBuf> = ["", "-wal"]
                .iter()
                .map(|suffix| PathBuf::from(format!("{}{suffix}", db.url.target)))
                .filter(|p| p.exists())
                .collect();
            let frozen = Immutable::set(files);
            std::thread::sleep(Duration::from_secs(3));
            drop(frozen);
        },
    );
    let refused = outcomes
        .iter()
        .filter(|o| o.started >= fault_started && o.finished <= fault_ended)
        .filter(|o| o.answer == Answer::Unavailable)
        .count();
    assert!(refused > 0, "writes to read-only files answered 503");
    integrity_ok(&db.url);
    drop(server);
}

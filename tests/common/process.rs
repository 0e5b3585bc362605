//! Running `ipls serve` as a real process and finding the port it bound.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use super::{TestDatabase, TEST_MASTER_KEY};

/// Runs the `ipls` CLI on `db`: with the test master key, or with `None` the default key
/// file beside a SQLite database.
pub fn ipls_cli(
    db: &TestDatabase,
    master_key: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
    command
        .args(args)
        .env("DATABASE_URL", db.url_text())
        .env_remove("IPLS_MASTER_KEY_FILE")
        .env_remove("RUST_LOG");
    match master_key {
        Some(key) => command.env("IPLS_MASTER_KEY", key),
        None => command.env_remove("IPLS_MASTER_KEY"),
    };
    command.output().expect("run ipls")
}

/// The standard output of a command that must succeed.
pub fn succeeded(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// The line that says where it listens (and on which database).
    pub listening_line: String,
    /// The server's log lines after the listening line.
    log: Receiver<String>,
}

impl ServeProcess {
    /// Starts `ipls serve` on a free loopback port against `database_url`, with extra
    /// environment.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_bound(database_url, "127.0.0.1:0", env)
    }

    /// `start` on another listen address; `[::]:0` is reached over IPv4 loopback.
    pub fn start_bound(database_url: &str, bind: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
        command
            .args(["serve", "--bind", bind, "--workers", "2"])
            .env("DATABASE_URL", database_url)
            .env("IPLS_MASTER_KEY", TEST_MASTER_KEY)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start ipls serve");
        let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let listening_line = log
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains("listening on http://"))
            .expect("ipls printed its listening address");
        let addr = listening_line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_default()
            .parse::<SocketAddr>()
            .map(|mut addr| {
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                addr
            })
            .expect("socket address");
        // Keep draining the log so the server never blocks on a full pipe; the test may read it.
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in log.map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Self {
            child,
            addr,
            listening_line,
            log: receiver,
        }
    }

    /// The next log line containing `needle` (waits at most 10 s).
    pub fn log_line(&self, needle: &str) -> String {
        loop {
            let line = self
                .log
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A webhook receiver process (tests/common/webhook_receiver.py) that verifies every
//! signature with the official `standardwebhooks` package from `target/py` (`.ci/run`
//! installs it). Without it the webhook tests are skipped, unless
//! IPLS_REQUIRE_WEBHOOK_RECEIVER=1 (CI).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct ReceiverOptions {
    /// Answer 500 to this many requests first.
    pub fail_first: u32,
    /// The status of every other answer.
    pub status: u16,
    /// Wait this long before answering.
    pub delay_ms: u64,
}

impl Default for ReceiverOptions {
    fn default() -> Self {
        Self {
            fail_first: 0,
            status: 200,
            delay_ms: 0,
        }
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub verified: bool,
    pub error: Option<String>,
    pub status: u16,
    pub payload: Value,
    pub received_ns: u128,
}

impl Received {
    pub fn event_type(&self) -> &str {
        self.payload["type"].as_str().unwrap_or_default()
    }

    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub struct Receiver {
    child: Child,
    pub url: String,
    dir: tempfile::TempDir,
}

fn python() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py/bin/python");
    let has_library = path.exists()
        && Command::new(&path)
            .args(["-c", "import standardwebhooks"])
            .status()
            .is_ok_and(|s| s.success());
    if has_library {
        return Some(path);
    }
    if std::env::var("IPLS_REQUIRE_WEBHOOK_RECEIVER").as_deref() == Ok("1") {
        panic!("IPLS_REQUIRE_WEBHOOK_RECEIVER=1 but target/py has no standardwebhooks");
    }
    eprintln!("target/py has no standardwebhooks; the webhook test is skipped");
    None
}

impl Receiver {
    pub fn start(options: ReceiverOptions) -> Option<Self> {
        let python = python()?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/common/webhook_receiver.py");
        let port_file = dir.path().join("port");
        let child = Command::new(python)
            .arg(script)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(dir.path().join("log.jsonl"))
            .arg("--secret-file")
            .arg(dir.path().join("secret"))
            .args(["--fail-first", &options.fail_first.to_string()])
            .args(["--status", &options.status.to_string()])
            .args(["--delay-ms", &options.delay_ms.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the webhook receiver");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text;
            }
            assert!(Instant::now() < deadline, "the receiver did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{}/hook", port.trim()),
            dir,
        })
    }

    /// The endpoint's secret, as `ipls webhook add` printed it.
    pub fn set_secret(&self, secret: &str) {
        std::fs::write(self.dir.path().join("secret"), secret).expect("write the secret");
    }

    pub fn received(&self) -> Vec<Received> {
        let text = std::fs::read_to_string(self.dir.path().join("log.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|v| Received {
                id: v["id"].as_str().unwrap_or_default().to_string(),
                verified: v["verified"].as_bool().unwrap_or(false),
                error: v["error"].as_str().map(String::from),
                status: v["status"].as_u64().unwrap_or_default() as u16,
                payload: v["payload"].clone(),
                received_ns: v["received_ns"].as_u64().unwrap_or_default() as u128,
            })
            .collect()
    }

    /// The accepted requests, once `n` have arrived (panics after `timeout`).
    pub fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let accepted: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|r| r.accepted())
                .collect();
            if accepted.len() >= n {
                return accepted;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} webhooks accepted after {timeout:?}: {:?}",
                accepted.len(),
                self.received()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real SMTP server for the mail tests: Debian's aiosmtpd (`python3-aiosmtpd`, which
//! `.ci/run` installs), started on a free loopback port by `smtp_sink.py`, which stores each
//! accepted message in a Maildir (read back and parsed here) and can be told to refuse for a
//! while, refuse an address for good, or hold its answers. Without aiosmtpd the tests are
//! skipped with a notice, unless IPLS_REQUIRE_SMTP=1 (CI).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A received message: its headers (the first of each name, lower-cased), its body as sent,
/// and its parts decoded (a single-part message is one part).
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub parts: Vec<Part>,
}

/// One MIME part, decoded: its content type, its file name if attached, its text.
#[derive(Debug, Clone)]
pub struct Part {
    pub content_type: String,
    pub filename: Option<String>,
    pub text: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map_or("", String::as_str)
    }

    /// The text of the first text/plain part that is not an attachment.
    pub fn text(&self) -> &str {
        self.parts
            .iter()
            .find(|p| p.content_type == "text/plain" && p.filename.is_none())
            .map_or("", |p| p.text.as_str())
    }

    /// The attachment named `name`, decoded.
    pub fn attachment(&self, name: &str) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| p.filename.as_deref() == Some(name))
    }

    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let mut headers = BTreeMap::new();
        let mut last: Option<String> = None;
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(name) = &last {
                    if let Some(value) = headers.get_mut(name) {
                        let value: &mut String = value;
                        value.push(' ');
                        value.push_str(line.trim());
                    }
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                headers
                    .entry(name.clone())
                    .or_insert_with(|| value.trim().to_string());
                last = Some(name);
            }
        }
        let mut parts = Vec::new();
        if let Ok(parsed) = mailparse::parse_mail(raw.as_bytes()) {
            collect_parts(&parsed, &mut parts);
        }
        Self {
            headers,
            body: body.to_string(),
            parts,
        }
    }
}

fn collect_parts(mail: &mailparse::ParsedMail<'_>, parts: &mut Vec<Part>) {
    if mail.subparts.is_empty() {
        let disposition = mail.get_content_disposition();
        parts.push(Part {
            content_type: mail.ctype.mimetype.clone(),
            filename: disposition.params.get("filename").cloned(),
            text: mail.get_body().unwrap_or_default().replace("\r\n", "\n"),
        });
    }
    for part in &mail.subparts {
        collect_parts(part, parts);
    }
}

pub struct SmtpSink {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn available() -> bool {
    let found = Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("IPLS_REQUIRE_SMTP").as_deref() == Ok("1") {
            panic!("IPLS_REQUIRE_SMTP=1 but /usr/bin/python3 has no aiosmtpd (apt-get install python3-aiosmtpd)");
        }
        eprintln!("python3-aiosmtpd is not installed; the mail test is skipped");
    }
    found
}

impl SmtpSink {
    /// Starts aiosmtpd, or None (with a notice) where it is not installed.
    pub fn start() -> Option<Self> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/smtp_sink.py");
        std::fs::create_dir_all(dir.path().join("control")).expect("a control directory");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .args(["127.0.0.1", &port.to_string()])
            .arg(dir.path().join("maildir"))
            .arg(dir.path().join("control"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self { child, addr, dir })
    }

    /// The URL ipls is given for it (plain SMTP: aiosmtpd here speaks no TLS).
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none&timeout=5", self.addr)
    }

    fn control(&self, name: &str, on: bool) {
        let path = self.dir.path().join("control").join(name);
        if on {
            std::fs::write(&path, b"").expect("a control file");
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }

    /// While on, every transaction is answered 451 (try again later).
    pub fn refuse_all(&self, on: bool) {
        self.control("refuse", on);
    }

    /// From now on, `address` is answered 550 (refused for good).
    pub fn reject(&self, address: &str) {
        self.control(&format!("reject-{}", address.to_lowercase()), true);
    }

    /// While on, each answer to DATA waits (and a client gone meanwhile gets nothing stored).
    pub fn hold(&self, on: bool) {
        self.control("hold", on);
    }

    /// How many messages have been held so far.
    pub fn held(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("control"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("holding-"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Every message received so far, by the second it arrived.
    pub fn messages(&self) -> Vec<Received> {
        let new = self.dir.path().join("maildir").join("new");
        // Maildir names start with the second of delivery: by name is by second (within one
        // second the order is not known).
        let mut files: Vec<(String, String)> = std::fs::read_dir(&new)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        Some((name, std::fs::read_to_string(e.path()).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.iter().map(|(_, raw)| Received::parse(raw)).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

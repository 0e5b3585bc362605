//! Load bounded by time, not by count: client threads keep registering, converting and
//! removing on fresh and existing IPs until told to stop, and every call's outcome is kept.
//! Each IP belongs to one client, so the calls on an IP are sequential and their order is
//! known to the invariant check.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipls::auth::{self, HashForm};
use serde_json::Value;

/// Where the server is now (a restarted server gets a new port).
pub type Target = Arc<RwLock<SocketAddr>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Register(i32),
    Remove,
    Convert(i32, i32),
    /// check.json: a read, which changes nothing.
    Check,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// HTTP 200, `success:true`, with `data`.
    Done(Value),
    /// HTTP 200, `success:false`: a definite "no".
    Refused(String),
    /// HTTP 503 with the envelope.
    Unavailable,
    /// Anything else with a status (a 500, a 503 without the envelope...).
    Wrong(u16, String),
    /// No HTTP answer at all (connection refused or reset, timed out).
    Silence(String),
}

impl Answer {
    /// Whether the client was told for sure what happened.
    pub fn acknowledged(&self) -> bool {
        matches!(self, Answer::Done(_) | Answer::Refused(_))
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub seq: u64,
    pub login: &'static str,
    pub ip: String,
    pub action: Action,
    pub started: Instant,
    pub finished: Instant,
    pub answer: Answer,
}

impl Outcome {
    pub fn took(&self) -> Duration {
        self.finished - self.started
    }
}

/// Which calls a client makes.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// Imunify tiers 41/42/43 (unlimited): register a fresh IP, convert it, remove an older
    /// one, register and convert one of 8 kept IPs.
    Imunify,
    /// A limited type: register a fresh IP, remove the one before.
    Limited(i32),
    /// check.json on the kept IPs of the first Imunify client.
    Checks,
}

pub struct Client {
    pub login: &'static str,
    pub secret: &'static str,
    pub plan: Plan,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

/// Longest a client waits for one answer: far past every bound under test, so a hang is
/// seen as a hang.
const CALL_DEADLINE: Duration = Duration::from_secs(15);

pub fn call(addr: SocketAddr, target: &str) -> Answer {
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(s) => s,
        Err(e) => return Answer::Silence(format!("connect: {e}")),
    };
    let _ = stream.set_read_timeout(Some(CALL_DEADLINE));
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return Answer::Silence(format!("send: {e}"));
    }
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Answer::Silence(format!("read: {e}"));
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Answer::Silence(format!("incomplete answer: {text:?}"));
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let value: Option<Value> = serde_json::from_str(body).ok();
    let envelope = value.as_ref().filter(|v| {
        v.as_object()
            .is_some_and(|o| o.len() == 4 && o.contains_key("success") && o.contains_key("data"))
    });
    match (status, envelope) {
        (200, Some(v)) if v["success"] == true => Answer::Done(v["data"].clone()),
        (200, Some(v)) => Answer::Refused(v["message"].as_str().unwrap_or_default().into()),
        (503, Some(_)) => Answer::Unavailable,
        _ => Answer::Wrong(status, body.chars().take(200).collect()),
    }
}

fn endpoint(ip: &str, action: Action) -> String {
    match action {
        Action::Register(t) => format!("/api/ipl/register.json?ip={ip}&type={t}"),
        Action::Remove => format!("/api/ipl/remove.json?ip={ip}"),
        Action::Check => format!("/api/ipl/check.json?ip={ip}"),
        Action::Convert(from, to) => {
            format!("/api/ipl/convert.json?ip={ip}&type={from}&type_to={to}")
        }
    }
}

/// The calls of round `n` of client `c`.
fn round(plan: Plan, c: usize, n: u64) -> Vec<(String, Action)> {
    let fresh = |k: u64| format!("10.{}.{}.{}", c + 1, k / 250 % 250, k % 250 + 1);
    match plan {
        Plan::Imunify => {
            let kept = format!("10.{}.255.{}", c + 101, n % 8 + 1);
            let (from, to) = if n / 8 % 2 == 0 { (41, 43) } else { (43, 41) };
            vec![
                (fresh(n), Action::Register(41)),
                (fresh(n), Action::Convert(41, 42)),
                (fresh(n.saturating_sub(2)), Action::Remove),
                (kept.clone(), Action::Register(41)),
                (kept, Action::Convert(from, to)),
            ]
        }
        Plan::Limited(t) => vec![
            (fresh(n), Action::Register(t)),
            (fresh(n.saturating_sub(1)), Action::Remove),
        ],
        // The first Imunify client's kept IPs, read while it writes them.
        Plan::Checks => vec![(format!("10.101.255.{}", n % 8 + 1), Action::Check)],
    }
}

impl Load {
    pub fn start(target: Target, clients: Vec<Client>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let threads = clients
            .into_iter()
            .enumerate()
            .map(|(c, client)| {
                let (stop, outcomes, target) = (stop.clone(), outcomes.clone(), target.clone());
                std::thread::spawn(move || {
                    let mut seq = 0;
                    for n in 0.. {
                        for (ip, action) in round(client.plan, c, n) {
                            if stop.load(Ordering::Relaxed) {
                                return;
                            }
                            let token = auth::mint(
                                client.login,
                                client.secret,
                                chrono::Utc::now().timestamp(),
                                HashForm::LegacySha1,
                            );
                            let addr = *target.read().unwrap();
                            let started = Instant::now();
                            let answer =
                                call(addr, &format!("{}&token={token}", endpoint(&ip, action)));
                            seq += 1;
                            if matches!(answer, Answer::Silence(_)) {
                                // Nobody listens (a killed server): retry soon, not in a spin.
                                std::thread::sleep(Duration::from_millis(10));
                            }
                            outcomes.lock().unwrap().push(Outcome {
                                seq,
                                login: client.login,
                                ip,
                                action,
                                started,
                                finished: Instant::now(),
                                answer,
                            });
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            threads,
            outcomes,
        }
    }

    /// Calls answered so far.
    pub fn answered(&self) -> usize {
        self.outcomes.lock().unwrap().len()
    }

    pub fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let mut outcomes = self.outcomes.lock().unwrap().clone();
        outcomes.sort_by_key(|o| o.started);
        outcomes
    }
}

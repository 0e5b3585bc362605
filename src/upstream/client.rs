//! Calls to an upstream's CLN REST API: a token minted from ipls's account there (the legacy
//! sha1 form, which CLN and ipls both accept), pooled HTTP connections, and per upstream a
//! limit on calls at once and on calls per second, shared by every request and worker of
//! this instance.
//!
//! Every failure says whether the upstream may have acted (`CallError`): the relay's
//! correctness rests on that distinction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::redirect::Policy;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::db::models::Upstream;
use crate::token::{mint, HashForm};

/// Why a call did not return `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The upstream answered `success:false` with this message: it did not act.
    Refused(String),
    /// The call was never made, or was turned away before it could act (the connection was
    /// refused, the limit on calls at once was not free in time, the upstream throttled us).
    NotSent(String),
    /// No usable answer: a timeout, a 5xx, something that is not a CLN answer, a connection
    /// cut after the request left. The upstream may or may not have acted.
    NoAnswer(String),
}

impl CallError {
    pub fn text(&self) -> &str {
        match self {
            CallError::Refused(m) | CallError::NotSent(m) | CallError::NoAnswer(m) => m,
        }
    }
}

/// One upstream's limits, as this instance applies them.
struct Gate {
    permits: Arc<Semaphore>,
    /// The earliest moment the next call may start (calls per second).
    next_start: Mutex<Instant>,
    interval: Duration,
    /// The settings the gate was made for: an operator's change makes a new gate.
    shape: (i32, i32),
}

/// What one instance shares across its requests and workers.
#[derive(Default)]
pub struct Client {
    gates: Mutex<HashMap<i64, Arc<Gate>>>,
}

thread_local! {
    /// One connection pool per runtime thread: a pooled connection lives on the runtime that
    /// opened it (each actix worker has its own), so each thread keeps its own pool.
    static HTTP: reqwest::Client = build_http();
}

fn build_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(64)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!("ipls-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

impl Client {
    fn gate(&self, upstream: &Upstream) -> Arc<Gate> {
        let shape = (upstream.concurrency, upstream.rate_per_second);
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(gate) = gates.get(&upstream.id).filter(|g| g.shape == shape) {
            return gate.clone();
        }
        let gate = Arc::new(Gate {
            permits: Arc::new(Semaphore::new(
                usize::try_from(upstream.concurrency.max(1)).unwrap_or(1),
            )),
            next_start: Mutex::new(Instant::now()),
            interval: Duration::from_secs(1)
                / u32::try_from(upstream.rate_per_second.max(1)).unwrap_or(1),
            shape,
        });
        gates.insert(upstream.id, gate.clone());
        gate
    }

    /// Calls `/api/ipl/{endpoint}.json` (or another path under the upstream's URL when
    /// `endpoint` starts with `/`) and returns the envelope's `data`. `timeout` bounds the
    /// whole call, the wait for the upstream's limits included.
    pub async fn call(
        &self,
        upstream: &Upstream,
        secret: &str,
        endpoint: &str,
        params: &[(&str, String)],
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let deadline = Instant::now() + timeout;
        let gate = self.gate(upstream);
        let permit = tokio::time::timeout(timeout, gate.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                CallError::NotSent(format!(
                    "upstream {} is at its limit of {} calls at once",
                    upstream.name, upstream.concurrency
                ))
            })?
            .map_err(|_| CallError::NotSent("the relay is stopping".into()))?;
        let start_at = {
            let mut next = gate.next_start.lock().unwrap_or_else(|p| p.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + gate.interval;
            at
        };
        if start_at >= deadline {
            return Err(CallError::NotSent(format!(
                "upstream {} is at its rate of {} calls a second",
                upstream.name, upstream.rate_per_second
            )));
        }
        tokio::time::sleep_until(start_at.into()).await;
        let left = deadline.saturating_duration_since(Instant::now());
        let answer = send(upstream, secret, endpoint, params, left).await;
        drop(permit);
        answer
    }
}

fn url_of(upstream: &Upstream, endpoint: &str) -> String {
    if endpoint.starts_with('/') {
        format!("{}{endpoint}", upstream.url)
    } else {
        format!("{}/api/ipl/{endpoint}.json", upstream.url)
    }
}

async fn send(
    upstream: &Upstream,
    secret: &str,
    endpoint: &str,
    params: &[(&str, String)],
    timeout: Duration,
) -> Result<Value, CallError> {
    let token = mint(
        &upstream.login,
        secret,
        Utc::now().timestamp(),
        HashForm::LegacySha1,
    );
    let mut query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    query.push(("token", &token));
    let url = url_of(upstream, endpoint);
    let name = &upstream.name;
    let request = HTTP.with(|http| http.get(&url).query(&query).timeout(timeout));
    let answer = request.send().await.map_err(|e| {
        if e.is_connect() {
            CallError::NotSent(format!("cannot connect to upstream {name}"))
        } else if e.is_timeout() {
            CallError::NoAnswer(format!(
                "upstream {name} did not answer within {} ms",
                timeout.as_millis()
            ))
        } else {
            CallError::NoAnswer(format!(
                "upstream {name}: the connection failed ({})",
                short(e)
            ))
        }
    })?;
    let status = answer.status().as_u16();
    let body = answer.bytes().await.map_err(|e| {
        CallError::NoAnswer(format!(
            "upstream {name}: HTTP {status}, the answer was cut ({})",
            short(e)
        ))
    })?;
    if status == 429 {
        return Err(CallError::NotSent(format!(
            "upstream {name} is throttling ipls (HTTP 429)"
        )));
    }
    if status >= 500 {
        return Err(CallError::NoAnswer(format!(
            "upstream {name} failed (HTTP {status})"
        )));
    }
    let envelope: Value = serde_json::from_slice(&body).map_err(|_| {
        CallError::NoAnswer(format!(
            "upstream {name} answered HTTP {status} that is not a CLN answer"
        ))
    })?;
    match envelope.get("success") {
        Some(Value::Bool(true)) => Ok(envelope.get("data").cloned().unwrap_or(Value::Null)),
        Some(Value::Bool(false)) => Err(CallError::Refused(
            envelope
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
                .unwrap_or("the upstream refused without a message")
                .to_string(),
        )),
        _ => Err(CallError::NoAnswer(format!(
            "upstream {name} answered HTTP {status} that is not a CLN answer"
        ))),
    }
}

/// reqwest's error without the URL (it carries the token).
fn short(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    crate::wire::cut(&text, 200)
}

//! The relay's metrics, rendered after the server's own on `/metrics`: calls to each upstream
//! by outcome (this instance's), and per upstream the changes waiting, how long it has been
//! failing, whether its alert is raised, and its last reconcile's differences by kind (read
//! from the database by every instance's worker, so any instance reports them).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::client::CallError;
use crate::domain::upstream::reconcile::{Counts, Kind};

/// One upstream's gauges, as the worker last read them.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub pending: i64,
    pub failing_seconds: i64,
    pub alerting: bool,
    pub last_reconcile: Option<(i64, Counts)>,
}

#[derive(Default)]
pub struct RelayMetrics {
    calls: Mutex<BTreeMap<(String, &'static str), u64>>,
    gauges: Mutex<BTreeMap<String, Gauges>>,
}

/// The outcome label of a call.
pub fn outcome<T>(result: &Result<T, CallError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(CallError::Refused(_)) => "refused",
        Err(CallError::NotSent(_)) => "not_sent",
        Err(CallError::NoAnswer(_)) => "no_answer",
    }
}

impl RelayMetrics {
    pub fn call<T>(&self, upstream: &str, result: &Result<T, CallError>) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        *calls
            .entry((upstream.to_string(), outcome(result)))
            .or_default() += 1;
    }

    /// Replaces every upstream's gauges (an upstream removed disappears).
    pub fn set_gauges(&self, all: BTreeMap<String, Gauges>) {
        *self.gauges.lock().unwrap_or_else(|p| p.into_inner()) = all;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let gauges = self
            .gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        out.push_str("# HELP ipls_upstream_calls_total Calls this instance made to each upstream, by outcome.\n# TYPE ipls_upstream_calls_total counter\n");
        for ((upstream, outcome), n) in &calls {
            let _ = writeln!(
                out,
                "ipls_upstream_calls_total{{upstream=\"{upstream}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let gauge = |out: &mut String, name: &str, help: &str, value: &dyn Fn(&Gauges) -> i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (upstream, g) in &gauges {
                let _ = writeln!(out, "{name}{{upstream=\"{upstream}\"}} {}", value(g));
            }
        };
        gauge(
            &mut out,
            "ipls_upstream_pending_changes",
            "Changes waiting to be carried to the upstream.",
            &|g| g.pending,
        );
        gauge(
            &mut out,
            "ipls_upstream_failing_seconds",
            "How long the oldest waiting change has been failing (0: none is).",
            &|g| g.failing_seconds,
        );
        gauge(
            &mut out,
            "ipls_upstream_alerting",
            "1 while the upstream has been failing longer than IPLS_UPSTREAM_ALERT_AFTER.",
            &|g| i64::from(g.alerting),
        );
        gauge(
            &mut out,
            "ipls_upstream_last_reconcile_timestamp_seconds",
            "When the upstream was last reconciled (Unix seconds; 0: never).",
            &|g| g.last_reconcile.as_ref().map_or(0, |(at, _)| *at),
        );
        out.push_str("# HELP ipls_upstream_differences Differences the last reconcile found, by kind.\n# TYPE ipls_upstream_differences gauge\n");
        for (upstream, g) in &gauges {
            if let Some((_, counts)) = &g.last_reconcile {
                for kind in Kind::ALL {
                    let _ = writeln!(
                        out,
                        "ipls_upstream_differences{{upstream=\"{upstream}\",kind=\"{}\"}} {}",
                        kind.as_str(),
                        Counts::of(kind, counts)
                    );
                }
            }
        }
        out
    }
}

//! The relay's settings (`IPLS_UPSTREAM_*`, read by `config`), and what it takes from the
//! running server or command.

use std::sync::Arc;
use std::time::Duration;

use super::client::Client;
use super::metrics::RelayMetrics;
use crate::clock::Clock;
use crate::db::Pool;
use crate::secrets::SecretBox;

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// The longest a call to an upstream may take (the wait for its limits included): a
    /// registration's caller is answered within it.
    pub call_timeout: Duration,
    /// How long a registration waits for earlier changes on its IP to be carried first.
    pub queue_wait: Duration,
    /// How often an idle relay worker looks for due changes (retries, other instances').
    pub poll: Duration,
    /// Changes this instance carries at once (0: this instance carries none and runs no
    /// scheduled reconcile).
    pub workers: usize,
    /// How often `ipls serve` reconciles each upstream (None: never).
    pub reconcile_every: Option<Duration>,
    /// Whether the scheduled reconcile repairs what is ipls's (else it only reports).
    pub reconcile_repairs: bool,
    /// After how long of failing an upstream raises its alert (metric and webhook).
    pub alert_after: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(10),
            queue_wait: Duration::from_secs(3),
            poll: Duration::from_secs(2),
            workers: 4,
            reconcile_every: Some(Duration::from_secs(3_600)),
            reconcile_repairs: true,
            alert_after: Duration::from_secs(900),
        }
    }
}

impl RelaySettings {
    /// How old an intent must be before the worker settles it: its request has given up by
    /// then (its call is bounded by `call_timeout`; the rest is margin).
    pub fn intent_age(&self) -> Duration {
        self.call_timeout * 2 + Duration::from_secs(10)
    }

    /// How long a change's lease lasts: longer than any one call, so that a live worker never
    /// loses it, and a killed one's runs out soon after.
    pub fn lease(&self) -> Duration {
        self.call_timeout * 2 + Duration::from_secs(5)
    }
}

/// What the relay uses, from `ipls serve` (`AppState`) or a command.
#[derive(Clone)]
pub struct Relay {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretBox>,
    pub settings: RelaySettings,
    pub client: Arc<Client>,
    pub metrics: Arc<RelayMetrics>,
}

impl Relay {
    pub fn new(
        pool: Pool,
        clock: Arc<dyn Clock>,
        secrets: Arc<SecretBox>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            pool,
            clock,
            secrets,
            settings,
            client: Arc::new(Client::default()),
            metrics: Arc::new(RelayMetrics::default()),
        }
    }
}

//! The webhook sender's settings (`IPLS_WEBHOOK_*`, read by `config`), and what the delivery
//! worker takes from the running server.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::db::Pool;
use crate::secrets::SecretBox;

/// The webhook delivery worker inside `ipls serve`.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Endpoints served at the same time by this instance (0: this instance sends none).
    pub workers: usize,
    /// How often an idle worker looks for due deliveries (other instances' events, retries).
    pub poll: Duration,
    /// Longest wait for one endpoint's answer, connection included.
    pub timeout: Duration,
    /// Let endpoints on loopback, private and link-local addresses receive (tests, labs).
    pub allow_private: bool,
    /// Delay before each attempt, the first included; after the last, the endpoint is disabled.
    pub retry_schedule: Vec<Duration>,
    /// A server silent this long gets its `license.stale` event (`IPLS_STALE_AFTER`).
    pub stale_after: chrono::Duration,
}

/// The parts of the running server the delivery workers use.
#[derive(Clone)]
pub struct WorkerContext {
    pub pool: Pool,
    /// Trial expiry follows the server's clock (a test's manual clock included).
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretBox>,
    pub settings: WebhookSettings,
}

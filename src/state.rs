//! What every request handler shares.

use std::sync::Arc;

use crate::api::auth_cache::AuthCache;
use crate::api::throttle::AuthThrottle;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{Backend, Pool};
use crate::domain::Policy;
use crate::observe::metrics::Metrics;
use crate::secrets::SecretBox;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub throttle: Arc<AuthThrottle>,
    pub secrets: Arc<SecretBox>,
    pub metrics: Arc<Metrics>,
    pub auth_cache: Arc<AuthCache>,
}

impl AppState {
    pub fn new(pool: Pool, secrets: SecretBox, config: Config, clock: Arc<dyn Clock>) -> Self {
        let auth_cache = AuthCache::new(chrono::Duration::seconds(config.auth_cache_secs));
        let throttle =
            AuthThrottle::new(config.auth_failures_per_minute, config.auth_failure_burst);
        Self {
            pool,
            backend: config.database_url.backend,
            config: Arc::new(config),
            clock,
            throttle: Arc::new(throttle),
            secrets: Arc::new(secrets),
            metrics: Arc::new(Metrics::default()),
            auth_cache: Arc::new(auth_cache),
        }
    }

    pub fn policy(&self) -> Policy {
        Policy {
            allow_private_ips: self.config.allow_private_ips,
            trial_days: self.config.trial_days,
        }
    }
}

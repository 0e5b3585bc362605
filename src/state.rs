//! What every request handler shares.

use std::sync::Arc;

use crate::api::lookups::Lookups;
use crate::auth::budget::Budgets;
use crate::auth::cache::AuthCache;
use crate::auth::known_sources::KnownSources;
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
    pub budgets: Arc<Budgets>,
    pub known_sources: Arc<KnownSources>,
    pub checkin_limit: Arc<crate::api::checkin_limit::CheckinLimit>,
    pub secrets: Arc<SecretBox>,
    pub metrics: Arc<Metrics>,
    pub auth_cache: Arc<AuthCache>,
    /// check.json's and availability.json's coalesced lookups.
    pub lookups: Lookups,
}

impl AppState {
    pub fn new(pool: Pool, secrets: SecretBox, config: Config, clock: Arc<dyn Clock>) -> Self {
        let auth_cache = AuthCache::new(chrono::Duration::seconds(config.auth_cache_secs));
        let backend = config.database_url.backend;
        let budgets = Budgets::new(
            backend,
            config.auth_failure_burst.get(),
            config.auth_failures_per_minute.get(),
        );
        let checkin_limit = crate::api::checkin_limit::CheckinLimit::new(config.checkin_per_minute);
        let lookups = Lookups::new(&pool);
        Self {
            lookups,
            pool,
            backend,
            config: Arc::new(config),
            clock,
            budgets: Arc::new(budgets),
            known_sources: Arc::new(KnownSources::default()),
            checkin_limit: Arc::new(checkin_limit),
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

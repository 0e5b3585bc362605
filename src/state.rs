//! What every request handler shares: the composition of the layers below for one server.

use std::sync::Arc;

use crate::auth::{AuthContext, AuthSettings};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::models::License;
use crate::db::{self, Backend, DbConnection, Pool};
use crate::domain::actor::{self, ActingFor, Actor, Source};
use crate::domain::licenses::Registration;
use crate::domain::lookups::Lookups;
use crate::domain::Policy;
use crate::error::DomainError;
use crate::observe::metrics::Metrics;
use crate::secrets::SecretBox;
use crate::upstream::Relay;

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub secrets: Arc<SecretBox>,
    pub metrics: Arc<Metrics>,
    /// What the auth layer's extractors use (budgets, caches, known sources, check-in limits).
    pub auth: AuthContext,
    /// check.json's and availability.json's coalesced lookups.
    pub lookups: Lookups,
    /// The relay to upstreams: registrations of routed types go through it.
    pub relay: Relay,
}

impl AppState {
    pub fn new(pool: Pool, secrets: SecretBox, config: Config, clock: Arc<dyn Clock>) -> Self {
        let backend = config.database_url.backend;
        let secrets = Arc::new(secrets);
        let metrics = Arc::new(Metrics::default());
        let auth = AuthContext::new(
            pool.clone(),
            backend,
            clock.clone(),
            auth_settings(&config),
            secrets.clone(),
            metrics.clone(),
        );
        let relay = Relay::new(
            pool.clone(),
            clock.clone(),
            secrets.clone(),
            config.relay.clone(),
        );
        Self {
            relay,
            lookups: Lookups::new(&pool.lane(crate::db::Lane::Reads)),
            pool,
            backend,
            config: Arc::new(config),
            clock,
            secrets,
            metrics,
            auth,
        }
    }

    /// Runs `f` on the blocking pool as the reseller `who` names (resolved in the call),
    /// recorded as coming from `source`, with the operator's policy: the one way every face
    /// acts for a reseller.
    pub async fn act_as<T, F>(&self, who: ActingFor, source: Source, f: F) -> Result<T, DomainError>
    where
        F: FnOnce(&mut DbConnection, &Actor<'_>, &Policy) -> Result<T, DomainError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let policy = self.policy();
        let now = self.clock.now().naive_utc();
        db::run(&self.pool, move |c| {
            actor::act(c, who, &source, now, |c, actor| f(c, actor, &policy))
        })
        .await
    }

    /// Registers a license for `who`: through its type's upstream when it has one (the
    /// caller hears success only once the upstream accepted), here otherwise. Every face
    /// registers through this.
    pub async fn register(
        &self,
        who: ActingFor,
        source: Source,
        request: Registration,
    ) -> Result<License, DomainError> {
        crate::upstream::relay::register(&self.relay, who, source, self.policy(), request).await
    }

    pub fn policy(&self) -> Policy {
        Policy {
            allow_private_ips: self.config.allow_private_ips,
            trial_days: self.config.trial_days,
        }
    }
}

fn auth_settings(config: &Config) -> AuthSettings {
    AuthSettings {
        token_window: config.token_window,
        trusted_proxies: config.trusted_proxies.clone(),
        tls: config.tls.is_some(),
        console_idle_minutes: config.console_idle_minutes,
        console_session_hours: config.console_session_hours,
        console_require_2fa: config.console_require_2fa,
        auth_cache_secs: config.auth_cache_secs,
        failure_burst: config.auth_failure_burst.get(),
        failures_per_minute: config.auth_failures_per_minute.get(),
        checkin_per_minute: config.checkin_per_minute,
    }
}

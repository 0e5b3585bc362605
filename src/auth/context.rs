//! What authentication needs from the running server, and nothing else: the auth layer's
//! extractors find it in the app data (`server` registers it), so they never reach up into
//! the faces' `AppState`.

use std::sync::Arc;

use ipnet::IpNet;

use super::budget::Budgets;
use super::cache::AuthCache;
use super::checkin_limit::CheckinLimit;
use super::known_sources::KnownSources;
use super::secret_use::SecretUse;
use crate::clock::Clock;
use crate::db::{Backend, Pool};
use crate::observe::metrics::Metrics;
use crate::secrets::SecretBox;

/// The settings authentication reads (from `config::Config`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Accepted distance, in seconds, between a token's timestamp and now.
    pub token_window: i64,
    /// Proxies whose `X-Forwarded-For` (and `X-Forwarded-Proto`) is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// This server speaks TLS itself.
    pub tls: bool,
    /// A console session unused this long ends (minutes).
    pub console_idle_minutes: i64,
    /// A console session ends this long after login however it is used (hours).
    pub console_session_hours: i64,
    /// Every console user must have two-factor login (`IPLS_CONSOLE_REQUIRE_2FA`).
    pub console_require_2fa: bool,
    /// How long a verified account may be reused without reading the database (0 = never).
    pub auth_cache_secs: i64,
    /// Failed authentications allowed at once, per address and per login...
    pub failure_burst: u32,
    /// ...and regained per minute.
    pub failures_per_minute: u32,
    /// Server check-ins and key registrations per source per minute (and at once).
    pub checkin_per_minute: u32,
}

#[derive(Clone)]
pub struct AuthContext {
    pub pool: Pool,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<AuthSettings>,
    pub budgets: Arc<Budgets>,
    pub known_sources: Arc<KnownSources>,
    pub auth_cache: Arc<AuthCache>,
    pub checkin_limit: Arc<CheckinLimit>,
    pub secrets: Arc<SecretBox>,
    pub metrics: Arc<Metrics>,
    pub secret_use: Arc<SecretUse>,
}

impl AuthContext {
    pub fn new(
        pool: Pool,
        backend: Backend,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
        secrets: Arc<SecretBox>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let budgets = Budgets::new(
            backend,
            settings.failure_burst,
            settings.failures_per_minute,
        );
        Self {
            pool,
            clock,
            budgets: Arc::new(budgets),
            known_sources: Arc::new(KnownSources::default()),
            auth_cache: Arc::new(AuthCache::new(chrono::Duration::seconds(
                settings.auth_cache_secs,
            ))),
            checkin_limit: Arc::new(CheckinLimit::new(settings.checkin_per_minute)),
            settings: Arc::new(settings),
            secrets,
            metrics,
            secret_use: Arc::default(),
        }
    }
}

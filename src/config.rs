//! Settings from the environment (documented in `.env.sample` and docs/operations.md),
//! overridable from the command line.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use crate::db::Backend;
use crate::db::{DatabaseUrl, PoolOptions};
use crate::domain::DEFAULT_TRIAL_DAYS;
use crate::net::cidr_list;
use crate::secrets::MasterKeySettings;
pub use crate::secrets::Redacted;
pub use crate::upstream::RelaySettings;
pub use crate::webhooks::settings::WebhookSettings;
use crate::wire::parse_bool;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://ipls.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: String,
    /// Accepted distance, in seconds, between a token's timestamp and now.
    pub token_window: i64,
    pub allow_private_ips: bool,
    pub pool: PoolOptions,
    /// Largest request body read (form-encoded POST).
    pub max_body_bytes: usize,
    /// Rows fetched per database round trip when streaming list.json.
    pub list_page_size: i64,
    /// Lifetime of a trial license, in days.
    pub trial_days: i64,
    /// Proxies whose `X-Forwarded-For` is believed (server check-in).
    pub trusted_proxies: Vec<IpNet>,
    /// Failed authentications allowed at once, per address and per login...
    pub auth_failure_burst: NonZeroU32,
    /// ...and regained per minute.
    pub auth_failures_per_minute: NonZeroU32,
    pub limits: ServerLimits,
    /// How long a verified account may be reused without reading the database (0 = never).
    pub auth_cache_secs: i64,
    /// Server check-ins accepted per source per minute (and at once), per instance.
    pub checkin_per_minute: u32,
    /// HTTPS certificate chain and key (PEM); None serves plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `IPLS_MASTER_KEY`: the master key for reseller secrets, hex.
    pub master_key: Option<Redacted>,
    /// `IPLS_MASTER_KEY_FILE`: a file holding the master key (created 0600 if missing).
    pub master_key_file: Option<PathBuf>,
    /// A console session unused this long ends (minutes).
    pub console_idle_minutes: i64,
    /// A console session ends this long after login however it is used (hours).
    pub console_session_hours: i64,
    /// Every console user must log in with a second factor (TOTP); one without it is sent to
    /// set it up before anything else.
    pub console_require_2fa: bool,
    /// Where mail to people goes (`IPLS_SMTP_URL`, `IPLS_MAIL_FROM`); None: mail is off.
    pub mail: Option<crate::mail::MailSettings>,
    /// Reports by mail: the operator's addresses, links, timing (`crate::mail::settings`).
    pub mail_reports: crate::mail::settings::MailReportSettings,
    pub webhooks: WebhookSettings,
    /// The relay to upstreams (`IPLS_UPSTREAM_*`).
    pub relay: RelaySettings,
}

/// What one client may take from the server.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Time to send the request head; a slow client is cut off after it.
    pub request_timeout: Duration,
    /// An idle keep-alive connection is closed after this.
    pub keep_alive: Duration,
    /// Open connections per worker; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Longest query string read.
    pub max_query_bytes: usize,
    /// On SIGTERM/SIGINT, in-flight requests get this long to finish.
    pub shutdown_timeout: Duration,
}

impl Config {
    /// Where this configuration's master key is to be found.
    pub fn master_key_settings(&self) -> MasterKeySettings {
        MasterKeySettings {
            hex: self.master_key.clone(),
            file: self.master_key_file.clone(),
            sqlite_database: (self.database_url.backend == Backend::Sqlite)
                .then(|| self.database_url.target.clone()),
        }
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let mut database_url = DatabaseUrl::parse(
            &get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string()),
        )?;
        database_url.transaction_pooler = boolean(&get, "IPLS_PG_TRANSACTION_POOLER", false)?;
        Ok(Self {
            database_url,
            bind: get("IPLS_BIND").unwrap_or_else(|| DEFAULT_BIND.to_string()),
            token_window: number(&get, "IPLS_TOKEN_WINDOW", 300, 1, 86_400)?,
            allow_private_ips: boolean(&get, "IPLS_ALLOW_PRIVATE_IPS", false)?,
            pool: PoolOptions {
                max_size: number(&get, "IPLS_POOL_SIZE", 8, 1, 512)?,
                read_size: number(&get, "IPLS_READ_POOL_SIZE", 8, 1, 512)?,
                background_size: number(&get, "IPLS_BACKGROUND_POOL_SIZE", 4, 1, 512)?,
                checkout_timeout: Duration::from_millis(number(
                    &get,
                    "IPLS_DB_TIMEOUT_MS",
                    3_000,
                    50,
                    60_000,
                )?),
                statement_timeout_ms: number(
                    &get,
                    "IPLS_PG_STATEMENT_TIMEOUT_MS",
                    10_000,
                    0,
                    3_600_000,
                )?,
                lock_timeout_ms: number(&get, "IPLS_PG_LOCK_TIMEOUT_MS", 2_000, 0, 3_600_000)?,
            },
            max_body_bytes: number(&get, "IPLS_MAX_BODY_BYTES", 65_536, 1_024, 16 << 20)?,
            list_page_size: number(&get, "IPLS_LIST_PAGE_SIZE", 10_000, 1, 100_000)?,
            trial_days: number(&get, "IPLS_TRIAL_DAYS", DEFAULT_TRIAL_DAYS, 1, 3_650)?,
            trusted_proxies: cidr_list("IPLS_TRUSTED_PROXIES", get("IPLS_TRUSTED_PROXIES"))?,
            auth_failure_burst: number(
                &get,
                "IPLS_AUTH_FAILURE_BURST",
                nz(20),
                nz(1),
                nz(100_000),
            )?,
            auth_failures_per_minute: number(
                &get,
                "IPLS_AUTH_FAILURES_PER_MINUTE",
                nz(10),
                nz(1),
                nz(100_000),
            )?,
            limits: ServerLimits {
                request_timeout: Duration::from_millis(number(
                    &get,
                    "IPLS_REQUEST_TIMEOUT_MS",
                    5_000,
                    100,
                    600_000,
                )?),
                keep_alive: Duration::from_secs(number(
                    &get,
                    "IPLS_KEEP_ALIVE_SECS",
                    15,
                    0,
                    3_600,
                )?),
                max_connections: number(&get, "IPLS_MAX_CONNECTIONS", 1_024, 1, 1_000_000)?,
                max_query_bytes: number(&get, "IPLS_MAX_QUERY_BYTES", 16_384, 1_024, 1 << 20)?,
                shutdown_timeout: Duration::from_secs(number(
                    &get,
                    "IPLS_SHUTDOWN_TIMEOUT_SECS",
                    10,
                    0,
                    3_600,
                )?),
            },
            auth_cache_secs: number(&get, "IPLS_AUTH_CACHE_SECS", 2, 0, 60)?,
            checkin_per_minute: number(&get, "IPLS_CHECKIN_PER_MINUTE", 6, 1, 100_000)?,
            tls: tls_paths(get("IPLS_TLS_CERT"), get("IPLS_TLS_KEY"))?,
            master_key: get("IPLS_MASTER_KEY").map(Redacted),
            master_key_file: get("IPLS_MASTER_KEY_FILE").map(PathBuf::from),
            console_idle_minutes: number(&get, "IPLS_CONSOLE_IDLE_MINUTES", 30, 1, 10_080)?,
            console_session_hours: number(&get, "IPLS_CONSOLE_SESSION_HOURS", 12, 1, 720)?,
            console_require_2fa: boolean(&get, "IPLS_CONSOLE_REQUIRE_2FA", false)?,
            mail: mail_settings(get("IPLS_SMTP_URL"), get("IPLS_MAIL_FROM"))?,
            mail_reports: crate::mail::settings::MailReportSettings {
                operator: crate::mail::settings::operator(get("IPLS_OPERATOR_MAIL"))?,
                public_url: crate::mail::settings::public_url(get("IPLS_PUBLIC_URL"))?,
                poll: Duration::from_millis(number(
                    &get,
                    "IPLS_MAIL_POLL_MS",
                    60_000,
                    10,
                    3_600_000,
                )?),
                retry_schedule: crate::retry_schedule::parse(
                    &get("IPLS_MAIL_RETRY_SCHEDULE")
                        .unwrap_or_else(|| crate::mail::settings::DEFAULT_RETRY_SCHEDULE.into()),
                )
                .map_err(|e| format!("IPLS_MAIL_RETRY_SCHEDULE={e}"))?,
            },
            webhooks: WebhookSettings {
                workers: number(&get, "IPLS_WEBHOOK_WORKERS", 2, 0, 64)?,
                poll: Duration::from_millis(number(
                    &get,
                    "IPLS_WEBHOOK_POLL_MS",
                    1_000,
                    10,
                    600_000,
                )?),
                timeout: Duration::from_millis(number(
                    &get,
                    "IPLS_WEBHOOK_TIMEOUT_MS",
                    10_000,
                    100,
                    120_000,
                )?),
                allow_private: boolean(&get, "IPLS_WEBHOOK_ALLOW_PRIVATE", false)?,
                retry_schedule: crate::retry_schedule::parse(
                    &get("IPLS_WEBHOOK_RETRY_SCHEDULE")
                        .unwrap_or_else(|| crate::retry_schedule::DEFAULT_WEBHOOK_SCHEDULE.into()),
                )
                .map_err(|e| format!("IPLS_WEBHOOK_RETRY_SCHEDULE={e}"))?,
                stale_after: stale_after(get("IPLS_STALE_AFTER"))?,
            },
            relay: relay_settings(&get)?,
        })
    }
}

/// `IPLS_UPSTREAM_*`: the relay's bounds and schedule (docs/upstream.md).
fn relay_settings(get: &impl Fn(&str) -> Option<String>) -> Result<RelaySettings, String> {
    let ms = |key: &str, default: u64, min: u64, max: u64| {
        number(get, key, default, min, max).map(Duration::from_millis)
    };
    let every = number(get, "IPLS_UPSTREAM_RECONCILE_SECS", 3_600u64, 0, 604_800)?;
    Ok(RelaySettings {
        call_timeout: ms("IPLS_UPSTREAM_TIMEOUT_MS", 10_000, 100, 120_000)?,
        queue_wait: ms("IPLS_UPSTREAM_QUEUE_WAIT_MS", 3_000, 0, 60_000)?,
        poll: ms("IPLS_UPSTREAM_POLL_MS", 2_000, 10, 600_000)?,
        workers: number(get, "IPLS_UPSTREAM_WORKERS", 4, 0, 64)?,
        reconcile_every: (every > 0).then(|| Duration::from_secs(every)),
        reconcile_repairs: boolean(get, "IPLS_UPSTREAM_RECONCILE_REPAIR", true)?,
        alert_after: Duration::from_secs(number(
            get,
            "IPLS_UPSTREAM_ALERT_AFTER_SECS",
            900,
            1,
            604_800,
        )?),
    })
}

/// Both or neither: a certificate without its key (or the reverse) is a mistake.
pub fn tls_paths(
    cert: Option<String>,
    key: Option<String>,
) -> Result<Option<(PathBuf, PathBuf)>, String> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some((PathBuf::from(cert), PathBuf::from(key)))),
        (None, None) => Ok(None),
        _ => Err("TLS needs both a certificate and a key (--tls-cert and --tls-key)".into()),
    }
}

/// A non-zero constant (the values passed are literals above zero).
fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(key) else {
        return Ok(default);
    };
    match text.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(format!(
            "{key}={text:?}: expected a whole number from {min} to {max}"
        )),
    }
}

/// `IPLS_STALE_AFTER`: 1 hour to 90 days, 24 hours unless set (`30m`, `36h`, `7d`...).
fn stale_after(text: Option<String>) -> Result<chrono::Duration, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(chrono::Duration::hours(24));
    };
    crate::wire::duration(&text)
        .ok()
        .filter(|d| *d >= chrono::Duration::hours(1) && *d <= chrono::Duration::days(90))
        .ok_or_else(|| format!("IPLS_STALE_AFTER={text:?}: expected 1h to 90d, e.g. 24h"))
}

/// Mail is on when `IPLS_SMTP_URL` is set, and then it needs `IPLS_MAIL_FROM`.
fn mail_settings(
    url: Option<String>,
    from: Option<String>,
) -> Result<Option<crate::mail::MailSettings>, String> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let server = crate::mail::parse_url(&url)?;
    let from = from
        .filter(|f| !f.trim().is_empty())
        .ok_or("IPLS_MAIL_FROM is required with IPLS_SMTP_URL: the address mail is sent from")?;
    Ok(Some(crate::mail::MailSettings {
        server,
        from: crate::mail::parse_from(&from)?,
    }))
}

fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: bool,
) -> Result<bool, String> {
    match get(key) {
        None => Ok(default),
        Some(text) => {
            parse_bool(&text).ok_or_else(|| format!("{key}={text:?}: expected true or false"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::parse(DEFAULT_DATABASE_URL).unwrap()
        );
        assert_eq!(c.bind, DEFAULT_BIND);
        assert_eq!(c.token_window, 300);
        assert!(!c.allow_private_ips);
    }

    #[test]
    fn bad_values_are_named() {
        let err = config(&[("IPLS_TOKEN_WINDOW", "soon")]).unwrap_err();
        assert!(err.contains("IPLS_TOKEN_WINDOW"), "{err}");
        let err = config(&[("IPLS_ALLOW_PRIVATE_IPS", "maybe")]).unwrap_err();
        assert!(err.contains("IPLS_ALLOW_PRIVATE_IPS"), "{err}");
        assert!(config(&[("IPLS_TOKEN_WINDOW", "0")]).is_err());
        let err = config(&[("IPLS_TRUSTED_PROXIES", "10.0.0.0/8,nonsense")]).unwrap_err();
        assert!(err.contains("nonsense"), "{err}");
    }

    #[test]
    fn trusted_proxies() {
        let c = config(&[("IPLS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
    }
}

//! `ipls doctor`: checks a setup and prints one line per check, `ok`, `warn` or `fail`, and
//! exits non-zero when any fails. It reads; it changes nothing (no migration, no key file).

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use chrono::{DateTime, Utc};
use diesel::sql_types::Timestamptz;
use diesel::{QueryableByName, RunQueryDsl};
use ipnet::IpNet;

use super::error::CliError;
use crate::config::Config;
use crate::db::{self, migrate, Backend, DbConnection};
use crate::domain::resellers;
use crate::secrets::{self, default_key_file, read_key_file};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok,
    Warn,
    Fail,
}

struct Report {
    worst: Level,
}

impl Report {
    fn line(&mut self, level: Level, check: &str, text: impl AsRef<str>) {
        let word = match level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        // One line per check, whatever the text (libpq's messages span several).
        let words: Vec<&str> = text.as_ref().split_whitespace().collect();
        println!("{word}  {check:<16} {}", words.join(" "));
        self.worst = self.worst.max(level);
    }
}

/// Tokens are minted from the clock: beyond this the database's and the host's disagree.
const CLOCK_SKEW_SECS: i64 = 30;
/// A certificate expiring sooner than this is a warning.
const CERT_DAYS: i64 = 30;

/// `config`: the settings as read from the environment, or why they could not be.
pub fn run(config: Result<Config, String>) -> Result<(), CliError> {
    let mut report = Report { worst: Level::Ok };
    let config = match config {
        Ok(config) => {
            report.line(Level::Ok, "settings", "every setting is in range");
            config
        }
        Err(e) => {
            report.line(Level::Fail, "settings", e);
            return Err("1 check failed".into());
        }
    };
    let conn = database(&mut report, &config);
    master_key(&mut report, &config, conn);
    tls(&mut report, &config);
    bind(&mut report, &config);
    proxies(&mut report, &config.trusted_proxies);
    mail(&mut report, config.mail.as_ref());
    match report.worst {
        Level::Fail => Err("at least one check failed".into()),
        _ => Ok(()),
    }
}

/// Mail is optional: off is fine; on, its server must answer.
fn mail(report: &mut Report, settings: Option<&crate::mail::MailSettings>) {
    let Some(settings) = settings else {
        report.line(
            Level::Ok,
            "mail",
            "off (IPLS_SMTP_URL not set): ipls e-mails nobody",
        );
        return;
    };
    match crate::mail::Mailer::new(settings).and_then(|m| m.check().map(|()| m.server)) {
        Ok(server) => report.line(
            Level::Ok,
            "mail",
            format!("{server} answers; mail from {}", settings.from),
        ),
        Err(e) => report.line(Level::Fail, "mail", e),
    }
}

fn database(report: &mut Report, config: &Config) -> Option<DbConnection> {
    let url = &config.database_url;
    // Opening a missing SQLite file would create it: the doctor only looks.
    if url.backend == Backend::Sqlite && !Path::new(&url.target).exists() {
        report.line(
            Level::Fail,
            "database",
            format!(
                "no database at {} (ipls migrate or ipls serve creates it)",
                url.target
            ),
        );
        return None;
    }
    let current = match migrate::schema_state(url) {
        Ok(migrate::SchemaState::Current) => {
            report.line(
                Level::Ok,
                "database",
                format!("{url:?} reachable, schema current"),
            );
            true
        }
        Ok(migrate::SchemaState::Behind(n)) => {
            report.line(
                Level::Fail,
                "database",
                format!("{url:?}: {n} migration(s) pending: run `ipls migrate`"),
            );
            false
        }
        Ok(migrate::SchemaState::Newer(versions)) => {
            report.line(
                Level::Fail,
                "database",
                format!(
                    "{url:?}: migrated by a newer ipls ({}): upgrade this binary",
                    versions.join(", ")
                ),
            );
            false
        }
        Err(e) => {
            report.line(Level::Fail, "database", e);
            return None;
        }
    };
    let mut conn = db::establish(url).ok()?;
    server_role(report, &mut conn);
    clock(report, &mut conn);
    // The secrets are checked only against a schema this binary knows.
    current.then_some(conn)
}

#[derive(QueryableByName)]
struct ServerRole {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    host: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    port: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    standby: bool,
}

/// Postgres: which server of the URL's hosts the connection reached, and whether it takes
/// writes (with several hosts, libpq picks the first that answers as the URL's
/// `target_session_attrs` asks; docs/scaling.md, "High availability").
fn server_role(report: &mut Report, conn: &mut DbConnection) {
    let DbConnection::Postgresql(pg) = conn else {
        return;
    };
    let role = diesel::sql_query(
        "SELECT host(inet_server_addr()) AS host, inet_server_port() AS port, \
         pg_is_in_recovery() AS standby",
    )
    .get_result::<ServerRole>(pg);
    match role {
        Ok(role) => {
            let server = match (role.host, role.port) {
                (Some(host), Some(port)) => format!("{host}:{port}"),
                _ => "a local socket".to_string(),
            };
            if role.standby {
                report.line(
                    Level::Fail,
                    "database server",
                    format!(
                        "{server} is a standby (read-only): ipls needs the primary; with several \
                         hosts, add target_session_attrs=read-write to DATABASE_URL"
                    ),
                );
            } else {
                report.line(
                    Level::Ok,
                    "database server",
                    format!("{server}, the primary (takes writes)"),
                );
            }
        }
        Err(e) => report.line(
            Level::Fail,
            "database server",
            format!("cannot tell which server answered: {e}"),
        ),
    }
}

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
}

fn clock(report: &mut Report, conn: &mut DbConnection) {
    let DbConnection::Postgresql(pg) = conn else {
        report.line(
            Level::Ok,
            "clock",
            "SQLite: the database's clock is this host's",
        );
        return;
    };
    match diesel::sql_query("SELECT now() AS now").get_result::<Now>(pg) {
        Ok(Now { now }) => {
            let skew = (Utc::now() - now).num_seconds().abs();
            let level = if skew > CLOCK_SKEW_SECS {
                Level::Warn
            } else {
                Level::Ok
            };
            report.line(
                level,
                "clock",
                format!(
                    "the database's clock and this host's differ by {skew} s \
                     (tokens are checked against the host's; more than {CLOCK_SKEW_SECS} s is a warning)"
                ),
            );
        }
        Err(e) => report.line(
            Level::Warn,
            "clock",
            format!("cannot read the database's clock: {e}"),
        ),
    }
}

fn master_key(report: &mut Report, config: &Config, conn: Option<DbConnection>) {
    let file = match (
        &config.master_key,
        &config.master_key_file,
        config.database_url.backend,
    ) {
        (Some(_), _, _) => None,
        (None, Some(path), _) => Some(path.clone()),
        (None, None, Backend::Sqlite) => Some(default_key_file(&config.database_url.target)),
        (None, None, Backend::Postgres) => {
            report.line(
                Level::Fail,
                "master key",
                "Postgres needs IPLS_MASTER_KEY or IPLS_MASTER_KEY_FILE",
            );
            return;
        }
    };
    if let Some(path) = &file {
        if !path.exists() {
            // `ipls serve` creates it on first start; before that there is nothing to open.
            report.line(
                Level::Warn,
                "master key",
                format!(
                    "{} does not exist yet (ipls serve creates it, mode 0600)",
                    path.display()
                ),
            );
            return;
        }
        if let Err(e) = read_key_file(path) {
            report.line(Level::Fail, "master key", e);
            return;
        }
    }
    let secrets = match secrets::load(&config.master_key_settings()) {
        Ok(secrets) => secrets,
        Err(e) => {
            report.line(Level::Fail, "master key", e);
            return;
        }
    };
    let source = match &file {
        Some(path) => format!("{} (mode 0600)", path.display()),
        None => "IPLS_MASTER_KEY".to_string(),
    };
    let Some(mut conn) = conn else {
        report.line(
            Level::Ok,
            "master key",
            format!("{source} readable (the secrets are checked once the database is current)"),
        );
        return;
    };
    let accounts = match resellers::list(&mut conn) {
        Ok(accounts) => accounts,
        Err(e) => {
            report.line(
                Level::Fail,
                "master key",
                format!("cannot read resellers: {e}"),
            );
            return;
        }
    };
    let unopened: Vec<&str> = accounts
        .iter()
        .filter(|r| secrets::is_sealed(&r.secret) && resellers::clear_secret(r, &secrets).is_err())
        .map(|r| r.login.as_str())
        .collect();
    if unopened.is_empty() {
        report.line(
            Level::Ok,
            "master key",
            format!("{source} opens all {} reseller secret(s)", accounts.len()),
        );
    } else {
        report.line(
            Level::Fail,
            "master key",
            format!(
                "{source} does not open the secrets of {}",
                unopened.join(", ")
            ),
        );
    }
}

fn tls(report: &mut Report, config: &Config) {
    let Some((cert, key)) = &config.tls else {
        report.line(
            Level::Ok,
            "tls",
            "not configured (plain HTTP; put a TLS proxy in front, or set IPLS_TLS_CERT and IPLS_TLS_KEY)",
        );
        return;
    };
    if let Err(e) = crate::tls::server_config(cert, key) {
        report.line(Level::Fail, "tls", e);
        return;
    }
    match days_left(cert) {
        Ok(days) if days < 0 => report.line(
            Level::Fail,
            "tls",
            format!("{} expired {} day(s) ago", cert.display(), -days),
        ),
        Ok(days) if days < CERT_DAYS => report.line(
            Level::Warn,
            "tls",
            format!("{} expires in {days} day(s)", cert.display()),
        ),
        Ok(days) => report.line(
            Level::Ok,
            "tls",
            format!(
                "{} and its key fit together; it expires in {days} days",
                cert.display()
            ),
        ),
        Err(e) => report.line(Level::Fail, "tls", e),
    }
}

/// Days until the first certificate of the PEM file expires.
fn days_left(cert: &Path) -> Result<i64, String> {
    use rustls_pki_types::pem::PemObject;
    let der = rustls_pki_types::CertificateDer::from_pem_file(cert)
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
    let not_after = parsed.validity().not_after.timestamp();
    Ok((not_after - Utc::now().timestamp()).div_euclid(86_400))
}

fn bind(report: &mut Report, config: &Config) {
    let Ok(addr) = config.bind.parse::<SocketAddr>() else {
        report.line(
            Level::Fail,
            "bind",
            format!("IPLS_BIND={:?} is not an address:port", config.bind),
        );
        return;
    };
    match TcpListener::bind(addr) {
        Ok(_) => report.line(Level::Ok, "bind", format!("{addr} is free")),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => report.line(
            Level::Warn,
            "bind",
            format!("{addr} is in use (is ipls already running?)"),
        ),
        Err(e) => report.line(Level::Fail, "bind", format!("cannot listen on {addr}: {e}")),
    }
}

fn proxies(report: &mut Report, proxies: &[IpNet]) {
    if proxies.is_empty() {
        report.line(
            Level::Ok,
            "trusted proxies",
            "none: X-Forwarded-For is ignored and callers are known by their own address",
        );
        return;
    }
    // A trusted block lets anyone inside it name any address in X-Forwarded-For.
    let wide: Vec<String> = proxies
        .iter()
        .filter(|net| match net {
            IpNet::V4(v4) => v4.prefix_len() < 16,
            IpNet::V6(v6) => v6.prefix_len() < 48,
        })
        .map(|net| net.to_string())
        .collect();
    if wide.is_empty() {
        let list: Vec<String> = proxies.iter().map(|n| n.to_string()).collect();
        report.line(Level::Ok, "trusted proxies", list.join(", "));
    } else {
        report.line(
            Level::Warn,
            "trusted proxies",
            format!(
                "{} trust(s) whole networks: any host in them may claim any client address",
                wide.join(", ")
            ),
        );
    }
}

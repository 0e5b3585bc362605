//! `ipls serve [--bind ADDR] [--demo]`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;

use clap::Args;
use serde::Deserialize;

use super::domain_error;
use super::error::CliError;
use crate::auth::password;
use crate::auth::{self, HashForm};
use crate::bootstrap::open_database;
use crate::clock::Clock;
use crate::config::{tls_paths, Config};
use crate::db;
use crate::domain::catalogue::all_types;
use crate::domain::resellers::{self, ChangedBy, Grants, NewAccount};
use crate::domain::users::{self, NewUser, Role};
use crate::domain::Source;
use crate::secrets::SecretBox;
use crate::server;
use crate::state::AppState;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default IPLS_BIND or 127.0.0.1:8080).
    #[arg(long)]
    bind: Option<String>,
    /// On an empty database, create the demo reseller; print a ready curl line.
    #[arg(long)]
    demo: bool,
    /// HTTP worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key; or IPLS_TLS_CERT).
    #[arg(long)]
    tls_cert: Option<String>,
    /// The PEM private key of --tls-cert (or IPLS_TLS_KEY).
    #[arg(long)]
    tls_key: Option<String>,
}

/// The demo account lives in fixtures/ so that the README's walkthrough can name it.
const DEMO_FIXTURE: &str = include_str!("../../fixtures/demo-reseller.json");

#[derive(Deserialize)]
struct DemoAccount {
    login: String,
    secret: String,
    console_email: String,
    console_password: String,
}

pub fn run(mut config: Config, clock: Arc<dyn Clock>, args: ServeArgs) -> Result<(), CliError> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if args.tls_cert.is_some() || args.tls_key.is_some() {
        config.tls = tls_paths(args.tls_cert, args.tls_key)?;
    }
    // Read the certificate now, so that a bad one is one clear line before anything else.
    if let Some((cert, key)) = &config.tls {
        crate::tls::server_config(cert, key)?;
    }
    let (pool, secrets) = open_database(&config)?;
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    log::info!(
        "ipls {} listening on {scheme}://{local} ({} database {:?})",
        env!("CARGO_PKG_VERSION"),
        config.database_url.backend.name(),
        config.database_url
    );
    // Said once, at start: whether ipls can e-mail anyone.
    match &config.mail {
        Some(mail) => log::info!("mail goes through {mail:?}"),
        None => log::info!("mail is off: IPLS_SMTP_URL is not set"),
    }
    if args.demo {
        demo(&config, clock.as_ref(), local, &secrets)?;
    }
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let state = AppState::new(pool, secrets, config, clock);
    actix_web::rt::System::new()
        .block_on(async move {
            let server = server::start(state, listener, workers)?;
            server.await.map_err(|e| format!("server stopped: {e}"))
        })
        .map_err(CliError::from)
}

/// Creates the demo reseller on an empty database and prints curl lines with a fresh token.
fn demo(
    config: &Config,
    clock: &dyn Clock,
    local: SocketAddr,
    secrets: &SecretBox,
) -> Result<(), CliError> {
    let account: DemoAccount = serde_json::from_str(DEMO_FIXTURE)
        .map_err(|e| format!("fixtures/demo-reseller.json is not valid: {e}"))?;
    let mut conn = db::establish(&config.database_url)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let existing = resellers::list(&mut conn).map_err(domain_error)?;
    let demo = match existing.iter().find(|r| r.login == account.login) {
        Some(demo) => demo.clone(),
        None if existing.is_empty() => {
            let types = all_types(&mut conn).map_err(domain_error)?;
            let grants = Grants {
                limits: types.iter().map(|t| (t.id, None)).collect(),
            };
            let created = resellers::create(
                &mut conn,
                &NewAccount {
                    login: &account.login,
                    secret: &account.secret,
                    trial: false,
                    grants: &grants,
                    now: clock.now().naive_utc(),
                    by: &crate::domain::Source::Cli,
                },
                secrets,
            )
            .map_err(domain_error)?;
            println!(
                "created demo reseller {:?} (secret in fixtures/demo-reseller.json)",
                created.login
            );
            created
        }
        None => {
            println!("--demo: the database already has resellers, so no demo account was created");
            return Ok(());
        }
    };
    let host = match local.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let base = SocketAddr::new(host, local.port());
    let secret = resellers::clear_secret(&demo, secrets).map_err(domain_error)?;
    let token = auth::mint(
        &demo.login,
        &secret,
        clock.now().timestamp(),
        HashForm::LegacySha1,
    )
    .replace('|', "%7C");
    println!(
        "Try it (the token is valid for {} seconds):",
        config.token_window
    );
    let (scheme, insecure) = if config.tls.is_some() {
        ("https", "-k ")
    } else {
        ("http", "")
    };
    println!("  curl {insecure}'{scheme}://{base}/api/ipl/register.json?ip=203.0.113.10&type=1&token={token}'");
    println!("  curl {insecure}'{scheme}://{base}/api/ipl/list.json?token={token}'");
    println!("A fresh token any time: ipls token {}", demo.login);
    demo_console_user(&mut conn, clock, &account, &demo)?;
    println!(
        "Console: {scheme}://{base}/console/ (log in as {} with password {})",
        account.console_email, account.console_password
    );
    Ok(())
}

/// The demo reseller's console user, created once beside it.
fn demo_console_user(
    conn: &mut db::DbConnection,
    clock: &dyn Clock,
    account: &DemoAccount,
    demo: &crate::db::models::Reseller,
) -> Result<(), CliError> {
    if users::find_by_email(conn, &account.console_email)
        .map_err(domain_error)?
        .is_some()
    {
        return Ok(());
    }
    let hash = password::hash(&account.console_password).map_err(domain_error)?;
    users::create(
        conn,
        &NewUser {
            email: &account.console_email,
            password_hash: &hash,
            role: Role::Full,
            reseller_id: Some(demo.id),
        },
        &ChangedBy {
            source: &Source::Server,
            now: clock.now().naive_utc(),
        },
    )
    .map_err(domain_error)?;
    Ok(())
}

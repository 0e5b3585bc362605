//! `ipls backup DEST` and `ipls restore SRC`: a consistent copy of a live SQLite database with
//! its master key file, and putting one back after checking that the pair belongs together.
//! Postgres databases are backed up with Postgres's own tools (the message says how).

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::connect;
use super::error::CliError;
use crate::config::Config;
use crate::db::{self, migrate, Backend, DatabaseUrl, DbConnection};
use crate::domain::resellers;
use crate::domain::upstream::upstreams;
use crate::domain::webhooks::endpoints;
use crate::secrets::{create_key_file, default_key_file, read_key_file, KeySource, SecretBox};

const POSTGRES_GUIDE: &str = "ipls backup and restore copy SQLite databases. For Postgres use its \
own tools: `pg_dump --format=custom --file=ipls.dump DATABASE_URL` (consistent while ipls runs) and \
`pg_restore --clean --dbname=DATABASE_URL ipls.dump`, and keep the master key (IPLS_MASTER_KEY or \
IPLS_MASTER_KEY_FILE) with the dump, apart from it: without the key the reseller and webhook secrets in \
the dump cannot be opened";

fn sqlite_only(config: &Config) -> Result<(), CliError> {
    match config.database_url.backend {
        Backend::Sqlite => Ok(()),
        Backend::Postgres => Err(POSTGRES_GUIDE.into()),
    }
}

/// A SQL string literal (for `VACUUM INTO`, which takes no bound parameter).
fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

pub fn backup(config: &Config, dest: &Path) -> Result<(), CliError> {
    sqlite_only(config)?;
    let (mut conn, secrets) = connect(config)?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", dest.display()))?;
    let dest_key = default_key_file(dest_text);
    for path in [dest, dest_key.as_path()] {
        if path.exists() {
            return Err(format!("{} exists; choose a new name", path.display()).into());
        }
    }
    // One read transaction: the copy is the database as of one moment, while writers go on
    // (WAL); what was committed before the command started is in it.
    conn.batch_execute(&format!("VACUUM INTO {}", sql_literal(dest_text)))
        .map_err(|e| format!("cannot copy the database to {}: {e}", dest.display()))?;
    let key_note = match &secrets.source {
        KeySource::File(path) => {
            copy_key_file(path, &dest_key)?;
            format!("master key file copied to {}", dest_key.display())
        }
        KeySource::Environment => "the master key is IPLS_MASTER_KEY: keep it with this copy \
             (no key file was written)"
            .to_string(),
    };
    let key = match &secrets.source {
        KeySource::File(_) => KeyOf::File(dest_key.clone()),
        KeySource::Environment => KeyOf::Loaded(&secrets),
    };
    let summary = verify(dest_text, &key)?;
    println!("backed up to {} ({summary})", dest.display());
    println!("{key_note}");
    Ok(())
}

pub fn restore(config: &Config, source: &Path, force: bool) -> Result<(), CliError> {
    sqlite_only(config)?;
    let source_text = source
        .to_str()
        .ok_or_else(|| format!("{}: the path is not UTF-8", source.display()))?;
    if !source.is_file() {
        return Err(format!("{}: no such backup file", source.display()).into());
    }
    let source_key = default_key_file(source_text);
    let env_key;
    let key = if config.master_key.is_some() {
        env_key = crate::secrets::load(&config.master_key_settings())?;
        KeyOf::Loaded(&env_key)
    } else {
        KeyOf::File(source_key.clone())
    };
    migrate::refuse_newer(&migrate::schema_state(&sqlite_url(source_text)?)?)?;
    let summary = verify(source_text, &key)?;
    let target = PathBuf::from(&config.database_url.target);
    let target_key = config
        .master_key_file
        .clone()
        .unwrap_or_else(|| default_key_file(&config.database_url.target));
    if target.exists() && !force {
        return Err(format!(
            "{} exists: stop every ipls using it, then run restore again with --force to replace it",
            target.display()
        ).into());
    }
    // The copy is written beside the target and renamed over it, so the target is either the
    // old database or the whole restored one. The old WAL files would be replayed into the
    // restored database: they go first.
    let staged = PathBuf::from(format!("{}.restoring", target.display()));
    fs::copy(source, &staged)
        .and_then(|_| OpenOptions::new().write(true).open(&staged)?.sync_all())
        .map_err(|e| format!("cannot copy {} beside the target: {e}", source.display()))?;
    for suffix in ["-wal", "-shm"] {
        let stale = PathBuf::from(format!("{}{suffix}", target.display()));
        if stale.exists() {
            fs::remove_file(&stale)
                .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
        }
    }
    fs::rename(&staged, &target)
        .map_err(|e| format!("cannot put the copy in place at {}: {e}", target.display()))?;
    if let KeyOf::File(path) = &key {
        let staged_key = PathBuf::from(format!("{}.restoring", target_key.display()));
        let _ = fs::remove_file(&staged_key);
        copy_key_file(path, &staged_key)?;
        fs::rename(&staged_key, &target_key).map_err(|e| {
            format!(
                "cannot put the key file in place at {}: {e}",
                target_key.display()
            )
        })?;
    }
    println!(
        "restored {} to {} ({summary})",
        source.display(),
        target.display()
    );
    if let KeyOf::File(_) = key {
        println!("master key file: {}", target_key.display());
    }
    Ok(())
}

/// Where the key of a copy comes from: its key file, or the key this process was given.
enum KeyOf<'a> {
    File(PathBuf),
    Loaded(&'a SecretBox),
}

fn sqlite_url(path: &str) -> Result<DatabaseUrl, String> {
    DatabaseUrl::parse(&format!("sqlite://{path}"))
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Opens the copy, runs `PRAGMA integrity_check`, and opens every secret in it with its key.
/// Returns a one-line summary.
fn verify(path: &str, key: &KeyOf<'_>) -> Result<String, String> {
    let mut conn = db::establish(&sqlite_url(path)?)
        .map_err(|e| format!("{path}: cannot open the copy: {e}"))?;
    let DbConnection::Sqlite(lite) = &mut conn else {
        return Err(format!("{path}: not a SQLite database"));
    };
    let checked: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
        .load(lite)
        .map_err(|e| format!("{path}: integrity check failed: {e}"))?;
    if checked.len() != 1 || checked[0].integrity_check != "ok" {
        let problems: Vec<String> = checked.into_iter().map(|r| r.integrity_check).collect();
        return Err(format!(
            "{path}: integrity check failed: {}",
            problems.join("; ")
        ));
    }
    let from_file;
    let secrets = match key {
        KeyOf::Loaded(secrets) => *secrets,
        KeyOf::File(file) => {
            let key = read_key_file(file)?;
            from_file = SecretBox::new(&key, KeySource::File(file.clone()));
            &from_file
        }
    };
    let accounts = resellers::list(&mut conn).map_err(|e| CliError::from(e).message)?;
    for reseller in &accounts {
        resellers::clear_secret(reseller, secrets).map_err(|_| {
            format!("{path}: the master key does not open reseller {}'s secret: wrong key for this copy", reseller.login)
        })?;
    }
    let hooks = endpoints::list(&mut conn, None).map_err(|e| CliError::from(e).message)?;
    for hook in &hooks {
        endpoints::signing_secret(&hook.endpoint, secrets).map_err(|_| {
            format!(
                "{path}: the master key does not open webhook endpoint {}'s secret",
                hook.endpoint.id
            )
        })?;
    }
    let upstreams = upstreams::list(&mut conn).map_err(|e| CliError::from(e).message)?;
    for view in &upstreams {
        upstreams::clear_secret(&view.upstream, secrets).map_err(|_| {
            format!(
                "{path}: the master key does not open upstream {}'s secret",
                view.upstream.name
            )
        })?;
    }
    let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "{bytes} bytes, integrity ok, {} reseller(s), every secret opens with its key",
        accounts.len()
    ))
}

/// Copies a key file (read and checked as any key file is) to a new file with mode 0600.
fn copy_key_file(from: &Path, to: &Path) -> Result<(), String> {
    create_key_file(to, &read_key_file(from)?)
}

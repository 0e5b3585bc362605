//! Which backend a `DATABASE_URL` names. Chosen by scheme here rather than by diesel's
//! derived `establish`, which tries each backend in turn and lets SQLite accept anything.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A parsed database location: the backend and what to hand to its driver.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// For Postgres the full URL; for SQLite the file path.
    pub target: String,
    /// Postgres reached through a pooler in transaction mode (PgBouncer's `pool_mode =
    /// transaction`, `IPLS_PG_TRANSACTION_POOLER`): every statement must work on whichever
    /// server connection the pooler picks, so no named prepared statements and no session
    /// settings (see `db::pooler`).
    pub transaction_pooler: bool,
}

impl DatabaseUrl {
    /// The same location, reached through a transaction pooler or not.
    pub fn behind_pooler(self, transaction_pooler: bool) -> Self {
        Self {
            transaction_pooler,
            ..self
        }
    }

    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_string(),
                transaction_pooler: false,
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path == ":memory:" {
            // Every pooled connection would get its own empty in-memory database.
            return Err(format!(
                "DATABASE_URL {url:?}: give SQLite a file path, e.g. sqlite://ipls.db"
            ));
        }
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(format!(
                "DATABASE_URL {:?}: unsupported scheme (use postgres://, postgresql:// or sqlite://)",
                redact_password(url)
            ));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_string(),
            transaction_pooler: false,
        })
    }
}

/// Never print a database password (logs, error lines): the one in the user info
/// (`user:PASSWORD@host`) and a `password=` query parameter (libpq reads both).
pub fn redact_password(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = redact_user_info(head);
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

fn redact_user_info(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end + 3],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.backend.name(),
            redact_password(&self.target)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_backend() {
        let pg = DatabaseUrl::parse("postgres://u@h/db").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        assert_eq!(pg.target, "postgres://u@h/db");
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().backend,
            Backend::Postgres
        );
        let lite = DatabaseUrl::parse("sqlite://ipls.db").unwrap();
        assert_eq!(
            (lite.backend, lite.target.as_str()),
            (Backend::Sqlite, "ipls.db")
        );
        let abs = DatabaseUrl::parse("sqlite:///var/lib/ipls.db").unwrap();
        assert_eq!(abs.target, "/var/lib/ipls.db");
        assert_eq!(DatabaseUrl::parse("data/x.db").unwrap().target, "data/x.db");
    }

    #[test]
    fn rejects_what_cannot_work() {
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
        assert!(DatabaseUrl::parse("mysql://root@h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://ipls:s3cret@db:5432/ipls"),
            "postgres://ipls:***@db:5432/ipls"
        );
        assert_eq!(redact_password("postgres://db/ipls"), "postgres://db/ipls");
        assert_eq!(
            redact_password(
                "postgres://ipls@db1:5432,db2:5432/ipls?password=s3cret&sslmode=require"
            ),
            "postgres://ipls@db1:5432,db2:5432/ipls?password=***&sslmode=require"
        );
        assert_eq!(
            redact_password("postgres://u:p@h/d?PASSWORD=x"),
            "postgres://u:***@h/d?PASSWORD=***"
        );
    }
}

//! Who acts, for whom, from where, and when: what every mutation records in its history. The
//! one way a face says "act as this reseller" (`ActingFor`, resolved inside the call's
//! transaction) and names itself (`Source`).

use std::fmt;

use chrono::NaiveDateTime;

use super::{keys, resellers};
use crate::db::models::Reseller;
use crate::db::DbConnection;
use crate::error::DomainError;

/// Who is acting, from where, and when: recorded with every mutation.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub reseller: &'a Reseller,
    /// The `source` the history records (`Source`'s text).
    pub source: &'a str,
    pub now: NaiveDateTime,
}

impl<'a> Actor<'a> {
    pub fn new(reseller: &'a Reseller, source: &'a str, now: NaiveDateTime) -> Self {
        Self {
            reseller,
            source,
            now,
        }
    }
}

/// Where a change came from, as the history's `source` column stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A reseller's API call (REST or XML-RPC) or a server's check-in: the caller's address.
    Address(String),
    /// A console user, by e-mail.
    Console(String),
    /// An admin API token, by name.
    AdminToken(String),
    /// The operator's command line.
    Cli,
    /// `ipls import cln` from this host.
    Import(String),
    /// ipls itself: a trial that ran out, a default key made at start-up.
    Server,
    /// The relay, after what an upstream said (`domain::upstream`): an interrupted
    /// registration settled, a reconcile's repair or adoption, check-ins brought over.
    Upstream(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Address(addr) => f.write_str(addr),
            Source::Console(email) => write!(f, "console:{email}"),
            Source::AdminToken(name) => write!(f, "admin:{name}"),
            Source::Cli => f.write_str("cli"),
            Source::Import(host) => write!(f, "import:{host}"),
            Source::Server => f.write_str("ipls"),
            Source::Upstream(name) => write!(f, "upstream:{name}"),
        }
    }
}

impl Source {
    /// A stored `source` read back.
    pub fn parse(stored: &str) -> Source {
        let after = |prefix: &str| stored.strip_prefix(prefix).map(String::from);
        if let Some(email) = after("console:") {
            Source::Console(email)
        } else if let Some(name) = after("admin:") {
            Source::AdminToken(name)
        } else if let Some(host) = after("import:") {
            Source::Import(host)
        } else if let Some(name) = after("upstream:") {
            Source::Upstream(name)
        } else if stored == "cli" {
            Source::Cli
        } else if stored == "ipls" {
            Source::Server
        } else {
            Source::Address(stored.to_string())
        }
    }

    /// In words, for people reading a history (`action` tells a check-in from an API call).
    pub fn describe(stored: &str, action: &str) -> String {
        match Source::parse(stored) {
            Source::Address(addr) if action == "checkin" => format!("server check-in from {addr}"),
            Source::Address(addr) => format!("API call from {addr}"),
            Source::Console(email) => format!("console user {email}"),
            Source::AdminToken(name) => format!("admin API token {name}"),
            Source::Cli => "operator (CLI)".to_string(),
            Source::Import(host) => format!("import from {host}"),
            Source::Server => "ipls (automatic)".to_string(),
            Source::Upstream(name) => format!("relay, after upstream {name}"),
        }
    }
}

/// For whom a face acts: a reseller it already holds, one named by login, or the owner of an
/// activation key (the admin API and the CLI act on keys by their text).
#[derive(Debug, Clone)]
pub enum ActingFor {
    Reseller(Reseller),
    Login(String),
    KeyOwner(String),
}

/// Not found for the operator's faces.
pub const NO_SUCH_KEY: &str = "no such key";

impl ActingFor {
    /// The reseller, as it is now in this transaction.
    pub fn resolve(self, conn: &mut DbConnection) -> Result<Reseller, DomainError> {
        match self {
            ActingFor::Reseller(reseller) => Ok(reseller),
            ActingFor::Login(login) => resellers::get(conn, &login),
            ActingFor::KeyOwner(key) => {
                let found =
                    keys::find(conn, &key)?.ok_or_else(|| DomainError::not_found(NO_SUCH_KEY))?;
                resellers::by_id(conn, found.reseller_id)
            }
        }
    }
}

/// Resolves `who` and runs `f` as that reseller: the one body behind every face's "act as".
pub fn act<T>(
    conn: &mut DbConnection,
    who: ActingFor,
    source: &Source,
    now: NaiveDateTime,
    f: impl FnOnce(&mut DbConnection, &Actor<'_>) -> Result<T, DomainError>,
) -> Result<T, DomainError> {
    let reseller = who.resolve(conn)?;
    let source = source.to_string();
    f(conn, &Actor::new(&reseller, &source, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_read_as_words() {
        for source in [
            Source::Address("203.0.113.5".into()),
            Source::Console("a@example.com".into()),
            Source::AdminToken("billing".into()),
            Source::Cli,
            Source::Import("cln.example.com".into()),
            Source::Server,
            Source::Upstream("cln".into()),
        ] {
            assert_eq!(Source::parse(&source.to_string()), source);
        }
        assert_eq!(
            Source::describe("admin:billing", "register"),
            "admin API token billing"
        );
        assert_eq!(Source::describe("ipls", "create"), "ipls (automatic)");
        assert_eq!(
            Source::describe("203.0.113.5", "checkin"),
            "server check-in from 203.0.113.5"
        );
        assert_eq!(
            Source::describe("203.0.113.5", "register"),
            "API call from 203.0.113.5"
        );
    }
}

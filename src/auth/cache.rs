//! A bounded cache of verified reseller accounts (with their secret in clear), so that a call
//! does not pay a database round trip and a decryption just to authenticate.
//!
//! Bound: an entry is used for at most `ttl` after it was read from the database, so a
//! blocked, rotated, restricted or deleted account is honoured within `ttl`
//! (`IPLS_AUTH_CACHE_SECS`, default 2 s; 0 turns the cache off). Only accounts that exist are
//! cached, so unknown logins cannot fill it; it holds at most `MAX_ENTRIES`.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::db::models::Reseller;
use crate::domain::resellers::secrets::NamedSecret;

const MAX_ENTRIES: usize = 10_000;

#[derive(Clone)]
pub struct CachedAccount {
    pub reseller: Reseller,
    pub secret: String,
    /// Its named secrets, in clear (`domain::resellers::secrets`).
    pub named: Vec<NamedSecret>,
}

struct Entry {
    account: CachedAccount,
    read_at: DateTime<Utc>,
}

pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl AuthCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, entry: &Entry, now: DateTime<Utc>) -> bool {
        now >= entry.read_at && now - entry.read_at < self.ttl
    }

    pub fn get(&self, login: &str, now: DateTime<Utc>) -> Option<CachedAccount> {
        if self.ttl <= Duration::zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(login)
            .filter(|entry| self.fresh(entry, now))
            .map(|entry| entry.account.clone())
    }

    pub fn put(&self, account: CachedAccount, now: DateTime<Utc>) {
        if self.ttl <= Duration::zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, entry| now >= entry.read_at && now - entry.read_at < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            account.reseller.login.clone(),
            Entry {
                account,
                read_at: now,
            },
        );
    }
}

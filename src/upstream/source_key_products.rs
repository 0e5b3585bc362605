//! Reading another service's CloudLinux OS (API v2) and ELS keys with their servers, for
//! `ipls import cln`. Their servers are listed by number, not by a server id an agent
//! presents, so each imported server gets a new server id here.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::source::{whole, Account};
use crate::domain::keys::import::{IncomingKey, IncomingServer};
use crate::domain::keys::products::{code_type, new_server_id, Product};

#[derive(Deserialize)]
struct CloudLinuxKey {
    key: String,
    product_type: String,
    #[serde(default)]
    usage_limit: Option<Value>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct CloudLinuxServer {
    key: String,
    ip: String,
    #[serde(default)]
    hostname: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ElsKey {
    key: String,
    product_code: String,
    #[serde(default)]
    usage_limit: Option<Value>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ElsServer {
    key: String,
    ip: String,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    last_checkin: Option<String>,
}

/// A key as either product's list gives it.
struct ListedKey {
    key: String,
    code: String,
    limit: Option<Value>,
    description: Option<String>,
}

/// A server as either product's list gives it.
struct ListedServer {
    key: String,
    ip: String,
    hostname: Option<String>,
    last_checkin: Option<chrono::NaiveDateTime>,
}

impl From<CloudLinuxKey> for ListedKey {
    fn from(k: CloudLinuxKey) -> Self {
        Self {
            key: k.key,
            code: k.product_type,
            limit: k.usage_limit,
            description: k.description,
        }
    }
}

impl From<ElsKey> for ListedKey {
    fn from(k: ElsKey) -> Self {
        Self {
            key: k.key,
            code: k.product_code,
            limit: k.usage_limit,
            description: k.description,
        }
    }
}

impl From<CloudLinuxServer> for ListedServer {
    fn from(s: CloudLinuxServer) -> Self {
        Self {
            key: s.key,
            ip: s.ip,
            hostname: s.hostname,
            last_checkin: None,
        }
    }
}

impl From<ElsServer> for ListedServer {
    fn from(s: ElsServer) -> Self {
        // The Go client's date: `2022-09-05 14:22:23.781372`.
        let seen = s
            .last_checkin
            .as_deref()
            .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok());
        Self {
            key: s.key,
            ip: s.ip,
            hostname: s.hostname,
            last_checkin: seen,
        }
    }
}

/// Where a product's keys and servers are listed, and which product it is.
struct Listing {
    product: Product,
    keys: &'static str,
    servers: &'static str,
}

const CLOUDLINUX: Listing = Listing {
    product: Product::CloudLinux,
    keys: "/api/v2/cl/keys",
    servers: "/api/v2/cl/servers",
};

const ELS: Listing = Listing {
    product: Product::Els,
    keys: "/api/els/key/list.json",
    servers: "/api/els/srv/list.json",
};

fn rows<T: DeserializeOwned>(path: &str, data: Value) -> Result<Vec<T>, String> {
    serde_json::from_value(data).map_err(|e| format!("{path}: unexpected rows: {e}"))
}

impl Account {
    /// The account's CloudLinux OS keys with their servers; None when the service does not
    /// answer API v2's key calls.
    pub async fn cloudlinux_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        self.keys_of::<CloudLinuxKey, CloudLinuxServer>(&CLOUDLINUX, now)
            .await
    }

    /// The account's ELS keys with their servers; None when the service does not answer
    /// the ELS key calls.
    pub async fn els_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        self.keys_of::<ElsKey, ElsServer>(&ELS, now).await
    }

    async fn keys_of<K, S>(
        &self,
        listing: &Listing,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>>
    where
        K: DeserializeOwned + Into<ListedKey>,
        S: DeserializeOwned + Into<ListedServer>,
    {
        let listed = self.call(listing.keys, &[]).await.ok()?;
        Some(self.read::<K, S>(listing, listed, now).await)
    }

    async fn read<K, S>(
        &self,
        listing: &Listing,
        listed: Value,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<IncomingKey>, String>
    where
        K: DeserializeOwned + Into<ListedKey>,
        S: DeserializeOwned + Into<ListedServer>,
    {
        let keys: Vec<K> = rows(listing.keys, listed)?;
        let servers = self
            .call(listing.servers, &[])
            .await
            .map_err(|e| format!("{}: {}", listing.servers, e.text()))?;
        let servers: Vec<S> = rows(listing.servers, servers)?;
        let mut grouped: HashMap<String, Vec<IncomingServer>> = HashMap::new();
        for listed in servers {
            let s: ListedServer = listed.into();
            let server = IncomingServer {
                server_id: new_server_id().map_err(|e| e.to_string())?,
                ip: s.ip,
                hostname: s.hostname.filter(|h| !h.is_empty()),
                created: now,
                last_checkin: s.last_checkin,
            };
            grouped.entry(s.key).or_default().push(server);
        }
        Ok(keys
            .into_iter()
            .map(|k| {
                let k: ListedKey = k.into();
                IncomingKey {
                    type_id: code_type(listing.product, &k.code).unwrap_or(0),
                    limit: whole(k.limit.as_ref()),
                    note: k.description.unwrap_or_default(),
                    created: now,
                    servers: grouped.remove(&k.key).unwrap_or_default(),
                    key_text: k.key,
                }
            })
            .collect())
    }
}

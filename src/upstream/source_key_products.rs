//! Reading another service's CloudLinux OS (API v2) and ELS keys with their servers, for
//! `ipls import cln`. Their servers are listed by number, not by a server id an agent
//! presents, so each imported server gets a new server id here.

use std::collections::HashMap;

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

fn server(
    ip: String,
    hostname: Option<String>,
    last_checkin: Option<chrono::NaiveDateTime>,
    now: chrono::NaiveDateTime,
) -> Result<IncomingServer, String> {
    Ok(IncomingServer {
        server_id: new_server_id().map_err(|e| e.to_string())?,
        ip,
        hostname: hostname.filter(|h| !h.is_empty()),
        created: now,
        last_checkin,
    })
}

/// Servers grouped under their key's text.
fn by_key(servers: Vec<(String, IncomingServer)>) -> HashMap<String, Vec<IncomingServer>> {
    let mut grouped: HashMap<String, Vec<IncomingServer>> = HashMap::new();
    for (key, server) in servers {
        grouped.entry(key).or_default().push(server);
    }
    grouped
}

impl Account {
    /// The account's CloudLinux OS keys with their servers; None when the service does not
    /// answer API v2's key calls.
    pub async fn cloudlinux_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        let listed = self.call("/api/v2/cl/keys", &[]).await.ok()?;
        Some(self.cloudlinux_read(listed, now).await)
    }

    async fn cloudlinux_read(
        &self,
        listed: Value,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<IncomingKey>, String> {
        let keys: Vec<CloudLinuxKey> = serde_json::from_value(listed)
            .map_err(|e| format!("v2 cl keys: unexpected rows: {e}"))?;
        let servers = self
            .call("/api/v2/cl/servers", &[])
            .await
            .map_err(|e| format!("v2 cl servers: {}", e.text()))?;
        let servers: Vec<CloudLinuxServer> = serde_json::from_value(servers)
            .map_err(|e| format!("v2 cl servers: unexpected rows: {e}"))?;
        let mut grouped = by_key(
            servers
                .into_iter()
                .map(|s| Ok((s.key, server(s.ip, s.hostname, None, now)?)))
                .collect::<Result<_, String>>()?,
        );
        Ok(keys
            .into_iter()
            .map(|k| IncomingKey {
                type_id: code_type(Product::CloudLinux, &k.product_type).unwrap_or(0),
                limit: whole(k.usage_limit.as_ref()),
                note: k.description.unwrap_or_default(),
                created: now,
                servers: grouped.remove(&k.key).unwrap_or_default(),
                key_text: k.key,
            })
            .collect())
    }

    /// The account's ELS keys with their servers; None when the service does not answer
    /// the ELS key calls.
    pub async fn els_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        let listed = self.call("/api/els/key/list.json", &[]).await.ok()?;
        Some(self.els_read(listed, now).await)
    }

    async fn els_read(
        &self,
        listed: Value,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<IncomingKey>, String> {
        let keys: Vec<ElsKey> = serde_json::from_value(listed)
            .map_err(|e| format!("els key/list.json: unexpected rows: {e}"))?;
        let servers = self
            .call("/api/els/srv/list.json", &[])
            .await
            .map_err(|e| format!("els srv/list.json: {}", e.text()))?;
        let servers: Vec<ElsServer> = serde_json::from_value(servers)
            .map_err(|e| format!("els srv/list.json: unexpected rows: {e}"))?;
        let mut grouped = by_key(
            servers
                .into_iter()
                .map(|s| {
                    let seen = s.last_checkin.as_deref().and_then(|t| {
                        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").ok()
                    });
                    Ok((s.key, server(s.ip, s.hostname, seen, now)?))
                })
                .collect::<Result<_, String>>()?,
        );
        Ok(keys
            .into_iter()
            .map(|k| IncomingKey {
                type_id: code_type(Product::Els, &k.product_code).unwrap_or(0),
                limit: whole(k.usage_limit.as_ref()),
                note: k.description.unwrap_or_default(),
                created: now,
                servers: grouped.remove(&k.key).unwrap_or_default(),
                key_text: k.key,
            })
            .collect())
    }
}

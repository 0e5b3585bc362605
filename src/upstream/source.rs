//! Reading a CLN-compatible account for `ipls import cln`: its IP licenses (list.json, then
//! server.json a batch at a time), their ELS settings where the service says them, and its
//! activation keys with their servers (KernelCare and Imunify key calls) where it answers
//! those calls. Calls go through the relay's client: pooled, at the given rate.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::client::{CallError, Client};
use super::cln::{cln_date, ListRow, ServerRow};
use crate::db::models::Upstream;
use crate::domain::keys::import::{IncomingKey, IncomingServer};
use crate::domain::keys::products::{imunify_type, KERNELCARE_TYPE};

/// A call bound for an import: list.json of a large account is megabytes.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// An account at a CLN-compatible service, and ipls's credentials there.
pub struct Account {
    pub upstream: Upstream,
    pub secret: String,
    client: Client,
}

#[derive(Deserialize)]
struct KernelCareKey {
    key: String,
    #[serde(default)]
    limit: Option<Value>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Deserialize)]
struct KernelCareServer {
    server_id: String,
    ip: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    last_checkin: Option<String>,
}

#[derive(Deserialize)]
struct ImunifyKey {
    key: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default, rename = "type")]
    type_id: Option<i32>,
    #[serde(default)]
    limit: Option<Value>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(Deserialize)]
struct ImunifyServer {
    id: String,
    ip: String,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    last_checkin: Option<String>,
}

/// A number CLN writes as a number or as a string.
pub(super) fn whole(value: Option<&Value>) -> i32 {
    match value {
        Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn date_or(text: Option<&str>, fallback: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    text.and_then(cln_date).unwrap_or(fallback)
}

impl Account {
    pub fn new(upstream: Upstream, secret: String) -> Self {
        Self {
            upstream,
            secret,
            client: Client::default(),
        }
    }

    pub async fn call(
        &self,
        endpoint: &str,
        params: &[(&str, String)],
    ) -> Result<Value, CallError> {
        self.client
            .call(&self.upstream, &self.secret, endpoint, params, CALL_TIMEOUT)
            .await
    }

    /// One key's servers from `path`, or why not (the path names the call in the message).
    async fn rows<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
    ) -> Result<Vec<T>, String> {
        let data = self
            .call(path, &[("key", key.to_string())])
            .await
            .map_err(|e| format!("{path}: {}", e.text()))?;
        serde_json::from_value(data).map_err(|e| format!("{path}: unexpected rows: {e}"))
    }

    /// Every license of the account.
    pub async fn licenses(&self) -> Result<Vec<ListRow>, String> {
        let data = self
            .call("list", &[])
            .await
            .map_err(|e| format!("list.json: {}", e.text()))?;
        serde_json::from_value(data).map_err(|e| format!("list.json: unexpected rows: {e}"))
    }

    /// server.json for up to 100 addresses.
    pub async fn servers(&self, ips: &[&str]) -> Result<Vec<ServerRow>, String> {
        let data = self
            .call("server", &[("ip", ips.join(","))])
            .await
            .map_err(|e| format!("server.json: {}", e.text()))?;
        serde_json::from_value(data).map_err(|e| format!("server.json: unexpected rows: {e}"))
    }

    /// ELS settings by (ip, type), when the service says them: ipls's own
    /// `/api/v2/ip-license/licenses` does; CLN's published calls do not (None).
    pub async fn els_settings(&self) -> Option<HashMap<(String, i32), bool>> {
        let data = self.call("/api/v2/ip-license/licenses", &[]).await.ok()?;
        let rows: Vec<ServerRow> = serde_json::from_value(data).ok()?;
        rows.into_iter()
            .map(|r| r.els_allowed.map(|els| ((r.ip, r.type_id), els)))
            .collect()
    }

    /// The account's KernelCare keys with their servers; None when the service does not
    /// answer the KernelCare key calls.
    pub async fn kernelcare_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        let listed = self.call("/api/kcare/key/list.json", &[]).await.ok()?;
        let keys: Vec<KernelCareKey> = match serde_json::from_value(listed) {
            Ok(keys) => keys,
            Err(e) => return Some(Err(format!("kcare key/list.json: unexpected rows: {e}"))),
        };
        let mut out = Vec::new();
        for key in keys {
            let servers: Vec<KernelCareServer> =
                match self.rows("/api/kcare/key/servers.json", &key.key).await {
                    Ok(servers) => servers,
                    Err(e) => return Some(Err(e)),
                };
            out.push(IncomingKey {
                type_id: KERNELCARE_TYPE,
                limit: whole(key.limit.as_ref()),
                note: key.note.unwrap_or_default(),
                created: date_or(key.created.as_deref(), now),
                servers: servers
                    .into_iter()
                    .map(|s| {
                        incoming_server(
                            s.server_id,
                            s.ip,
                            s.created.as_deref(),
                            s.last_checkin.as_deref(),
                            now,
                        )
                    })
                    .collect(),
                key_text: key.key,
            });
        }
        Some(Ok(out))
    }

    /// The account's Imunify keys with their servers; None when the service does not answer
    /// the Imunify key calls.
    pub async fn imunify_keys(
        &self,
        now: chrono::NaiveDateTime,
    ) -> Option<Result<Vec<IncomingKey>, String>> {
        let listed = self.call("/api/im/key/list.json", &[]).await.ok()?;
        let keys: Vec<ImunifyKey> = match serde_json::from_value(listed) {
            Ok(keys) => keys,
            Err(e) => return Some(Err(format!("im key/list.json: unexpected rows: {e}"))),
        };
        let mut out = Vec::new();
        for key in keys {
            let servers: Vec<ImunifyServer> =
                match self.rows("/api/im/srv/list.json", &key.key).await {
                    Ok(servers) => servers,
                    Err(e) => return Some(Err(e)),
                };
            let type_id = key
                .type_id
                .or_else(|| key.code.as_deref().and_then(imunify_type))
                .unwrap_or(0);
            out.push(IncomingKey {
                type_id,
                limit: whole(key.limit.as_ref()),
                note: key.note.unwrap_or_default(),
                created: date_or(key.created.as_deref(), now),
                servers: servers
                    .into_iter()
                    .map(|s| {
                        incoming_server(
                            s.id,
                            s.ip,
                            s.created.as_deref(),
                            s.last_checkin.as_deref(),
                            now,
                        )
                    })
                    .collect(),
                key_text: key.key,
            });
        }
        Some(Ok(out))
    }
}

/// A key's server as the other service lists it (both products give the same four facts).
fn incoming_server(
    server_id: String,
    ip: String,
    created: Option<&str>,
    last_checkin: Option<&str>,
    now: chrono::NaiveDateTime,
) -> IncomingServer {
    IncomingServer {
        server_id,
        ip,
        hostname: None,
        created: date_or(created, now),
        last_checkin: last_checkin.and_then(cln_date),
    }
}

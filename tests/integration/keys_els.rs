//! ELS activation keys (keys.md, "ELS keys") exactly as the Go client (`cloudlinux-go`)
//! calls them: GET, its parameters with the token sorted and percent-encoded by Go's
//! `url.Values.Encode`, `Content-Type: application/json` on a bodiless GET; and its answers
//! decoded as strictly as Go's `encoding/json` decodes them into its typed structs (a number
//! where it wants a string fails).

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::keys_common::{plain, server_count};
use crate::common::{http, Reseller, TestServer};
use crate::key_tests;

/// The Go client's `baseModel`, and its answers' `data`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    message: Option<String>,
    data: Option<T>,
}

/// `ELSResponse.Data`, and each `ELSListResponse.Data` row.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct KeyRow {
    key: String,
    product_code: String,
    usage_limit: String,
    description: String,
}

/// `ELSRemoveResponse.Data`.
#[derive(Debug, Deserialize)]
struct RemovedKey {
    key: String,
}

/// `ELSListServersResponse.Data` rows and `ELSRemoveServerResponse.Data`.
#[derive(Debug, Deserialize, PartialEq, Clone)]
struct ServerRow {
    id: String,
    key: String,
    ip: String,
    hostname: String,
}

/// The Go client's request: `GET /api/els/...?` its non-empty parameters and the token,
/// sorted by name and query-escaped (`|` as `%7C`, space as `+`).
fn go_call<T: DeserializeOwned>(
    r: &Reseller,
    endpoint: &str,
    params: &[(&str, &str)],
) -> Envelope<T> {
    let token = r.token();
    let mut all: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    all.push(("token", &token));
    all.sort();
    let query = serde_urlencoded::to_string(&all).unwrap();
    let target = format!("/api/els/{endpoint}.json?{query}");
    let response = http::request(
        r.addr,
        "GET",
        &target,
        &[
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
        ],
        b"",
    );
    serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "{target}: the Go client cannot decode {}: {e}",
            response.text()
        )
    })
}

fn register(srv: &TestServer, key: &str, host: &str) -> serde_json::Value {
    plain(
        srv.addr,
        &format!("/api/els/register_server.json?key={key}&hostname={host}"),
    )
}

/// `2022-09-05 14:22:23.781372`: the Go client's date.
fn is_els_date(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.6f").is_ok()
        && text.len() == "2022-09-05 14:22:23.781372".len()
}

key_tests! {
    fn the_go_clients_calls_and_shapes(srv, kind) {
        let r = srv.add_reseller("alice", &[3, 5017]);
        // ELSCreate: `code`, `note`, `limit`, all strings.
        let created: Envelope<KeyRow> = go_call(&r, "key/create", &[("code", "CELS"), ("note", "123"), ("limit", "2")]);
        assert!(created.success, "{kind:?}: {:?}", created.message);
        let row = created.data.unwrap();
        let key = row.key.clone();
        assert!(key.starts_with("CELS-") && key.len() == 29, "{key}");
        assert_eq!(row, KeyRow { key: key.clone(), product_code: "CELS".into(), usage_limit: "2".into(), description: "123".into() });
        // The contract's spelling, productType, is accepted too.
        let seven: Envelope<KeyRow> = go_call(&r, "key/create", &[("productType", "CELS7"), ("limit", "1")]);
        assert_eq!(seven.data.unwrap().product_code, "CELS7");

        // ELSList with productType: the key's row as create answered it (and the default key).
        let listed: Envelope<Vec<KeyRow>> = go_call(&r, "key/list", &[("productType", "CELS")]);
        let rows = listed.data.unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].usage_limit, "0", "the default key is unlimited");
        assert_eq!(rows[1].key, key);

        // ELSUpdate.
        let updated: Envelope<KeyRow> = go_call(&r, "key/update", &[("key", &key), ("limit", "3"), ("note", "renamed")]);
        assert_eq!(updated.data.unwrap(), KeyRow { key: key.clone(), product_code: "CELS".into(), usage_limit: "3".into(), description: "renamed".into() });

        // Servers register, check in, and are listed latest check-in first, in its date format.
        let first = register(&srv, &key, "first.example");
        assert_eq!(first["data"]["code"], 0, "{first}");
        let second = register(&srv, &key, "second.example");
        let second_id = second["data"]["server_id"].as_str().unwrap().to_string();
        srv.clock.advance(chrono::Duration::seconds(90));
        let checked = plain(srv.addr, &format!("/api/server/checkin.json?server_id={second_id}"));
        assert_eq!(checked["success"], true, "{checked}");
        let servers: Envelope<Vec<ServerRow>> = go_call(&r, "srv/list", &[("productType", "CELS")]);
        let servers = servers.data.unwrap();
        assert_eq!(servers.iter().map(|s| s.hostname.as_str()).collect::<Vec<_>>(), ["second.example", "first.example"]);
        assert!(servers[0].id.parse::<i64>().is_ok(), "{servers:?}");
        let raw = r.ok("/api/els/srv/list.json", "productType=CELS");
        assert!(is_els_date(raw[0]["lastCheckin"].as_str().unwrap()), "{raw}");
        assert_eq!(raw[1]["lastCheckin"], serde_json::Value::Null);

        // ELSRemoveServer sends `id` to key/remove.json (its bug): that server goes.
        let removed: Envelope<ServerRow> = go_call(&r, "key/remove", &[("id", &servers[1].id)]);
        assert_eq!(removed.data.unwrap(), servers[1]);
        assert_eq!(server_count(&srv, &key), 1);
        // srv/remove.json with `id`, as the contract has it.
        let removed: Envelope<ServerRow> = go_call(&r, "srv/remove", &[("id", &servers[0].id)]);
        assert_eq!(removed.data.unwrap(), servers[0]);
        assert_eq!(server_count(&srv, &key), 0);

        // ELSRemove: the key with all its servers.
        register(&srv, &key, "again.example");
        let gone: Envelope<RemovedKey> = go_call(&r, "key/remove", &[("key", &key)]);
        assert_eq!(gone.data.unwrap().key, key);
        assert_eq!(server_count(&srv, &key), 0);

        // Refusals decode too: success false, a message, null data.
        let refused: Envelope<KeyRow> = go_call(&r, "key/create", &[("code", "NOPE"), ("limit", "1")]);
        assert!(!refused.success && refused.data.is_none());
        assert!(refused.message.unwrap().contains("Unknown productType"));
        let disabled: Envelope<KeyRow> = go_call(&r, "key/create", &[("code", "OELS"), ("limit", "1")]);
        assert!(disabled.message.unwrap().contains("not enabled"), "{kind:?}");
        let unknown: Envelope<RemovedKey> = go_call(&r, "key/remove", &[("key", &key)]);
        assert_eq!(unknown.message.as_deref(), Some("Key not found"));
    }

    fn a_full_els_key_refuses_and_a_removed_server_frees_its_slot(srv, kind) {
        let r = srv.add_reseller("alice", &[3]);
        let created: Envelope<KeyRow> = go_call(&r, "key/create", &[("code", "CELS"), ("limit", "1")]);
        let key = created.data.unwrap().key;
        let first = register(&srv, &key, "a");
        assert_eq!(first["data"]["code"], 0);
        let full = register(&srv, &key, "b");
        assert_eq!((full["data"]["code"].clone(), full["message"].clone()), (serde_json::json!(3), serde_json::json!("Key limit reached")), "{kind:?}");
        let servers: Envelope<Vec<ServerRow>> = go_call(&r, "srv/list", &[("productType", "CELS")]);
        let id = servers.data.unwrap()[0].id.clone();
        let _: Envelope<ServerRow> = go_call(&r, "srv/remove", &[("id", &id)]);
        assert_eq!(register(&srv, &key, "b")["data"]["code"], 0);
    }
}

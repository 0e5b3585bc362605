//! The activation-key endpoints in `/api/openapi.json` (docs/api.md, "Activation keys"):
//! KernelCare and Imunify management with the token, and the registration calls servers
//! make without one. Same table form as `openapi.rs`.

use serde_json::{json, Value};

use super::openapi::{date, done, Operation, Param};
use crate::domain::keys::manage::MAX_LIMIT;

fn key_text() -> Value {
    json!({"type": "string", "maxLength": 64, "description": "A key: 16 letters and digits, IM and 16 for Imunify"})
}
fn server_id() -> Value {
    json!({"type": "string", "maxLength": 64, "description": "A server id: 16 letters and digits"})
}
fn limit() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{1,7}$",
           "description": format!("Servers the key may hold, 0 (unlimited) to {MAX_LIMIT}")})
}
fn note() -> Value {
    json!({"type": "string", "maxLength": 1000, "description": "Cut to 100 characters"})
}
fn code() -> Value {
    json!({"type": "string", "enum": ["AVP", "360_1", "360_5", "360_30", "360_250", "360_UN", "CLEAN"]})
}
fn cidr() -> Value {
    json!({"type": "string", "maxLength": 4000,
           "description": "CIDR blocks separated by spaces, commas or semicolons; empty clears"})
}
fn hostname() -> Value {
    json!({"type": "string", "maxLength": 1000, "description": "Cut to 255 characters"})
}
fn optional_date() -> Value {
    json!({"anyOf": [date(), {"type": "null"}]})
}
fn text() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer"})
}
fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required,
           "properties": properties})
}

fn bare_key() -> Value {
    json!({"type": "string", "description": "The new key"})
}
fn kcare_keys() -> Value {
    json!({"type": "array", "items": object(
        &["key", "enabled", "created", "limit", "note", "servers", "default"],
        json!({"key": text(), "enabled": {"type": "boolean"}, "created": date(), "limit": int(),
               "note": text(), "servers": int(), "default": {"type": "boolean"}}))})
}
fn kcare_servers() -> Value {
    json!({"type": "array", "items": object(&["server_id", "ip", "created", "last_checkin"],
        json!({"server_id": text(), "ip": text(), "created": date(), "last_checkin": optional_date()}))})
}
fn code_only() -> Value {
    object(
        &["code"],
        json!({"code": {"type": "integer", "enum": [0, 1, 2]}}),
    )
}
fn removed_server() -> Value {
    object(
        &["server_id", "key"],
        json!({"server_id": text(), "key": text()}),
    )
}
fn registration() -> Value {
    object(
        &["server_id", "code"],
        json!({
        "server_id": {"type": ["string", "null"]},
        "code": {"type": "integer", "enum": [0, 1, 2, 3, 4],
                 "description": "0 registered, 1 account locked, 2 unknown key, 3 limit reached, 4 address outside the key's ranges"}}),
    )
}
fn im_key() -> Value {
    object(
        &["key", "limit", "code"],
        json!({"key": text(), "limit": text(), "code": text()}),
    )
}
fn im_updated() -> Value {
    object(
        &["key", "limit", "code", "servers"],
        json!({"key": text(), "limit": text(), "code": text(), "servers": text()}),
    )
}
fn im_refs() -> Value {
    json!({"type": "array", "items": im_ref()})
}
fn im_ref() -> Value {
    object(&["id", "key"], json!({"id": text(), "key": text()}))
}
fn im_keys() -> Value {
    json!({"type": "array", "items": object(
        &["key", "type", "code", "limit", "servers", "note", "created"],
        json!({"key": text(), "type": int(), "code": text(), "limit": int(), "servers": int(),
               "note": text(), "created": date()}))})
}
fn im_servers() -> Value {
    json!({"type": "array", "items": object(&["id", "ip", "key", "created", "last_checkin"],
        json!({"id": text(), "ip": text(), "key": text(), "created": date(), "last_checkin": optional_date()}))})
}

const fn param(
    name: &'static str,
    required: bool,
    description: &'static str,
    schema: fn() -> Value,
) -> Param {
    Param {
        name,
        required,
        description,
        schema,
    }
}

const KEY: Param = param("key", true, "The key", key_text);
const LIMIT: Param = param(
    "limit",
    false,
    "Servers the key may hold (default 1; 0 = unlimited)",
    limit,
);
const NOTE: Param = param("note", false, "A note, up to 100 characters", note);
const HOSTNAME: Param = param("hostname", false, "The server's host name", hostname);

const fn op(
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    params: &'static [Param],
    data: fn() -> Value,
    token: bool,
) -> Operation {
    Operation {
        path,
        id,
        summary,
        params,
        data,
        token,
    }
}

pub const KEY_OPERATIONS: &[Operation] = &[
    op(
        "/api/kcare/key/create.json",
        "kcareKeyCreate",
        "Create a KernelCare key",
        &[LIMIT, NOTE],
        bare_key,
        true,
    ),
    op(
        "/api/kcare/key/delete.json",
        "kcareKeyDelete",
        "Delete a key and its servers; false when not the caller's",
        &[KEY],
        done,
        true,
    ),
    op(
        "/api/kcare/key/list.json",
        "kcareKeyList",
        "The caller's KernelCare keys",
        &[],
        kcare_keys,
        true,
    ),
    op(
        "/api/kcare/key/servers.json",
        "kcareKeyServers",
        "A key's servers ([] when not the caller's)",
        &[KEY],
        kcare_servers,
        true,
    ),
    op(
        "/api/kcare/key/set_cidr.json",
        "kcareKeySetCidr",
        "Replace a key's IP ranges",
        &[KEY, param("cidr", true, "The ranges", cidr)],
        code_only,
        true,
    ),
    op(
        "/api/kcare/srv/remove.json",
        "kcareServerRemove",
        "Remove a server from the caller's key",
        &[param("server_id", true, "The server", server_id)],
        removed_server,
        true,
    ),
    op(
        "/api/kcare/register_server.json",
        "kcareRegisterServer",
        "A server registers with a key (no token; rate-limited per source)",
        &[KEY, HOSTNAME],
        registration,
        false,
    ),
    op(
        "/api/kcare/unregister_server.json",
        "kcareUnregisterServer",
        "A server leaves its key (no token; rate-limited per source)",
        &[
            param("server_id", true, "The server", server_id),
            param("key", false, "Its key, checked when given", key_text),
        ],
        done,
        false,
    ),
    op(
        "/api/im/key/create.json",
        "imKeyCreate",
        "Create an Imunify key",
        &[
            param("code", true, "The product", code),
            LIMIT,
            NOTE,
            param(
                "description",
                false,
                "The note, as the WHMCS module names it",
                note,
            ),
        ],
        im_key,
        true,
    ),
    op(
        "/api/im/key/update.json",
        "imKeyUpdate",
        "Change a key's limit or note",
        &[KEY, LIMIT, NOTE],
        im_updated,
        true,
    ),
    op(
        "/api/im/key/remove.json",
        "imKeyRemove",
        "Delete a key; the servers it had",
        &[KEY],
        im_refs,
        true,
    ),
    op(
        "/api/im/key/list.json",
        "imKeyList",
        "The caller's Imunify keys",
        &[],
        im_keys,
        true,
    ),
    op(
        "/api/im/srv/list.json",
        "imServerList",
        "A key's servers",
        &[KEY],
        im_servers,
        true,
    ),
    op(
        "/api/im/srv/remove.json",
        "imServerRemove",
        "Remove a server from the caller's key",
        &[param("id", true, "The server", server_id)],
        im_ref,
        true,
    ),
    op(
        "/api/im/srv/convert.json",
        "imServerConvert",
        "Move a server to another of the caller's Imunify keys",
        &[param("id", true, "The server", server_id), KEY],
        im_ref,
        true,
    ),
    op(
        "/api/im/register_server.json",
        "imRegisterServer",
        "A server registers with an Imunify key (no token; rate-limited per source)",
        &[KEY, HOSTNAME],
        registration,
        false,
    ),
];

//! `GET /api/openapi.json`: the CLN-compatible REST endpoints as they behave, described in
//! OpenAPI 3.1 so that partners can generate a client. Built here from tables of
//! operations, so every endpoint gets the same envelope, the same token, GET and form POST,
//! and the same error answers. Contract: docs/api.md.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

/// One CLN endpoint: its path, what it does, its parameters and the schema of `data` on
/// success.
pub struct Operation {
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    pub data: fn() -> Value,
    /// Takes the reseller's token.
    pub token: bool,
}

pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub description: &'static str,
    pub schema: fn() -> Value,
}

fn ip() -> Value {
    json!({"type": "string", "description": "An IPv4 or IPv6 address", "maxLength": 45})
}
fn type_id() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{1,9}$", "description": "A license type id"})
}
fn boolean_text() -> Value {
    json!({"type": "string", "enum": ["true", "false", "1", "0"]})
}
/// Up to 100 addresses of at most 45 characters, with commas (server.json's limit).
fn ip_list() -> Value {
    json!({"type": "string", "maxLength": 4_600})
}
/// `server_info` of a check-in (`domain::checkin::MAX_SERVER_INFO` characters at most).
fn server_info() -> Value {
    json!({"type": "string", "maxLength": crate::domain::checkin::MAX_SERVER_INFO})
}
fn month() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})
}

pub fn date() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}[+-][0-9]{4}$",
           "description": "yyyy-MM-ddTHH:mm and a numeric offset (UTC: +0000)"})
}

fn types_list() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn license_row() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["created", "ip", "registered", "type"],
        "properties": {"created": date(), "ip": {"type": "string"}, "registered": {"type": "boolean"},
                       "type": {"type": "integer"}}})
}

fn server_row() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["server_info", "ip", "type", "registered", "created", "last_checkin"],
        "properties": {"server_info": {"type": ["string", "null"]}, "ip": {"type": "string"},
            "type": {"type": "integer"}, "registered": {"type": "boolean"}, "created": date(),
            "last_checkin": {"anyOf": [date(), {"type": "null"}]}}})
}

fn availability() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["available", "owned"],
        "properties": {"available": types_list(), "owned": types_list()}})
}

fn registered() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["ip", "type", "registered", "created"],
        "properties": {"ip": {"type": "string"}, "type": {"type": "integer"},
                       "registered": {"type": "boolean"}, "created": date()}})
}

pub fn done() -> Value {
    json!({"type": "boolean"})
}

fn licenses() -> Value {
    json!({"type": "array", "items": license_row()})
}

fn servers() -> Value {
    json!({"type": "array", "items": server_row()})
}

fn status() -> Value {
    let flag = json!({"type": "boolean"});
    json!({"type": "object", "additionalProperties": false,
        "required": ["db_clweb_connected", "db_clweb_online", "db_rhn_connected", "db_rhn_online",
                     "xmlrpc", "ip_server_reg", "rhn_overloaded", "rhn_queue_full", "version", "database"],
        "properties": {"db_clweb_connected": flag, "db_clweb_online": flag, "db_rhn_connected": flag,
            "db_rhn_online": flag, "xmlrpc": flag, "ip_server_reg": flag, "rhn_overloaded": flag,
            "rhn_queue_full": flag, "version": {"type": "string"},
            "database": {"type": "string", "enum": ["postgres", "sqlite"]}}})
}

fn checkin() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["ip", "types"],
        "properties": {"ip": {"type": "string"}, "types": types_list()}})
}

fn usage() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["month", "usage"],
        "properties": {"month": {"type": "string"}, "usage": {"type": "array", "items": {
            "type": "object", "additionalProperties": false,
            "required": ["type", "license_days", "peak", "amount"],
            "properties": {"type": {"type": "integer"}, "license_days": {"type": "integer"},
                "peak": {"type": "integer"},
                "amount": {"type": ["string", "null"], "description": "Prorated amount, decimal; null without a price"}}}}}})
}

fn v2_types() -> Value {
    json!({"type": "array", "items": {"type": "object", "additionalProperties": false,
        "required": ["id", "name", "family"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "family": {"type": "string"}}}})
}

const IP: Param = Param {
    name: "ip",
    required: true,
    description: "The server's address",
    schema: ip,
};
const TYPE: Param = Param {
    name: "type",
    required: true,
    description: "License type",
    schema: type_id,
};
const OPTIONAL_TYPE: Param = Param {
    name: "type",
    required: false,
    description: "License type; missing, empty or 0: every type the caller holds on the IP",
    schema: type_id,
};
const ELS: Param = Param {
    name: "els_allowed",
    required: false,
    description: "Allow extended-lifecycle repositories (default false)",
    schema: boolean_text,
};

const OPERATIONS: &[Operation] = &[
    Operation {
        path: "/api/ipl/availability.json",
        id: "availability",
        summary: "Types the caller holds on an IP, and types it could register there now",
        params: &[IP],
        data: availability,
        token: true,
    },
    Operation {
        path: "/api/ipl/check.json",
        id: "check",
        summary: "Every type registered on an IP by any reseller, ascending",
        params: &[IP],
        data: types_list,
        token: true,
    },
    Operation {
        path: "/api/ipl/register.json",
        id: "register",
        summary: "Register a license (idempotent for its owner)",
        params: &[IP, TYPE, ELS],
        data: registered,
        token: true,
    },
    Operation {
        path: "/api/ipl/remove.json",
        id: "remove",
        summary: "Remove the caller's licenses on an IP; false when nothing matched",
        params: &[IP, OPTIONAL_TYPE],
        data: done,
        token: true,
    },
    Operation {
        path: "/api/ipl/list.json",
        id: "list",
        summary: "Every license the caller holds, by IP then type (streamed)",
        params: &[],
        data: licenses,
        token: true,
    },
    Operation {
        path: "/api/ipl/server.json",
        id: "server",
        summary: "The caller's licenses on up to 100 IPs, with server registration",
        params: &[Param {
            name: "ip",
            required: true,
            description: "Comma-separated addresses, up to 100",
            schema: ip_list,
        }],
        data: servers,
        token: true,
    },
    Operation {
        path: "/api/ipl/update.json",
        id: "update",
        summary: "Set els_allowed on the caller's licenses on an IP",
        params: &[
            IP,
            OPTIONAL_TYPE,
            Param {
                name: "els_allowed",
                required: true,
                description: "The new value",
                schema: boolean_text,
            },
        ],
        data: done,
        token: true,
    },
    Operation {
        path: "/api/ipl/convert.json",
        id: "convert",
        summary: "Move a license to another type of its convertible family, keeping created",
        params: &[
            IP,
            TYPE,
            Param {
                name: "type_to",
                required: true,
                description: "The type to move to",
                schema: type_id,
            },
        ],
        data: done,
        token: true,
    },
    Operation {
        path: "/api/status.json",
        id: "status",
        summary: "Health in CLN's shape (no token)",
        params: &[],
        data: status,
        token: false,
    },
    Operation {
        path: "/api/server/checkin.json",
        id: "checkin",
        summary: "A server checks in from its own address (no token; rate-limited per source)",
        params: &[Param {
            name: "server_info",
            required: false,
            description: "Free text about the server, up to 1024 characters",
            schema: server_info,
        }],
        data: checkin,
        token: false,
    },
    Operation {
        path: "/api/usage.json",
        id: "usage",
        summary: "The caller's license-days per type for a month",
        params: &[Param {
            name: "month",
            required: false,
            description: "YYYY-MM (default: the current month)",
            schema: month,
        }],
        data: usage,
        token: true,
    },
    Operation {
        path: "/api/v2/ip-license/licenses/types",
        id: "v2Types",
        summary: "The types enabled for the caller",
        params: &[],
        data: v2_types,
        token: true,
    },
    Operation {
        path: "/api/v2/ip-license/licenses",
        id: "v2Licenses",
        summary: "All the caller's licenses, as server.json rows",
        params: &[],
        data: servers,
        token: true,
    },
];

/// The envelope every answer has, with `data` of the success schema or null.
fn envelope(data: Value) -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["success", "message", "type", "data"],
        "properties": {
            "success": {"type": "boolean"},
            "message": {"type": ["string", "null"], "description": "Why it failed; null on success"},
            "type": {"type": "null"},
            "data": {"anyOf": [data, {"type": "null"}], "description": "null when success is false"}}})
}

fn answer(description: &str, data: Value) -> Value {
    json!({"description": description,
        "content": {"application/json": {"schema": envelope(data)}}})
}

fn responses(op: &Operation) -> Value {
    let mut r = Map::new();
    r.insert(
        "200".into(),
        answer(
            "The envelope: success true with data, or success false with a message \
             (refusals and failed authentication are HTTP 200, as CLN answers)",
            (op.data)(),
        ),
    );
    // Token calls spend failure budgets; calls without a token but with input (check-in,
    // server registration) a per-source budget; only status.json has neither.
    if op.token || !op.params.is_empty() {
        r.insert(
            "429".into(),
            answer(
                "Too many failed authentications (or check-ins, or server registrations) from this source",
                json!({"type": "null"}),
            ),
        );
    }
    r.insert(
        "503".into(),
        answer("The database does not answer", (op.data)()),
    );
    r.insert(
        "500".into(),
        answer("Unexpected server error", json!({"type": "null"})),
    );
    r.insert(
        "405".into(),
        answer("Only GET and POST", json!({"type": "null"})),
    );
    Value::Object(r)
}

fn tag_of(op: &Operation) -> &'static str {
    match (
        op.token,
        op.path.starts_with("/api/kcare") || op.path.starts_with("/api/im"),
    ) {
        (false, _) => "servers",
        (true, true) => "keys",
        (true, false) => "licenses",
    }
}

fn operation(op: &Operation, method: &str) -> Value {
    let mut o = json!({
        "operationId": format!("{}{}", op.id, if method == "get" { "" } else { "Form" }),
        "summary": op.summary,
        "tags": [tag_of(op)],
        "responses": responses(op),
    });
    if !op.token {
        o["security"] = json!([]);
    }
    if method == "get" {
        let params: Vec<Value> = op
            .params
            .iter()
            .map(|p| {
                json!({"name": p.name, "in": "query", "required": p.required,
                       "description": p.description, "schema": (p.schema)()})
            })
            .collect();
        o["parameters"] = Value::Array(params);
    } else {
        let mut properties = Map::new();
        for p in op.params {
            properties.insert(p.name.into(), (p.schema)());
        }
        let required: Vec<&str> = op
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name)
            .collect();
        o["requestBody"] = json!({"required": !required.is_empty(), "content": {
            "application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": properties, "required": required}}}});
    }
    o
}

/// The document, built once per call (it is small; no state).
pub fn document_value() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS.iter().chain(super::openapi_keys::KEY_OPERATIONS) {
        paths.insert(
            op.path.into(),
            json!({"get": operation(op, "get"), "post": operation(op, "post")}),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ipls CLN-compatible API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CloudLinux Network's reseller REST API as ipls answers it. Every \
                answer is the envelope {success, message, type, data}; refusals are HTTP 200 \
                with success false. The token is LOGIN|TS|HASH (docs/api.md); every endpoint \
                takes GET with query parameters or a form POST with the same fields.",
        },
        "paths": paths,
        "components": {"securitySchemes": {"token": {
            "type": "apiKey", "in": "query", "name": "token",
            "description": "LOGIN|TS|sha1_hex(SECRET + TS), or LOGIN|TS|hmac_sha256_hex(SECRET, LOGIN|TS)"}}},
        "security": [{"token": []}],
    })
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(document_value())
}

//! Imunify activation keys (keys.md): codes, the string-typed create and update answers,
//! the number-typed list, server moves between keys, removal, usage and history.

use diesel::prelude::*;
use ipls::db::schema::license_events;
use serde_json::json;

use super::keys_common::{answer, keys, ok, refused, register, server_count};
use crate::key_tests;

key_tests! {
    fn imunify_keys_with_clns_shapes(srv, kind) {
        let r = srv.add_reseller("alice", &[41, 42]);
        // One default key per enabled Imunify type.
        let listed = ok(&r, "im/key/list", "");
        let codes: Vec<&str> = listed.as_array().unwrap().iter().map(|k| k["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["360_1", "360_30"], "{kind:?}: {listed}");
        let default_30 = listed[1]["key"].as_str().unwrap().to_string();

        // The WHMCS module sends `description`; `limit` comes back as a string here.
        let created = ok(&r, "im/key/create", "code=360_1&limit=2&description=Client+Two");
        let key = created["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("IM") && key.len() == 18, "{key}");
        assert_eq!(created, json!({"key": key, "limit": "2", "code": "360_1"}));
        let listed = ok(&r, "im/key/list", "");
        assert_eq!(
            listed[2],
            json!({"key": key, "type": 41, "code": "360_1", "limit": 2, "servers": 0,
                   "note": "Client Two", "created": "2026-11-28T12:00+0000"})
        );
        assert!(listed[2]["limit"].is_i64() && listed[2]["type"].is_i64());

        let first = register(&srv, "im", &key);
        assert_eq!(first["data"]["code"], 0, "{first}");
        let first_id = first["data"]["server_id"].as_str().unwrap().to_string();
        let second_id = register(&srv, "im", &key)["data"]["server_id"].as_str().unwrap().to_string();
        assert_eq!(register(&srv, "im", &key)["data"]["code"], 3);
        assert_eq!(
            ok(&r, "im/srv/list", &format!("key={key}")),
            json!([
                {"id": first_id, "ip": "127.0.0.1", "key": key, "created": "2026-11-28T12:00+0000", "last_checkin": null},
                {"id": second_id, "ip": "127.0.0.1", "key": key, "created": "2026-11-28T12:00+0000", "last_checkin": null},
            ])
        );

        // update: absent fields stay; a limit below the servers held is refused.
        assert_eq!(
            ok(&r, "im/key/update", &format!("key={key}&limit=5")),
            json!({"key": key, "limit": "5", "code": "360_1", "servers": "2"})
        );
        let message = refused(&r, "im/key/update", &format!("key={key}&limit=1"));
        assert!(message.contains("below") && message.contains('2'), "{message}");
        assert_eq!(ok(&r, "im/key/update", &format!("key={key}&note=renamed"))["limit"], "5");
        assert_eq!(keys(&srv)[2].3, "renamed");
        assert_eq!(ok(&r, "im/key/update", &format!("key={key}&limit=0"))["limit"], "0");

        // A server moves to another of the caller's Imunify keys.
        let moved = ok(&r, "im/srv/convert", &format!("id={first_id}&key={default_30}"));
        assert_eq!(moved, json!({"id": first_id, "key": default_30}));
        assert_eq!(server_count(&srv, &default_30), 1);
        assert_eq!(server_count(&srv, &key), 1);
        let tiny = ok(&r, "im/key/create", "code=360_30&limit=1")["key"].as_str().unwrap().to_string();
        register(&srv, "im", &tiny);
        let message = refused(&r, "im/srv/convert", &format!("id={second_id}&key={tiny}"));
        assert!(message.contains("Maximum usage count of 1 reached"), "{message}");
        assert_eq!(server_count(&srv, &key), 1, "{kind:?}: a refused move changes nothing");

        // Removal of a server, then of a key with its servers.
        assert_eq!(ok(&r, "im/srv/remove", &format!("id={first_id}")), json!({"id": first_id, "key": default_30}));
        assert_eq!(answer(&r, "im/srv/remove", &format!("id={first_id}"))["message"], "Server not found");
        assert_eq!(ok(&r, "im/key/remove", &format!("key={key}")), json!([{"id": second_id, "key": key}]));
        assert_eq!(ok(&r, "im/key/remove", &format!("key={key}")), json!([]));
        let message = refused(&r, "im/key/remove", &format!("key={default_30}"));
        assert!(message.contains("cannot be deleted"), "{message}");
    }

    fn imunify_refuses_unknown_and_disabled_codes(srv, kind) {
        let r = srv.add_reseller("alice", &[41]);
        let before = keys(&srv);
        let message = refused(&r, "im/key/create", "code=360_2&limit=1");
        assert!(message.contains("Unknown Imunify code") && message.contains("360_UN"), "{message}");
        assert!(refused(&r, "im/key/create", "limit=1").contains("code is required"));
        let message = refused(&r, "im/key/create", "code=CLEAN&limit=1");
        assert!(message.contains("50 (Imunify Clean)") && message.contains("not enabled"), "{message}");
        assert!(refused(&r, "im/key/update", "key=IMnope&limit=x").contains("limit"));
        assert_eq!(refused(&r, "im/key/update", "key=IMnope&limit=3"), "Key not found");
        assert!(refused(&r, "im/srv/convert", "id=Abcdefghijklmnop").contains("key is required"));
        assert_eq!(refused(&r, "im/srv/convert", "id=Abcdefghijklmnop&key=IMnope"), "Server or key not found");
        assert_eq!(keys(&srv), before, "{kind:?}");
    }

    fn key_servers_count_in_usage_and_history(srv, kind) {
        let r = srv.add_reseller("alice", &[41]);
        let key = ok(&r, "im/key/create", "code=360_1&limit=0")["key"].as_str().unwrap().to_string();
        // 2026-11-28 12:00: two servers; one leaves the next day.
        let a = register(&srv, "im", &key)["data"]["server_id"].as_str().unwrap().to_string();
        register(&srv, "im", &key);
        srv.clock.advance(chrono::Duration::days(1));
        ok(&r, "im/srv/remove", &format!("id={a}"));
        srv.clock.advance(chrono::Duration::days(1));
        // Today is the 30th: server A held the 28th-29th (2), B the 28th-30th (3).
        let usage = r.ok("/api/usage.json", "month=2026-11");
        assert_eq!(
            usage,
            json!({"month": "2026-11", "usage": [{"type": 41, "license_days": 5, "peak": 2, "amount": null, "suspended_days": 0}]}),
            "{kind:?}"
        );
        // December starts with B open (one license, from the opening replay).
        srv.clock.advance(chrono::Duration::days(3));
        let december = r.ok("/api/usage.json", "month=2026-12");
        assert_eq!(december["usage"][0]["license_days"], 3, "{kind:?}: {december}");
        let history: Vec<(String, String, Option<String>)> = license_events::table
            .filter(license_events::action.like("key_%"))
            .order(license_events::id)
            .select((license_events::action, license_events::ip, license_events::server_id))
            .load(&mut srv.conn())
            .unwrap();
        assert_eq!(history.len(), 5, "{history:?}");
        assert_eq!(history[4], ("key_remove".into(), "127.0.0.1".into(), Some(a)));
    }
}

key_tests! {
    fn serve_start_gives_default_keys_to_grants_made_outside_ipls(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        // A grant written by SQL (as before keys existed) has no default key yet.
        diesel::sql_query(
            "INSERT INTO reseller_types (reseller_id, type_id, license_limit) \
             SELECT id, 41, NULL FROM resellers WHERE login = 'alice'",
        )
        .execute(&mut srv.conn())
        .unwrap();
        assert_eq!(ok(&r, "im/key/list", ""), json!([]), "{kind:?}");
        // An instance starting on the database makes it, once.
        let started = srv.another_instance();
        let listed = ok(&r, "im/key/list", "");
        assert_eq!(listed.as_array().unwrap().len(), 1, "{kind:?}: {listed}");
        assert_eq!(listed[0]["note"], "Default key");
        drop(started);
        let again = srv.another_instance();
        assert_eq!(ok(&r, "im/key/list", "").as_array().unwrap().len(), 1);
        drop(again);
        assert_eq!(keys(&srv).len(), 2, "the KernelCare default and the new Imunify one");
    }
}

//! KernelCare activation keys (keys.md): every endpoint's exact `data` and JSON types, the
//! codes of registration and of set_cidr, and what a blocked or foreign reseller meets.

use diesel::prelude::*;
use ipls::db::schema::{activation_keys, key_servers, license_events};
use ipls::domain::resellers::{self, AccountChanges};
use serde_json::json;

use super::keys_common::{answer, keys, ok, plain, refused, register, server_count};
use crate::common::test_secrets;
use crate::{key_tests, on_both_backends};

key_tests! {
    fn kernelcare_key_lifecycle_with_clns_shapes(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        // The product came with its default key: unlimited, undeletable.
        let listed = ok(&r, "kcare/key/list", "");
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        let default_key = listed[0]["key"].as_str().unwrap().to_string();
        assert_eq!(
            listed[0],
            json!({"key": default_key, "enabled": true, "created": "2026-11-28T12:00+0000",
                   "limit": 0, "note": "Default key", "servers": 0, "default": true, "sticky_tag": null})
        );

        let key = ok(&r, "kcare/key/create", "limit=2&note=Client+One");
        let key = key.as_str().expect("create answers the key as a bare string").to_string();
        assert!(key.len() == 16 && key.bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
        let listed = ok(&r, "kcare/key/list", "");
        let row = listed.as_array().unwrap().iter().find(|k| k["key"] == key.as_str()).unwrap();
        assert_eq!(
            *row,
            json!({"key": key, "enabled": true, "created": "2026-11-28T12:00+0000",
                   "limit": 2, "note": "Client One", "servers": 0, "default": false, "sticky_tag": null})
        );
        assert!(row["limit"].is_i64() && row["enabled"].is_boolean());
        // Without a limit, a key holds one server (ours).
        let single = ok(&r, "kcare/key/create", "note=x");
        assert_eq!(keys(&srv).iter().find(|k| k.0 == single.as_str().unwrap()).unwrap().1, 1);

        // Servers register themselves with the key alone.
        let first = register(&srv, "kcare", &key);
        assert_eq!(first["success"], true);
        assert_eq!(first["message"], serde_json::Value::Null);
        assert_eq!(first["data"]["code"], 0);
        let first_id = first["data"]["server_id"].as_str().unwrap().to_string();
        assert!(first_id.len() == 16 && first_id.as_bytes()[0].is_ascii_alphabetic());
        srv.clock.advance(chrono::Duration::minutes(5));
        let second = register(&srv, "kcare", &key);
        let second_id = second["data"]["server_id"].as_str().unwrap().to_string();
        let full = register(&srv, "kcare", &key);
        assert_eq!(
            full,
            json!({"success": true, "message": "Key limit reached", "type": null,
                   "data": {"server_id": null, "code": 3}})
        );
        assert_eq!(server_count(&srv, &key), 2);

        let servers = ok(&r, "kcare/key/servers", &format!("key={key}"));
        assert_eq!(
            servers,
            json!([
                {"server_id": first_id, "ip": "127.0.0.1", "created": "2026-11-28T12:00+0000", "last_checkin": null, "sticky_tag": null},
                {"server_id": second_id, "ip": "127.0.0.1", "created": "2026-11-28T12:05+0000", "last_checkin": null, "sticky_tag": null},
            ])
        );
        // Check-in by server id.
        let checkin = plain(srv.addr, &format!("/api/server/checkin.json?server_id={first_id}"));
        assert_eq!(checkin["data"], json!({"ip": "127.0.0.1", "types": [16], "server_id": first_id}));
        let servers = ok(&r, "kcare/key/servers", &format!("key={key}"));
        assert_eq!(servers[0]["last_checkin"], "2026-11-28T12:05+0000");
        let unknown = plain(srv.addr, "/api/server/checkin.json?server_id=Zzzzzzzzzzzzzzzz");
        assert_eq!(unknown["success"], false);

        // The server leaves: a wrong key changes nothing; its own key removes it, once.
        let unregister = |params: &str| {
            plain(srv.addr, &format!("/api/kcare/unregister_server.json?{params}"))["data"].clone()
        };
        assert_eq!(unregister(&format!("server_id={first_id}&key={default_key}")), false);
        assert_eq!(unregister(&format!("server_id={first_id}&key={key}")), true);
        assert_eq!(unregister(&format!("server_id={first_id}")), false);
        // Its slot is free again.
        assert_eq!(register(&srv, "kcare", &key)["data"]["code"], 0);

        // The reseller removes a server.
        let removed = ok(&r, "kcare/srv/remove", &format!("server_id={second_id}"));
        assert_eq!(removed, json!({"server_id": second_id, "key": key}));
        let again = answer(&r, "kcare/srv/remove", &format!("server_id={second_id}"));
        assert_eq!(
            again,
            json!({"success": true, "message": "Server not found", "type": null, "data": null})
        );

        // Deleting the key takes its servers; the default key stays.
        assert_eq!(ok(&r, "kcare/key/delete", &format!("key={key}")), true);
        assert_eq!(ok(&r, "kcare/key/delete", &format!("key={key}")), false);
        assert_eq!(server_count(&srv, &key), 0);
        let servers_left: i64 = key_servers::table.count().get_result(&mut srv.conn()).unwrap();
        assert_eq!(servers_left, 0, "{kind:?}: the key's servers went with it");
        assert_eq!(refused(&r, "kcare/key/delete", ""), "Parameter key is required");
        let message = refused(&r, "kcare/key/delete", &format!("key={default_key}"));
        assert!(message.contains("default key") && message.contains("cannot be deleted"), "{message}");
        assert!(keys(&srv).iter().any(|k| k.0 == default_key));

        // Every change is in the history.
        let actions: Vec<String> = license_events::table
            .filter(license_events::action.ne("reseller_create"))
            .order(license_events::id)
            .select(license_events::action)
            .load(&mut srv.conn())
            .unwrap();
        assert_eq!(
            actions,
            [
                "key_create", "key_create", "key_create", "key_register", "key_register",
                "key_remove", "key_register", "key_remove", "key_remove", "key_delete",
            ],
            "{kind:?}"
        );
    }

    fn set_cidr_codes_and_ranges(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let set = |cidr: &str| answer(&r, "kcare/key/set_cidr", &format!("key={key}&cidr={cidr}"));
        for (cidr, code) in [("10.0.0.300/8", 1), ("web.example", 1), ("10.0.0.0/33", 2), ("10.0.0.0/x", 2)] {
            let value = set(cidr);
            assert_eq!(value["success"], true, "{value}");
            assert_eq!(value["data"], json!({"code": code}), "{cidr}: {value}");
            assert!(value["message"].as_str().unwrap().contains("range"), "{value}");
        }
        assert_eq!(keys(&srv).last().unwrap().4, None, "{kind:?}: a refused list changes nothing");

        assert_eq!(set("10.0.0.0/8")["data"], json!({"code": 0}));
        let outside = register(&srv, "kcare", &key);
        assert_eq!(outside["data"], json!({"server_id": null, "code": 4}));
        assert!(outside["message"].as_str().unwrap().contains("127.0.0.1"), "{outside}");
        // Several ranges, separated as clients do; stored canonical.
        assert_eq!(set("10.0.0.0/8,+127.0.0.5/8;192.0.2.1")["data"], json!({"code": 0}));
        assert_eq!(
            keys(&srv).last().unwrap().4.as_deref(),
            Some("10.0.0.0/8 127.0.0.0/8 192.0.2.1/32")
        );
        assert_eq!(register(&srv, "kcare", &key)["data"]["code"], 0);
        // Empty clears.
        assert_eq!(set("")["data"], json!({"code": 0}));
        assert_eq!(keys(&srv).last().unwrap().4, None);
        assert!(refused(&r, "kcare/key/set_cidr", &format!("key={key}")).contains("cidr"));
        assert_eq!(refused(&r, "kcare/key/set_cidr", "key=AAAAAAAAAAAAAAAA&cidr=10.0.0.0/8"), "Key not found");
    }

    fn blocked_reseller_keeps_its_servers_but_registers_none(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=5").as_str().unwrap().to_string();
        let server = register(&srv, "kcare", &key)["data"]["server_id"].as_str().unwrap().to_string();
        let changes = AccountChanges {
            blocked_reason: Some(Some("unpaid".into())),
            ..Default::default()
        };
        resellers::update(&mut srv.conn(), "alice", &changes, &test_secrets(), &crate::common::by_cli()).unwrap();

        let listed = ok(&r, "kcare/key/list", "");
        assert!(listed.as_array().unwrap().iter().all(|k| k["enabled"] == false), "{listed}");
        let locked = register(&srv, "kcare", &key);
        assert_eq!(locked["success"], true);
        assert_eq!(locked["data"], json!({"server_id": null, "code": 1}));
        assert_eq!(locked["message"], "Account locked");
        for (endpoint, params) in [
            ("kcare/key/create", "limit=1".to_string()),
            ("kcare/key/delete", format!("key={key}")),
            ("kcare/key/set_cidr", format!("key={key}&cidr=10.0.0.0/8")),
            ("kcare/srv/remove", format!("server_id={server}")),
        ] {
            let message = refused(&r, endpoint, &params);
            assert!(message.contains("blocked"), "{endpoint}: {message}");
        }
        // The existing server keeps working.
        let checkin = plain(srv.addr, &format!("/api/server/checkin.json?server_id={server}"));
        assert_eq!(checkin["success"], true, "{checkin}");
        assert_eq!(server_count(&srv, &key), 1);
    }

    fn another_resellers_key_is_invisible_and_unchangeable(srv, kind) {
        let alice = srv.add_reseller("alice", &[16]);
        let bob = srv.add_reseller("bob", &[16]);
        let key = ok(&bob, "kcare/key/create", "limit=3&note=bobs").as_str().unwrap().to_string();
        let server = register(&srv, "kcare", &key)["data"]["server_id"].as_str().unwrap().to_string();
        let before = keys(&srv);

        let listed = ok(&alice, "kcare/key/list", "");
        assert!(listed.as_array().unwrap().iter().all(|k| k["key"] != key.as_str()));
        assert_eq!(ok(&alice, "kcare/key/servers", &format!("key={key}")), json!([]));
        assert_eq!(ok(&alice, "kcare/key/delete", &format!("key={key}")), false);
        assert_eq!(refused(&alice, "kcare/key/set_cidr", &format!("key={key}&cidr=10.0.0.0/8")), "Key not found");
        let removal = answer(&alice, "kcare/srv/remove", &format!("server_id={server}"));
        assert_eq!(removal["message"], "Server not found");
        // Nor through the Imunify API.
        assert_eq!(ok(&alice, "im/key/remove", &format!("key={key}")), json!([]));
        assert_eq!(refused(&alice, "im/key/update", &format!("key={key}&limit=9")), "Key not found");

        assert_eq!(keys(&srv), before, "{kind:?}");
        assert_eq!(server_count(&srv, &key), 1);
    }

    fn hostile_parameters_are_answered_in_the_envelope_and_change_nothing(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let before = keys(&srv);
        for limit in ["-1", "abc", "99999999999", "1.5", "2000000"] {
            let message = refused(&r, "kcare/key/create", &format!("limit={limit}"));
            assert!(message.contains("limit"), "{limit}: {message}");
        }
        assert!(refused(&r, "kcare/key/create", "note=a%00b").contains("NUL"));
        assert_eq!(keys(&srv), before, "{kind:?}: nothing was created");

        // An overlong note is cut, not refused (the WHMCS module sends client names).
        let long = "n".repeat(500);
        let key = ok(&r, "kcare/key/create", &format!("note={long}")).as_str().unwrap().to_string();
        let stored: String = activation_keys::table
            .filter(activation_keys::key_text.eq(&key))
            .select(activation_keys::note)
            .first(&mut srv.conn())
            .unwrap();
        assert_eq!(stored, "n".repeat(100));

        // Registration: anything that is not a known key is code 2, at any length.
        for bad in ["", "short", "AAAAAAAAAAAAAAAA", &"k".repeat(10_000), "IMAAAAAAAAAAAAAAAA", "%00%FF%FE"] {
            let value = register(&srv, "kcare", bad);
            assert_eq!(value["data"], json!({"server_id": null, "code": 2}), "{bad:.20}: {value}");
            assert_eq!(value["message"], "Unknown key");
        }
        // An Imunify key is not a KernelCare key, and the other way round.
        let im = srv.add_reseller("imre", &[41]);
        let im_key = ok(&im, "im/key/create", "code=360_1&limit=1")["key"].as_str().unwrap().to_string();
        assert_eq!(register(&srv, "kcare", &im_key)["data"]["code"], 2);
        assert_eq!(register(&srv, "im", &key)["data"]["code"], 2);
        // A long hostname is cut; a NUL in it is refused with nothing stored.
        let long_host = format!("/api/kcare/register_server.json?key={key}&hostname={}", "h".repeat(1000));
        assert_eq!(plain(srv.addr, &long_host)["data"]["code"], 0);
        let hostname: Option<String> = key_servers::table
            .select(key_servers::hostname)
            .first(&mut srv.conn())
            .unwrap();
        assert_eq!(hostname.unwrap().len(), 255);
        let nul = plain(srv.addr, &format!("/api/kcare/register_server.json?key={key}&hostname=a%00"));
        assert_eq!(nul["success"], false, "{nul}");
        assert_eq!(server_count(&srv, &key), 1);
        for (endpoint, params) in [
            ("kcare/key/servers", ""),
            ("kcare/srv/remove", ""),
            ("kcare/key/set_cidr", "cidr=10.0.0.0/8"),
        ] {
            assert!(refused(&r, endpoint, params).contains("is required"), "{endpoint}");
        }
        let missing = plain(srv.addr, "/api/kcare/unregister_server.json");
        assert_eq!(missing["message"], "Parameter server_id is required");
        // A key the type is not enabled for.
        let other = srv.add_reseller("olga", &[1]);
        let message = refused(&other, "kcare/key/create", "limit=1");
        assert!(message.contains("not enabled"), "{message}");
    }

    fn reseller_type_limits_count_key_servers(srv, kind) {
        let r = srv.add_reseller_with("alice", vec![(16, Some(2))], false);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        r.ok("register", "ip=203.0.113.1&type=16");
        assert_eq!(register(&srv, "kcare", &key)["data"]["code"], 0);
        let over = register(&srv, "kcare", &key);
        assert_eq!(over["data"]["code"], 3);
        assert!(over["message"].as_str().unwrap().contains("2/2"), "{over}");
        let message = r.refused("register", "ip=203.0.113.2&type=16");
        assert!(message.contains("2/2"), "{kind:?}: {message}");
    }
}

on_both_backends! {
    fn registrations_share_the_check_in_budget_per_source(srv) {
        // The default budget: 6 a minute from one source.
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let target = format!("/api/kcare/register_server.json?key={key}");
        let statuses: Vec<u16> = (0..8)
            .map(|_| crate::common::http::request(srv.addr, "GET", &target, &[], b"").status)
            .collect();
        assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
        assert_eq!(server_count(&srv, &key), 6);
        let limited = crate::common::http::request(srv.addr, "GET", &target, &[], b"");
        assert!(limited.header("retry-after").is_some());
        crate::common::assert_envelope(&limited.json());
    }
}

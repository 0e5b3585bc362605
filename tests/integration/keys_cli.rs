//! `ipls key ...` on a live server's database: what the operator sees and changes is what
//! the API serves.

use serde_json::json;

use super::keys_common::{keys, ok, register, server_count};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::TEST_MASTER_KEY;
use crate::key_tests;

key_tests! {
    fn operator_manages_keys_from_the_command_line(srv, kind) {
        let r = srv.add_reseller("alice", &[16, 41]);
        let ipls = |args: &[&str]| ipls_cli(&srv.db, Some(TEST_MASTER_KEY), args);

        let key = succeeded(&ipls(&["key", "create", "--reseller", "alice", "--product", "kcare", "--limit", "1", "--note", "from cli"]))
            .trim()
            .to_string();
        assert_eq!(key.len(), 16, "{key}");
        let listed = ok(&r, "kcare/key/list", "");
        assert!(listed.as_array().unwrap().iter().any(|k| k["key"] == key.as_str() && k["note"] == "from cli"));
        let im = succeeded(&ipls(&["key", "create", "--reseller", "alice", "--product", "360_1", "--limit", "0"]));
        assert!(im.trim().starts_with("IM"), "{im}");

        let server = register(&srv, "kcare", &key)["data"]["server_id"].as_str().unwrap().to_string();
        let list = succeeded(&ipls(&["key", "list", "--reseller", "alice", "--format", "json"]));
        let rows: serde_json::Value = serde_json::from_str(&list).unwrap();
        let row = rows.as_array().unwrap().iter().find(|k| k["key"] == key.as_str()).unwrap();
        assert_eq!((row["servers"].clone(), row["limit"].clone()), (json!(1), json!(1)), "{kind:?}: {row}");
        let table = succeeded(&ipls(&["key", "list", "--reseller", "alice"]));
        assert!(table.contains("1/1 (Maximum usage count of 1 reached)"), "{kind:?}: {table}");
        assert_eq!(row["product"], "kernelcare");
        assert_eq!(rows.as_array().unwrap().len(), 4, "two default keys and two made: {rows}");

        let show = succeeded(&ipls(&["key", "show", &key]));
        assert!(show.contains("reseller:  alice") && show.contains(&server), "{show}");
        let servers = succeeded(&ipls(&["key", "servers", &key, "--format", "csv"]));
        assert!(servers.lines().nth(1).unwrap().starts_with(&format!("{server},127.0.0.1,web.example,")), "{servers}");

        // Limits and ranges as the API sees them.
        let below = ipls(&["key", "set-limit", &key, "0"]);
        succeeded(&below);
        assert_eq!(keys(&srv).iter().find(|k| k.0 == key).unwrap().1, 0);
        succeeded(&ipls(&["key", "set-cidr", &key, "10.0.0.0/8, 192.0.2.0/24"]));
        assert_eq!(register(&srv, "kcare", &key)["data"]["code"], 4);
        let bad = ipls(&["key", "set-cidr", &key, "10.0.0.0/99"]);
        assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("prefix"));
        succeeded(&ipls(&["key", "set-cidr", &key, ""]));
        assert_eq!(register(&srv, "kcare", &key)["data"]["code"], 0);
        let under = ipls(&["key", "set-limit", &key, "1"]);
        assert!(!under.status.success());
        assert!(String::from_utf8_lossy(&under.stderr).contains("below"), "{under:?}");

        succeeded(&ipls(&["key", "remove-server", &server]));
        assert_eq!(server_count(&srv, &key), 1);
        let gone = ipls(&["key", "remove-server", &server]);
        assert!(!gone.status.success());
        let deleted = succeeded(&ipls(&["key", "delete", &key]));
        assert!(deleted.contains("1 server(s)"), "{deleted}");
        assert_eq!(ok(&r, "kcare/key/delete", &format!("key={key}")), json!(false));
        let default_key = ok(&r, "kcare/key/list", "")[0]["key"].as_str().unwrap().to_string();
        let refused = ipls(&["key", "delete", &default_key]);
        assert!(String::from_utf8_lossy(&refused.stderr).contains("cannot be deleted"));
        let unknown = ipls(&["key", "create", "--reseller", "alice", "--product", "nope"]);
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("expected kcare"));
    }
}

//! Server groups (keys.md, "Server groups"): per reseller and product, a server in at most
//! one group, all-or-nothing puts, and groups that follow their servers.

use serde_json::json;

use super::keys_common::{ok, plain, refused};
use crate::key_tests;

fn register(srv: &crate::common::TestServer, product: &str, key: &str, host: &str) -> String {
    let answer = plain(
        srv.addr,
        &format!("/api/{product}/register_server.json?key={key}&hostname={host}"),
    );
    answer["data"]["server_id"].as_str().unwrap().to_string()
}

key_tests! {
    fn groups_hold_servers_of_one_product_each_server_in_one(srv, kind) {
        let r = srv.add_reseller("alice", &[41, 16]);
        let im_key = ok(&r, "im/key/create", "code=360_1&limit=0")["key"].as_str().unwrap().to_string();
        let a = register(&srv, "im", &im_key, "a.example");
        let b = register(&srv, "im", &im_key, "b.example");
        let kc_key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let k = register(&srv, "kcare", &kc_key, "k.example");

        assert_eq!(
            ok(&r, "group/create", "name=web&description=Web+servers"),
            json!({"name": "web", "description": "Web servers", "type": "IMUNIFY"})
        );
        ok(&r, "group/create", "name=db");
        ok(&r, "group/create", "name=kernels&productType=KERNELCARE");
        let message = refused(&r, "group/create", "name=web");
        assert!(message.contains("exists already"), "{message}");
        assert_eq!(
            ok(&r, "group/list", ""),
            json!([{"name": "db", "description": "", "type": "IMUNIFY"},
                   {"name": "kernels", "description": "", "type": "KERNELCARE"},
                   {"name": "web", "description": "Web servers", "type": "IMUNIFY"}])
        );

        let put = ok(&r, "group/servers/put", &format!("name=web&server_ids={a},{b}"));
        assert_eq!(
            put,
            json!([{"id": a, "hostName": "a.example", "ip": "127.0.0.1", "type": "IMUNIFY"},
                   {"id": b, "hostName": "b.example", "ip": "127.0.0.1", "type": "IMUNIFY"}])
        );
        assert_eq!(ok(&r, "group/servers/list", "name=web"), put);
        // Again: the same servers, still once each.
        assert_eq!(ok(&r, "group/servers/put", &format!("name=web&server_ids={a}")).as_array().unwrap().len(), 1);
        assert_eq!(ok(&r, "group/servers/list", "name=web").as_array().unwrap().len(), 2);

        // At most one group per server; another product's server does not fit; all or none.
        let message = refused(&r, "group/servers/put", &format!("name=db&server_ids={a}"));
        assert!(message.contains("in group web already"), "{kind:?}: {message}");
        let message = refused(&r, "group/servers/put", &format!("name=db&server_ids={k}"));
        assert!(message.contains("No Imunify server"), "{message}");
        let c = register(&srv, "im", &im_key, "c.example");
        let message = refused(&r, "group/servers/put", &format!("name=db&server_ids={c},{a}"));
        assert!(message.contains("nothing was put"), "{message}");
        assert_eq!(ok(&r, "group/servers/list", "name=db"), json!([]));
        assert_eq!(
            ok(&r, "group/servers/put", &format!("name=kernels&server_ids={k}")),
            json!([{"id": k, "hostName": "k.example", "ip": "127.0.0.1", "type": "KERNELCARE"}])
        );

        // Taken out; then a server that leaves its key leaves its group too.
        assert_eq!(ok(&r, "group/servers/remove", &format!("name=web&server_ids={a}")).as_array().unwrap().len(), 1);
        assert_eq!(ok(&r, "group/servers/remove", &format!("name=web&server_ids={a}")), json!([]));
        ok(&r, "group/servers/put", &format!("name=db&server_ids={a}"));
        ok(&r, "im/srv/remove", &format!("id={b}"));
        assert_eq!(ok(&r, "group/servers/list", "name=web"), json!([]));

        // Unknown groups, and another reseller's, are not found.
        assert_eq!(refused(&r, "group/servers/list", "name=nope"), "Group nope not found");
        let bob = srv.add_reseller("bob", &[41]);
        assert_eq!(refused(&bob, "group/servers/list", "name=web"), "Group web not found");
        assert_eq!(ok(&bob, "group/list", ""), json!([]));
        let message = refused(&bob, "group/create", "name=x&productType=OTHER");
        assert!(message.contains("productType"), "{message}");
        assert_eq!(ok(&r, "group/delete", "name=db"), json!({"name": "db"}));
        assert_eq!(refused(&r, "group/delete", "name=db"), "Group db not found");
    }
}

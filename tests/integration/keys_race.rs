//! A key's server limit under races: 20 servers registering at once with a key that holds
//! one end with one server, from one instance or spread over two, on both backends.

use std::sync::{Arc, Barrier};
use std::thread;

use super::keys_common::{ok, plain, server_count};
use crate::key_tests;

/// Sends `count` registrations with `key` at once, alternating between `addrs`; the codes.
fn register_at_once(
    addrs: &[std::net::SocketAddr],
    product: &str,
    key: &str,
    count: usize,
) -> Vec<i64> {
    let barrier = Arc::new(Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let barrier = barrier.clone();
            let addr = addrs[i % addrs.len()];
            let target = format!("/api/{product}/register_server.json?key={key}");
            thread::spawn(move || {
                barrier.wait();
                plain(addr, &target)["data"]["code"]
                    .as_i64()
                    .expect("a code")
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .collect()
}

key_tests! {
    fn one_server_for_a_key_of_one_under_twenty_registrations(srv, kind) {
        let r = srv.add_reseller("alice", &[16, 41, 3]);
        for (product, params) in [("kcare", "kcare/key/create"), ("im", "im/key/create"), ("els", "els/key/create")] {
            let created = ok(&r, params, "limit=1&code=360_1&productType=CELS");
            let key = created.as_str().or(created["key"].as_str()).unwrap().to_string();
            let codes = register_at_once(&[srv.addr], product, &key, 20);
            assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{kind:?} {product}: {codes:?}");
            assert!(codes.iter().all(|c| *c == 0 || *c == 3), "{codes:?}");
            assert_eq!(server_count(&srv, &key), 1, "{kind:?} {product}");
        }
    }

    fn a_cloudlinux_key_of_one_takes_one_of_twenty(srv, kind) {
        let r = srv.add_reseller("alice", &[1]);
        let target = format!("/api/v2/cl/keys?limit=1&productType=CL&token={}", r.token());
        let created = crate::common::http::request(srv.addr, "POST", &target, &[], b"").json();
        let key = created["data"]["key"].as_str().unwrap().to_string();
        let codes = register_at_once(&[srv.addr], "v2/cl", &key, 20);
        assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{kind:?}: {codes:?}");
        assert!(codes.iter().all(|c| *c == 0 || *c == 3), "{codes:?}");
        assert_eq!(server_count(&srv, &key), 1, "{kind:?}");
    }

    fn the_limit_holds_across_two_instances(srv, kind) {
        let other = srv.another_instance();
        let r = srv.add_reseller("alice", &[16]);
        for limit in [1, 3] {
            let key = ok(&r, "kcare/key/create", &format!("limit={limit}")).as_str().unwrap().to_string();
            let codes = register_at_once(&[srv.addr, other.addr], "kcare", &key, 20);
            assert_eq!(codes.iter().filter(|c| **c == 0).count(), limit, "{kind:?}: {codes:?}");
            assert_eq!(server_count(&srv, &key), limit as i64, "{kind:?}");
        }
    }

    fn a_reseller_limit_holds_across_keys_under_races(srv, kind) {
        let r = srv.add_reseller_with("alice", vec![(16, Some(4))], false);
        let keys: Vec<String> = (0..2)
            .map(|_| ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string())
            .collect();
        let barrier = Arc::new(Barrier::new(20));
        let threads: Vec<_> = (0..20)
            .map(|i| {
                let barrier = barrier.clone();
                let addr = srv.addr;
                let target = format!("/api/kcare/register_server.json?key={}", keys[i % 2]);
                thread::spawn(move || {
                    barrier.wait();
                    plain(addr, &target)["data"]["code"].as_i64().unwrap()
                })
            })
            .collect();
        let codes: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(codes.iter().filter(|c| **c == 0).count(), 4, "{kind:?}: {codes:?}");
        assert_eq!(server_count(&srv, &keys[0]) + server_count(&srv, &keys[1]), 4);
    }
}

//! `Idempotency-Key` on the admin API's creating POSTs, on both backends: a reservation
//! taken before the work (16 identical requests sent at once create one thing and all get its
//! answer), scoped to token, method and path, kept 24 hours, never replaying a resource that
//! is gone, checked after the request itself, and re-sealed by `ipls rekey`.

use std::sync::{Arc, Barrier};

use ipls::domain::idempotency::Scope;
use serde_json::{json, Value};

use super::admin_api::{problem, token};
use crate::common::{http, test_secrets, TestServer};
use crate::on_both_backends;

fn post(srv: &TestServer, token: &str, path: &str, key: &str, body: &Value) -> http::Response {
    let auth = format!("Bearer {token}");
    http::request(
        srv.addr,
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ],
        body.to_string().as_bytes(),
    )
}

/// Sends `n` copies of the request at the same moment; returns every answer.
fn all_at_once(
    srv: &TestServer,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
    n: usize,
) -> Vec<http::Response> {
    let barrier = Arc::new(Barrier::new(n));
    let addr = srv.addr;
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (barrier, token, path, key, body) = (
                barrier.clone(),
                token.to_string(),
                path.to_string(),
                key.to_string(),
                body.to_string(),
            );
            std::thread::spawn(move || {
                let auth = format!("Bearer {token}");
                barrier.wait();
                http::request(
                    addr,
                    "POST",
                    &path,
                    &[
                        ("authorization", &auth),
                        ("content-type", "application/json"),
                        ("idempotency-key", &key),
                    ],
                    body.as_bytes(),
                )
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Every answer is the same 201, and exactly one was not a replay.
fn one_created(answers: &[http::Response]) -> Value {
    let first = answers[0].json();
    for a in answers {
        assert_eq!(a.status, 201, "{}", a.text());
        assert_eq!(a.json(), first, "every request gets the same answer");
    }
    let fresh = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "one request did the work, the others replayed it");
    first
}

on_both_backends! {
    fn concurrent_repeats_create_once(srv) {
        srv.add_reseller("acme", &[16, 41]);
        let t = token(&srv, "partner", false);
        let key = one_created(&all_at_once(&srv, &t, "/api/admin/v1/keys", "k-1", &json!({"reseller": "acme", "product": "kcare", "limit": 3}), 16));
        assert_eq!(srv.count("SELECT count(*) AS n FROM activation_keys WHERE is_default = false"), 1, "{key}");

        let reseller = one_created(&all_at_once(&srv, &t, "/api/admin/v1/resellers", "r-1", &json!({"login": "newco"}), 16));
        assert!(reseller["secret"].is_string());
        assert_eq!(srv.count("SELECT count(*) AS n FROM resellers WHERE login = 'newco'"), 1);

        // A public address (names do not resolve on a test machine); nothing is sent to it.
        let hook = json!({"url": "https://8.8.8.8/ipls", "events": ["license.registered"]});
        one_created(&all_at_once(&srv, &t, "/api/admin/v1/webhooks", "w-1", &hook, 16));
        assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_endpoints"), 1);
    }

    fn keys_are_scoped_to_token_method_and_path(srv) {
        srv.add_reseller("acme", &[16]);
        let t = token(&srv, "partner", false);
        let other = token(&srv, "other", false);
        // The same key and bytes on two paths: two requests, two answers.
        let body = json!({"reseller": "acme", "product": "kcare", "limit": 2});
        let as_reseller = post(&srv, &t, "/api/admin/v1/resellers", "same", &json!({"login": "scoped"}));
        assert_eq!(as_reseller.status, 201, "{}", as_reseller.text());
        let as_key = post(&srv, &t, "/api/admin/v1/keys", "same", &json!({"reseller": "acme", "product": "kcare"}));
        assert_eq!(as_key.status, 201, "{}", as_key.text());
        assert!(as_key.header("idempotent-replayed").is_none(), "not POST /resellers' answer");
        assert!(as_key.json().get("secret").is_none(), "no reseller secret leaks to another path");
        // Another token with the same key is another request.
        let theirs = post(&srv, &other, "/api/admin/v1/keys", "same", &json!({"reseller": "acme", "product": "kcare"}));
        assert!(theirs.header("idempotent-replayed").is_none());
        assert_ne!(theirs.json()["key"], as_key.json()["key"]);
        // The same key with other bytes on the same path is refused, and nothing is made.
        problem(&post(&srv, &t, "/api/admin/v1/keys", "same", &body), 409, "idempotency-key-reused");
        assert_eq!(srv.count("SELECT count(*) AS n FROM activation_keys WHERE is_default = false"), 2);
    }

    fn kept_answers_expire_and_never_show_a_dead_resource(srv) {
        srv.add_reseller("acme", &[16]);
        let t = token(&srv, "partner", false);
        let body = json!({"reseller": "acme", "product": "kcare"});
        let first = post(&srv, &t, "/api/admin/v1/keys", "k", &body).json();
        let key = first["key"].as_str().unwrap().to_string();
        // Deleted: the retry does not replay the dead key, it makes a new one.
        let auth = format!("Bearer {t}");
        let deleted = http::request(srv.addr, "DELETE", &format!("/api/admin/v1/keys/{key}"), &[("authorization", &auth)], b"");
        assert_eq!(deleted.status, 204);
        let again = post(&srv, &t, "/api/admin/v1/keys", "k", &body);
        assert_eq!(again.status, 201);
        assert!(again.header("idempotent-replayed").is_none());
        let second = again.json()["key"].as_str().unwrap().to_string();
        assert_ne!(second, key);
        // Kept for 24 hours: a repeat within replays, one after is a new request.
        srv.clock.advance(chrono::Duration::hours(23));
        assert_eq!(post(&srv, &t, "/api/admin/v1/keys", "k", &body).header("idempotent-replayed"), Some("true"));
        srv.clock.advance(chrono::Duration::hours(2));
        let later = post(&srv, &t, "/api/admin/v1/keys", "k", &body);
        assert_eq!(later.status, 201);
        assert!(later.header("idempotent-replayed").is_none());
        assert_ne!(later.json()["key"].as_str().unwrap(), second);
    }

    fn the_request_is_checked_before_any_replay(srv) {
        let t = token(&srv, "partner", false);
        let body = json!({"login": "checked"});
        assert_eq!(post(&srv, &t, "/api/admin/v1/resellers", "c", &body).status, 201);
        let auth = format!("Bearer {t}");
        let wrong_type = http::request(
            srv.addr,
            "POST",
            "/api/admin/v1/resellers",
            &[("authorization", &auth), ("content-type", "text/plain"), ("idempotency-key", "c")],
            body.to_string().as_bytes(),
        );
        problem(&wrong_type, 415, "unsupported-media-type");
        // A failed request frees its key: the retry with a fixed body is done, not refused.
        let taken = post(&srv, &t, "/api/admin/v1/resellers", "d", &json!({"login": "checked"}));
        problem(&taken, 409, "conflict");
        let fixed = post(&srv, &t, "/api/admin/v1/resellers", "d", &json!({"login": "checked"}));
        problem(&fixed, 409, "conflict");
        assert_eq!(srv.count("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'd'"), 0);
    }

    fn rekey_reseals_kept_answers(srv) {
        let t = token(&srv, "partner", false);
        let created = post(&srv, &t, "/api/admin/v1/resellers", "r", &json!({"login": "sealed"}));
        assert_eq!(created.status, 201);
        let secret = created.json()["secret"].as_str().unwrap().to_string();
        let stored: Vec<(i64, String)> = {
            use diesel::prelude::*;
            use ipls::db::schema::idempotency_keys as ik;
            ik::table
                .select((ik::token_id, ik::body.assume_not_null()))
                .load(&mut srv.conn())
                .unwrap()
        };
        assert!(!stored[0].1.contains(&secret), "the kept answer is sealed");
        let scope = Scope {
            token_id: stored[0].0,
            method: "POST".into(),
            path: "/api/admin/v1/resellers".into(),
            key: "r".into(),
        };
        let old = test_secrets();
        let new = ipls::secrets::SecretBox::new(&[9u8; 32], ipls::secrets::KeySource::Environment);
        let resealed = ipls::domain::rekey::reseal_all(&mut srv.conn(), &old, &new).unwrap();
        assert!(resealed >= 2, "the reseller's secret and the kept answer: {resealed}");
        let body: String = {
            use diesel::prelude::*;
            use ipls::db::schema::idempotency_keys as ik;
            ik::table.select(ik::body.assume_not_null()).first(&mut srv.conn()).unwrap()
        };
        assert!(old.open(&scope.sealing_label(), &body).is_none(), "the old key no longer opens it");
        let answer = new.open(&scope.sealing_label(), &body).expect("the new key opens it");
        assert!(answer.contains(&secret));
    }
}

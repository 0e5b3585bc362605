//! Webhook endpoints and deliveries through the admin API: create (secret once,
//! Idempotency-Key), read-only tokens, a test message verified by the standardwebhooks
//! receiver, the delivery log, retry, delete, and private targets refused.

use std::time::Duration;

use serde_json::json;

use crate::admin_api::{call, ok, problem, token};
use crate::common::receiver::{Receiver, ReceiverOptions};
use crate::common::{Kind, Options, TestServer};

fn server(kind: Kind, allow_private: bool) -> Option<TestServer> {
    let configure: fn(&mut ipls::config::Config) = if allow_private {
        |c| {
            c.webhooks.allow_private = true;
            c.webhooks.poll = Duration::from_millis(50);
        }
    } else {
        |_| {}
    };
    TestServer::start_with(
        kind,
        Options {
            configure,
            ..Options::default()
        },
    )
}

mod endpoints_and_deliveries {
    use super::*;

    fn run(kind: Kind) {
        let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
            return;
        };
        let Some(srv) = server(kind, true) else {
            return;
        };
        let acme = srv.add_reseller("acme", &[1]);
        let admin = token(&srv, "billing", false);
        let reader = token(&srv, "reader", true);
        let request =
            json!({"url": receiver.url, "reseller": "acme", "events": ["license.registered"]});
        let denied = call(
            &srv,
            &reader,
            "POST",
            "/api/admin/v1/webhooks",
            Some(request.clone()),
        );
        problem(&denied, 403, "read-only-token");

        let auth = format!("Bearer {admin}");
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", "hook-1"),
        ];
        let body = request.to_string();
        let created = crate::common::http::request(
            srv.addr,
            "POST",
            "/api/admin/v1/webhooks",
            &headers,
            body.as_bytes(),
        );
        assert_eq!(created.status, 201, "{}", created.text());
        let created = created.json();
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(created["reseller"], "acme");
        assert_eq!(created["events"], json!(["license.registered"]));
        let replay = crate::common::http::request(
            srv.addr,
            "POST",
            "/api/admin/v1/webhooks",
            &headers,
            body.as_bytes(),
        );
        assert_eq!(replay.json(), created, "the same answer, nothing added");
        let id = created["id"].as_i64().unwrap();
        receiver.set_secret(&secret);

        let listed = ok(&srv, &reader, "GET", "/api/admin/v1/webhooks", None);
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        assert!(
            listed["items"][0].get("secret").is_none(),
            "secrets are shown once"
        );
        let one = ok(
            &srv,
            &reader,
            "GET",
            &format!("/api/admin/v1/webhooks/{id}"),
            None,
        );
        assert_eq!(one["enabled"], true);

        let tested = ok(
            &srv,
            &admin,
            "POST",
            &format!("/api/admin/v1/webhooks/{id}/test"),
            None,
        );
        assert_eq!(tested["delivered"], true, "{tested}");
        assert_eq!(tested["status"], 200);
        acme.ok("register", "ip=203.0.113.40&type=1");
        let got = receiver.wait_for_accepted(2, Duration::from_secs(30));
        assert!(got.iter().all(|r| r.verified), "{got:?}");
        assert_eq!(got[0].event_type(), "webhook.test");
        assert_eq!(got[0].id, tested["webhook_id"]);
        assert_eq!(got[1].event_type(), "license.registered");

        // The receiver logs before it answers: wait for ipls to record the answer.
        let target = format!("/api/admin/v1/webhooks/{id}/deliveries");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let deliveries = loop {
            let page = ok(&srv, &reader, "GET", &target, None);
            if page["items"][0]["state"] == "delivered" {
                break page;
            }
            assert!(std::time::Instant::now() < deadline, "{page}");
            std::thread::sleep(Duration::from_millis(25));
        };
        let item = &deliveries["items"][0];
        assert_eq!(item["state"], "delivered");
        assert_eq!(item["webhook_id"], got[1].id);
        assert_eq!(item["payload"]["data"]["ip"], "203.0.113.40");
        assert_eq!(item["log"][0]["status"], 200);
        assert_eq!(item["log"][0]["response"], "ok");

        let delivery = item["id"].as_i64().unwrap();
        let retried = ok(
            &srv,
            &admin,
            "POST",
            &format!("/api/admin/v1/webhook-deliveries/{delivery}/retry"),
            None,
        );
        assert_eq!(retried["state"], "pending");
        let again = receiver.wait_for_accepted(3, Duration::from_secs(30));
        assert_eq!(
            again[2].id, got[1].id,
            "a retry carries the same webhook-id"
        );

        problem(
            &call(&srv, &admin, "GET", "/api/admin/v1/webhooks/999", None),
            404,
            "not-found",
        );
        problem(
            &call(
                &srv,
                &admin,
                "POST",
                "/api/admin/v1/webhook-deliveries/999/retry",
                None,
            ),
            404,
            "not-found",
        );
        problem(
            &call(
                &srv,
                &admin,
                "POST",
                "/api/admin/v1/webhooks",
                Some(json!({"url": receiver.url, "events": ["license.nope"]})),
            ),
            400,
            "invalid-request",
        );
        let deleted = call(
            &srv,
            &admin,
            "DELETE",
            &format!("/api/admin/v1/webhooks/{id}"),
            None,
        );
        assert_eq!(deleted.status, 204);
        assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_deliveries"), 0);
    }

    #[test]
    fn sqlite() {
        run(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Kind::Postgres);
    }
}

#[test]
fn private_targets_are_refused_by_the_api() {
    let Some(srv) = server(Kind::Sqlite, false) else {
        return;
    };
    let admin = token(&srv, "billing", false);
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/",
        "http://localhost/",
    ] {
        let answer = call(
            &srv,
            &admin,
            "POST",
            "/api/admin/v1/webhooks",
            Some(json!({"url": url})),
        );
        problem(&answer, 409, "refused");
        assert!(
            answer.json()["detail"]
                .as_str()
                .unwrap()
                .contains("address"),
            "{}",
            answer.text()
        );
    }
    assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_endpoints"), 0);
}

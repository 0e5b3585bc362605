//! `ipls webhook ...`: add, list, test, deliveries, retry, remove.

use super::*;

/// `ipls webhook add|list|test|deliveries|retry|remove` as an operator runs them.
#[test]
fn the_webhook_commands() {
    let Some(receiver) = Receiver::start(ReceiverOptions::default()) else {
        return;
    };
    let Some(srv) = TestServer::start(Kind::Sqlite) else {
        return;
    };
    srv.add_reseller("acme", &[1]);
    let ipls = |allow: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ipls"))
            .args(args)
            .env("DATABASE_URL", srv.db.url_text())
            .env("IPLS_MASTER_KEY", crate::common::TEST_MASTER_KEY)
            .env("IPLS_WEBHOOK_ALLOW_PRIVATE", allow)
            .output()
            .expect("run ipls")
    };
    let refused = ipls("false", &["webhook", "add", &receiver.url]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("loopback address"), "{error}");

    let added = ipls(
        "true",
        &[
            "webhook",
            "add",
            &receiver.url,
            "--reseller",
            "acme",
            "--events",
            "license.removed,license.registered",
        ],
    );
    let out = crate::common::process::succeeded(&added);
    assert!(out.contains("added webhook endpoint 1"), "{out}");
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("signing secret: "))
        .expect("the secret line");
    receiver.set_secret(secret);

    let listed = crate::common::process::succeeded(&ipls("true", &["webhook", "list"]));
    assert!(
        listed.contains("license.registered,license.removed"),
        "{listed}"
    );
    assert!(
        listed.contains("acme") && listed.contains("enabled"),
        "{listed}"
    );
    assert!(!listed.contains(secret), "{listed}");

    let tested = crate::common::process::succeeded(&ipls("true", &["webhook", "test", "1"]));
    assert!(tested.contains("HTTP 200"), "{tested}");
    let got = receiver.wait_for_accepted(1, WAIT);
    assert!(
        got[0].verified && got[0].event_type() == "webhook.test",
        "{got:?}"
    );

    let bad_events = ipls(
        "true",
        &["webhook", "add", &receiver.url, "--events", "license.nope"],
    );
    assert!(String::from_utf8_lossy(&bad_events.stderr).contains("unknown webhook event"));
    let empty = crate::common::process::succeeded(&ipls("true", &["webhook", "deliveries", "1"]));
    assert!(empty.contains("WEBHOOK-ID"), "{empty}");
    let unknown = ipls("true", &["webhook", "retry", "42"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no webhook delivery 42"));
    crate::common::process::succeeded(&ipls("true", &["webhook", "remove", "1"]));
    assert_eq!(srv.count("SELECT count(*) AS n FROM webhook_endpoints"), 0);
}

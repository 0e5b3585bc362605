//! Contract §1: token forms, encodings, the window, one failure answer, account states.

use ipls::auth::HashForm;
use ipls::domain::resellers::{self, AccountChanges};

use crate::common::{assert_envelope, http, test_secrets, TestServer};
use crate::on_both_backends;

const AUTH_FAILED: &str = "Authorization failed";

fn check_with_token(srv: &TestServer, token: &str) -> serde_json::Value {
    let response = srv.get(&format!("/api/ipl/check.json?ip=203.0.113.5&token={token}"));
    assert_eq!(response.status, 200, "{}", response.text());
    let value = response.json();
    assert_envelope(&value);
    value
}

fn set(srv: &TestServer, login: &str, changes: AccountChanges) {
    resellers::update(
        &mut srv.conn(),
        login,
        &changes,
        &test_secrets(),
        &crate::common::by_cli(),
    )
    .expect("update reseller");
}

on_both_backends! {
    fn legacy_and_hmac_tokens_with_raw_and_encoded_pipes(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let now = srv.now().timestamp();
        for form in [HashForm::LegacySha1, HashForm::HmacSha256] {
            let token = r.token_at(now, form);
            assert_eq!(check_with_token(&srv, &token)["success"], true, "{form:?} raw");
            let encoded = token.replace('|', "%7C");
            assert_eq!(check_with_token(&srv, &encoded)["success"], true, "{form:?} %7C");
            let lower_encoded = token.replace('|', "%7c");
            assert_eq!(check_with_token(&srv, &lower_encoded)["success"], true, "{form:?} %7c");
            // The same token again: never "used up".
            assert_eq!(check_with_token(&srv, &token)["success"], true, "{form:?} reused");
        }
        // Upper-case hex is the same hash.
        let token = r.token_at(now, HashForm::LegacySha1);
        let (head, hash) = token.rsplit_once('|').unwrap();
        let upper = format!("{head}|{}", hash.to_uppercase());
        assert_eq!(check_with_token(&srv, &upper)["success"], true);
    }

    fn window_edges_stale_and_future(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let now = srv.now().timestamp();
        for (ts, ok) in [(now - 300, true), (now + 300, true), (now - 301, false), (now + 301, false), (0, false)] {
            for form in [HashForm::LegacySha1, HashForm::HmacSha256] {
                let value = check_with_token(&srv, &r.token_at(ts, form));
                assert_eq!(value["success"], ok, "ts offset {} {form:?}: {value}", ts - now);
                if !ok {
                    assert_eq!(value["message"], AUTH_FAILED);
                }
            }
        }
        // A token minted at start-up and reused minutes later stays good within the window.
        let token = r.token();
        srv.clock.advance(chrono::Duration::seconds(299));
        assert_eq!(check_with_token(&srv, &token)["success"], true);
        srv.clock.advance(chrono::Duration::seconds(2));
        assert_eq!(check_with_token(&srv, &token)["message"], AUTH_FAILED);
    }

    fn every_failure_is_the_same_answer(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let now = srv.now().timestamp();
        let mut wrong_secret = r.clone();
        wrong_secret.secret = "not-the-secret-0000".into();
        let mut unknown = r.clone();
        unknown.login = "mallory".into();
        let bad_tokens = [
            wrong_secret.token_at(now, HashForm::LegacySha1),
            wrong_secret.token_at(now, HashForm::HmacSha256),
            unknown.token_at(now, HashForm::LegacySha1),
            format!("alice|{now}|zz"),
            format!("alice|{now}"),
            "alice".to_string(),
            format!("alice|abc|{}", "0".repeat(40)),
            String::new(),
        ];
        for token in bad_tokens {
            let value = check_with_token(&srv, &token);
            assert_eq!(value["success"], false, "{token:?}");
            assert_eq!(value["message"], AUTH_FAILED, "{token:?}");
        }
        // No token at all.
        let value = srv.get("/api/ipl/check.json?ip=203.0.113.5").json();
        assert_eq!(value["message"], AUTH_FAILED);
        // Authentication comes before parameter checks: nothing leaks to a stranger.
        let value = srv.get("/api/ipl/register.json?ip=nonsense&token=x|1|2").json();
        assert_eq!(value["message"], AUTH_FAILED);
    }

    fn token_in_a_form_post_body(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let body = format!("ip=203.0.113.9&type=1&token={}", r.token().replace('|', "%7C"));
        let response = http::request(
            srv.addr,
            "POST",
            "/api/ipl/register.json",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        );
        assert_eq!(response.status, 200);
        let value = response.json();
        assert_eq!(value["success"], true, "{value}");
        assert_eq!(value["data"]["ip"], "203.0.113.9");
    }

    fn legacy_tokens_can_be_switched_off(srv) {
        let r = srv.add_reseller("alice", &[1]);
        set(&srv, "alice", AccountChanges { legacy_sha1: Some(false), ..Default::default() });
        let now = srv.now().timestamp();
        assert_eq!(check_with_token(&srv, &r.token_at(now, HashForm::LegacySha1))["message"], AUTH_FAILED);
        assert_eq!(check_with_token(&srv, &r.token_at(now, HashForm::HmacSha256))["success"], true);
    }

    fn rotated_secret_invalidates_old_tokens(srv) {
        let r = srv.add_reseller("alice", &[1]);
        let old_token = r.token();
        set(&srv, "alice", AccountChanges { secret: Some("a-brand-new-secret-123".into()), ..Default::default() });
        assert_eq!(check_with_token(&srv, &old_token)["message"], AUTH_FAILED);
        let mut rotated = r.clone();
        rotated.secret = "a-brand-new-secret-123".into();
        assert_eq!(check_with_token(&srv, &rotated.token())["success"], true);
    }

    fn account_without_api_access(srv) {
        let r = srv.add_reseller("alice", &[1]);
        set(&srv, "alice", AccountChanges { api_enabled: Some(false), ..Default::default() });
        assert_eq!(
            r.refused("check", "ip=203.0.113.5"),
            "API access is available to reseller accounts only"
        );
    }

    fn blocked_account_reads_but_cannot_change(srv) {
        let r = srv.add_reseller("alice", &[1, 40, 41]);
        r.ok("register", "ip=203.0.113.5&type=41");
        set(&srv, "alice", AccountChanges {
            blocked_reason: Some(Some("unpaid invoice 1234".into())),
            ..Default::default()
        });
        for (endpoint, params) in [
            ("register", "ip=203.0.113.6&type=1"),
            ("remove", "ip=203.0.113.5"),
            ("update", "ip=203.0.113.5&els_allowed=true"),
            ("convert", "ip=203.0.113.5&type=41&type_to=40"),
        ] {
            let message = r.refused(endpoint, params);
            assert!(message.contains("blocked") && message.contains("unpaid invoice 1234"), "{endpoint}: {message}");
        }
        assert_eq!(r.ok("check", "ip=203.0.113.5"), serde_json::json!([41]));
        assert_eq!(r.ok("list", "").as_array().unwrap().len(), 1);
        assert_eq!(r.ok("server", "ip=203.0.113.5").as_array().unwrap().len(), 1);
        let availability = r.ok("availability", "ip=203.0.113.7");
        assert_eq!(availability["available"], serde_json::json!([]));
        // Nothing changed, and unblocking restores writes.
        set(&srv, "alice", AccountChanges { blocked_reason: Some(None), ..Default::default() });
        assert_eq!(r.ok("remove", "ip=203.0.113.5"), true);
    }
}

/// The credentials cache: a blocked account is honoured within the TTL, a rotated secret
/// works at once and the old one lasts at most the TTL.
#[test]
fn cached_accounts_expire_within_the_bound() {
    let options = crate::common::Options {
        auth_cache_secs: 2,
        ..Default::default()
    };
    let srv = TestServer::start_with(crate::common::Kind::Sqlite, options).expect("sqlite");
    let r = srv.add_reseller("alice", &[1]);
    assert_eq!(r.ok("check", "ip=203.0.113.5"), serde_json::json!([]));
    set(
        &srv,
        "alice",
        AccountChanges {
            blocked_reason: Some(Some("unpaid".into())),
            ..Default::default()
        },
    );
    // Within the TTL the cached (active) account may still act...
    r.ok("register", "ip=203.0.113.5&type=1");
    // ...and never after it.
    srv.clock.advance(chrono::Duration::seconds(2));
    assert!(r
        .refused("register", "ip=203.0.113.6&type=1")
        .contains("blocked"));

    set(
        &srv,
        "alice",
        AccountChanges {
            blocked_reason: Some(None),
            ..Default::default()
        },
    );
    srv.clock.advance(chrono::Duration::seconds(2));
    r.ok("check", "ip=203.0.113.5");
    set(
        &srv,
        "alice",
        AccountChanges {
            secret: Some("rotated-secret-0123456789".into()),
            ..Default::default()
        },
    );
    let mut rotated = r.clone();
    rotated.secret = "rotated-secret-0123456789".into();
    assert_eq!(
        rotated.ok("check", "ip=203.0.113.5"),
        serde_json::json!([1]),
        "the new secret works at once"
    );
    srv.clock.advance(chrono::Duration::seconds(2));
    assert_eq!(
        check_with_token(&srv, &r.token())["message"],
        AUTH_FAILED,
        "the old one is gone after the TTL"
    );
}

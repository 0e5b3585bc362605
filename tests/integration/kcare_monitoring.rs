//! KernelCare monitoring (keys.md): what key servers report at check-in, the Nagios text by
//! key and by reseller under both path prefixes (checked byte for byte, and read as the
//! Nagios conventions and Datadog's check read it), the read-only monitoring token, and
//! `patchset.json` in the `kcare-qualys` shape.

use std::collections::BTreeMap;

use ipls::domain::keys::monitoring_tokens;

use super::keys_common::{ok, plain};
use crate::common::{by_cli, http, TestServer};
use crate::key_tests;

fn text(srv: &TestServer, target: &str) -> String {
    let response = http::request(srv.addr, "GET", target, &[], b"");
    assert_eq!(response.status, 200, "{target}");
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "{target}"
    );
    response.text()
}

/// What Datadog's check does with the answer: the error prefixes, then `k=v` pairs after
/// the first line's `|`, split on `;`.
fn as_datadog_reads(answer: &str) -> Result<BTreeMap<String, i64>, String> {
    for prefix in [
        "Servers not found for key",
        "Reseller not found",
        "Registration token not found for reseller",
    ] {
        if answer.starts_with(prefix) {
            return Err(answer.to_string());
        }
    }
    let first = answer.split('\n').next().unwrap_or_default();
    let params = first.split_once('|').map_or(first, |(_, p)| p);
    params
        .split(';')
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or("Invalid Response")?;
            Ok((
                k.to_string(),
                v.parse::<i64>().map_err(|_| "Invalid Response")?,
            ))
        })
        .collect()
}

/// Nagios plugin output: a first line of status text, performance data after `|` as
/// `label=value` items.
fn nagios_first_line(answer: &str) -> (&str, Vec<(&str, &str)>) {
    let first = answer.lines().next().unwrap();
    let (status, perf) = first.split_once('|').unwrap();
    (
        status,
        perf.split(';')
            .map(|p| p.split_once('=').unwrap())
            .collect(),
    )
}

fn register(srv: &TestServer, key: &str, host: &str) -> String {
    let answer = plain(
        srv.addr,
        &format!("/api/kcare/register_server.json?key={key}&hostname={host}"),
    );
    answer["data"]["server_id"].as_str().unwrap().to_string()
}

fn check_in(srv: &TestServer, server: &str, report: &str) {
    let answer = plain(
        srv.addr,
        &format!("/api/server/checkin.json?server_id={server}&{report}"),
    );
    assert_eq!(answer["success"], true, "{answer}");
}

key_tests! {
    fn nagios_datadog_and_patchset_answers(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let fresh = register(&srv, &key, "fresh.example");
        let behind = register(&srv, &key, "behind.example");
        let odd = register(&srv, &key, "odd.example");
        let _silent = register(&srv, &key, "silent.example");
        check_in(&srv, &fresh, "kernel_id=4d1f0c&patch_level=12&latest_patch_level=12&kernel_supported=1");
        check_in(&srv, &behind, "kernel_id=4d1f0c&patch_level=9&latest_patch_level=12&kernel_supported=true");
        check_in(&srv, &odd, "kernel_id=77aa01&kernel_supported=false");

        let expected = "1 machine is OUTOFDATE!|uptodate=1;outofdate=1;unsupported=1;inactive=1\n\
                        behind.example (127.0.0.1) is OUTOFDATE\n";
        for prefix in ["/api", "/clweb/api"] {
            assert_eq!(text(&srv, &format!("{prefix}/kcare/nagios/{key}")), expected, "{kind:?} {prefix}");
        }
        let (status, perf) = nagios_first_line(expected);
        assert_eq!(status, "1 machine is OUTOFDATE!");
        assert_eq!(perf, [("uptodate", "1"), ("outofdate", "1"), ("unsupported", "1"), ("inactive", "1")]);
        let read = as_datadog_reads(expected).unwrap();
        assert_eq!(read.values().sum::<i64>(), 4);

        // The server catches up; the silent one is gone: all up to date.
        check_in(&srv, &behind, "kernel_id=4d1f0c&patch_level=12&latest_patch_level=12");
        check_in(&srv, &odd, "kernel_id=77aa02&patch_level=1&latest_patch_level=1&kernel_supported=1");
        ok(&r, "kcare/srv/remove", &format!("server_id={_silent}"));
        assert_eq!(
            text(&srv, &format!("/clweb/api/kcare/nagios/{key}")),
            "KernelCare OK - all servers are up to date!|uptodate=3;outofdate=0;unsupported=0;inactive=0\n"
        );
        // 48 hours of silence make a server inactive.
        srv.clock.advance(chrono::Duration::hours(47));
        check_in(&srv, &fresh, "kernel_id=4d1f0c&patch_level=12&latest_patch_level=12");
        srv.clock.advance(chrono::Duration::hours(2));
        assert_eq!(
            text(&srv, &format!("/api/kcare/nagios/{key}")),
            "2 machines are INACTIVE!|uptodate=1;outofdate=0;unsupported=0;inactive=2\n\
             behind.example (127.0.0.1) is INACTIVE\nodd.example (127.0.0.1) is INACTIVE\n"
        );

        // patchset.json: a bare array in the kcare-qualys shape.
        let response = http::request(srv.addr, "GET", &format!("/api/kcare/patchset.json?key={key}"), &[], b"");
        assert_eq!(
            response.text(),
            "[{\"ip\":\"127.0.0.1\",\"host\":\"fresh.example\",\"kernel_id\":\"4d1f0c\",\"patch_level\":12},\
             {\"ip\":\"127.0.0.1\",\"host\":\"behind.example\",\"kernel_id\":\"4d1f0c\",\"patch_level\":12},\
             {\"ip\":\"127.0.0.1\",\"host\":\"odd.example\",\"kernel_id\":\"77aa02\",\"patch_level\":1}]"
        );
        assert_eq!(http::request(srv.addr, "GET", "/api/kcare/patchset.json?key=nope", &[], b"").text(), "[]");

        // Errors, at the start of the body, as the Datadog check looks for them.
        let missing = text(&srv, "/api/kcare/nagios/Nope0000Nope0000");
        assert_eq!(missing, "Servers not found for key Nope0000Nope0000\n");
        assert!(as_datadog_reads(&missing).is_err());
        assert_eq!(text(&srv, "/clweb/api/kcare/nagios-res/nobody/abcdefghijklmnop"), "Reseller not found\n");
        assert_eq!(
            text(&srv, "/api/kcare/nagios-res/alice/abcdefghijklmnop"),
            "Registration token not found for reseller alice\n"
        );
    }

    fn the_reseller_form_reads_with_a_monitoring_token_only(srv, kind) {
        let r = srv.add_reseller("alice", &[16]);
        let key = ok(&r, "kcare/key/create", "limit=0").as_str().unwrap().to_string();
        let one = register(&srv, &key, "one.example");
        check_in(&srv, &one, "kernel_id=4d1f0c&patch_level=3&latest_patch_level=3");
        let id = crate::common::reseller_id(&srv, "alice");
        let token = monitoring_tokens::rotate(&mut srv.conn(), id, &by_cli()).unwrap();
        assert_eq!(token.len(), 32);
        for prefix in ["/api", "/clweb/api"] {
            assert_eq!(
                text(&srv, &format!("{prefix}/kcare/nagios-res/alice/{token}")),
                "KernelCare OK - all servers are up to date!|uptodate=1;outofdate=0;unsupported=0;inactive=0\n",
                "{kind:?}"
            );
        }
        // The secret key is not a monitoring token, and a rotated token stops working.
        let refused = "Registration token not found for reseller alice\n";
        assert_eq!(text(&srv, &format!("/api/kcare/nagios-res/alice/{}", r.secret.replace('-', ""))), refused);
        let rotated = monitoring_tokens::rotate(&mut srv.conn(), id, &by_cli()).unwrap();
        assert_eq!(text(&srv, &format!("/api/kcare/nagios-res/alice/{token}")), refused);
        assert!(text(&srv, &format!("/api/kcare/nagios-res/alice/{rotated}")).starts_with("KernelCare OK"));
        assert!(monitoring_tokens::revoke(&mut srv.conn(), id, &by_cli()).unwrap());
        assert_eq!(text(&srv, &format!("/api/kcare/nagios-res/alice/{rotated}")), refused);
        // The token reads; with it, no management call is answered.
        let forged = crate::common::Reseller { secret: rotated.clone(), ..r.clone() };
        assert_eq!(forged.refused("/api/kcare/key/list.json", ""), "Authorization failed");
    }
}

//! list.json and the v2 licenses list: order, field types, streaming across pages.

use serde_json::json;

use crate::common::{http, Kind, Options, TestServer};
use crate::on_both_backends;

fn seed(r: &crate::common::Reseller, ips: &[&str], types: &[i32]) {
    for ip in ips {
        for t in types {
            r.ok("register", &format!("ip={ip}&type={t}"));
        }
    }
}

on_both_backends! {
    fn list_is_ordered_with_exact_fields(srv) {
        let r = srv.add_reseller("alice", &[1, 16, 5003]);
        assert_eq!(r.ok("list", ""), json!([]));
        seed(&r, &["203.0.113.9", "198.51.100.20", "2001:db8::1"], &[16, 1]);
        r.ok("register", "ip=198.51.100.20&type=5003");
        let rows = r.ok("list", "");
        let keys: Vec<(String, i64)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["ip"].as_str().unwrap().to_string(), row["type"].as_i64().unwrap()))
            .collect();
        let expected: Vec<(String, i64)> = [
            ("198.51.100.20", 1), ("198.51.100.20", 16), ("198.51.100.20", 5003),
            ("2001:db8::1", 1), ("2001:db8::1", 16),
            ("203.0.113.9", 1), ("203.0.113.9", 16),
        ]
        .iter()
        .map(|(ip, t)| (ip.to_string(), *t))
        .collect();
        assert_eq!(keys, expected);
        for row in rows.as_array().unwrap() {
            let mut fields: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
            fields.sort_unstable();
            assert_eq!(fields, ["created", "ip", "registered", "type"]);
            assert_eq!(row["registered"], false);
            assert_eq!(row["created"], "2026-11-28T12:00+0000");
        }
    }

    fn v2_paths_with_leading_empty_component(srv) {
        let r = srv.add_reseller("alice", &[16, 1]);
        seed(&r, &["203.0.113.40"], &[1]);
        let value = srv.get(&format!("/api/v2/ip-license/licenses/types?&token={}", r.token())).json();
        assert_eq!(value["success"], true, "{value}");
        assert_eq!(
            value["data"],
            json!([
                {"id": 1, "name": "CloudLinux OS Legacy (formerly Shared)", "family": "cloudlinux"},
                {"id": 16, "name": "KernelCare", "family": "kernelcare"}
            ])
        );
        let value = srv.get(&format!("/api/v2/ip-license/licenses?&token={}", r.token())).json();
        assert_eq!(
            value["data"],
            json!([{"server_info": null, "ip": "203.0.113.40", "type": 1, "registered": false,
                    "created": "2026-11-28T12:00+0000", "last_checkin": null, "els_allowed": false}])
        );
        let value = srv.get("/api/v2/ip-license/licenses?&token=").json();
        assert_eq!(value["message"], "Authorization failed");
    }
}

/// Streaming across many pages gives exactly the rows of one big page, in order.
#[test]
fn streamed_pages_join_into_one_list() {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let Some(srv) = TestServer::start_with(
            kind,
            Options {
                list_page_size: 3,
                ..Options::default()
            },
        ) else {
            continue;
        };
        let r = srv.add_reseller("alice", &[1, 16]);
        let ips: Vec<String> = (1..=7).map(|i| format!("203.0.113.{i}")).collect();
        seed(
            &r,
            &ips.iter().map(String::as_str).collect::<Vec<_>>(),
            &[1, 16],
        );
        let response = r.call("list", "");
        assert_eq!(
            response.header("transfer-encoding"),
            Some("chunked"),
            "{kind:?}: streamed"
        );
        assert_eq!(response.header("content-type"), Some("application/json"));
        let value = response.json();
        let rows = value["data"].as_array().unwrap();
        assert_eq!(rows.len(), 14, "{kind:?}");
        let mut expected = Vec::new();
        for ip in &ips {
            for t in [1, 16] {
                expected.push((ip.clone(), t));
            }
        }
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|row| {
                (
                    row["ip"].as_str().unwrap().to_string(),
                    row["type"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{kind:?}");
        // Exactly a multiple of the page size: the last page is empty and still closes the JSON.
        assert_eq!(r.ok("remove", "ip=203.0.113.7"), true);
        let rows = r.ok("list", "");
        assert_eq!(rows.as_array().unwrap().len(), 12);
        // The v2 list streams the same way.
        let value = http::request(
            srv.addr,
            "GET",
            &format!("/api/v2/ip-license/licenses?token={}", r.token()),
            &[],
            b"",
        )
        .json();
        assert_eq!(value["data"].as_array().unwrap().len(), 12);
    }
}

//! Reports and the audit trail over a history written in January 2020.

use super::*;

crate::on_both_kinds! {
    /// Reports and the audit trail over a history written in January 2020.
    fn reports_and_audit(kind) {
        use chrono::NaiveDate;
        use ipls::domain::licenses::{register, remove, Registration};
        use ipls::domain::resellers::{create, Grants, NewAccount};
        use ipls::domain::{Actor, Policy};

        let Some(db) = TestDatabase::create_migrated(kind) else {
            return;
        };
        ipls::db::migrate::run_pending(&db.url).expect("migrate");
        let mut conn = ipls::db::establish(&db.url).expect("connect");
        let jan = |d: u32| {
            NaiveDate::from_ymd_opt(2020, 1, d)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
        };
        let grants = Grants {
            limits: [(1, None), (16, None)].into_iter().collect(),
        };
        let account = NewAccount {
            login: "acme",
            secret: "acme-secret-0123456789",
            trial: false,
            grants: &grants,
            now: jan(1),
            by: &ipls::domain::Source::Cli,
        };
        let acme = create(&mut conn, &account, &crate::common::test_secrets()).expect("reseller");
        let at = |now| Actor {
            reseller: &acme,
            source: "198.51.100.7",
            now,
        };
        let ip = |s: &str| ipls::domain::ip::LicenseIp::parse(s).unwrap();
        let policy = Policy::default();
        register(
            &mut conn,
            &at(jan(21)),
            &policy,
            &Registration::of(ip("203.0.113.1"), 1),
        )
        .unwrap();
        register(
            &mut conn,
            &at(jan(22)),
            &policy,
            &Registration::of(ip("203.0.113.2"), 16),
        )
        .unwrap();
        remove(&mut conn, &at(jan(23)), &ip("203.0.113.2"), None).unwrap();

        let stale = succeeded(&ipls(
            &db,
            &["report", "stale", "--older-than", "7d", "--format", "csv"],
        ));
        let lines: Vec<&str> = stale.lines().collect();
        assert_eq!(
            lines[0],
            "reseller,ip,type,created_at,last_checkin,server_info"
        );
        assert_eq!(lines[1], "acme,203.0.113.1,1,2020-01-21 08:00,,");
        assert_eq!(lines.len(), 2, "{stale}");

        succeeded(&ipls(&db, &["price", "set", "1", "31"]));
        let usage = succeeded(&ipls(
            &db,
            &["report", "usage", "--month", "2020-01", "--format", "json"],
        ));
        let rows: serde_json::Value = serde_json::from_str(&usage).expect("json");
        assert_eq!(
            rows,
            serde_json::json!([
                {"month": "2020-01", "reseller": "acme", "type": 1, "license_days": 11, "peak": 1, "amount_cents": 1100, "suspended_days": 0},
                {"month": "2020-01", "reseller": "acme", "type": 16, "license_days": 2, "peak": 1, "amount_cents": null, "suspended_days": 0}
            ])
        );
        let table = succeeded(&ipls(
            &db,
            &[
                "report",
                "usage",
                "--month",
                "2020-01",
                "--reseller",
                "acme",
            ],
        ));
        assert!(
            table.starts_with("MONTH") && table.contains("11.00"),
            "{table}"
        );

        let audit = succeeded(&ipls(
            &db,
            &["audit", "--ip", "203.0.113.2", "--format", "csv"],
        ));
        let lines: Vec<&str> = audit.lines().collect();
        assert_eq!(
            lines[1],
            "5,2020-01-22 08:00,acme,register,203.0.113.2,16,,198.51.100.7"
        );
        assert_eq!(
            lines[2],
            "6,2020-01-23 08:00,acme,remove,203.0.113.2,16,,198.51.100.7"
        );
        assert_eq!(lines.len(), 3);
        let since = succeeded(&ipls(
            &db,
            &["audit", "--since", "2020-01-22T12:00", "--format", "csv"],
        ));
        assert_eq!(since.lines().count(), 2, "{since}");
        fails_cleanly(&ipls(&db, &["audit", "--since", "yesterday"]), "--since");
        fails_cleanly(
            &ipls(&db, &["report", "usage", "--month", "2020-1"]),
            "YYYY-MM",
        );
        fails_cleanly(
            &ipls(&db, &["price", "set", "999", "5"]),
            "unknown license type 999",
        );
        fails_cleanly(&ipls(&db, &["price", "set", "1", "1.234"]), "amount");
}
}

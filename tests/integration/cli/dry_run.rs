//! `--dry-run` on the command line: every rule runs and nothing stays, through one connection
//! (reseller, price) and through the pool (a registration); commands whose effect cannot be
//! rolled back refuse it.

use super::*;

crate::on_both_kinds! {
    fn dry_runs_change_nothing_and_say_so(kind) {
        let Some(db) = TestDatabase::create_migrated(kind) else { return };
        succeeded(&ipls(&db, &["reseller", "add", "acme", "--types", "1"]));
        let count = |sql: &str| {
            let mut conn = ipls::db::establish(&db.server_url()).expect("connect");
            crate::common::database::count_any(&mut conn, sql)
        };

        let said = succeeded(&ipls(&db, &["reseller", "add", "beta", "--types", "1", "--dry-run"]));
        assert!(said.contains("dry run: every rule was checked and nothing was changed"), "{said}");
        assert_eq!(count("SELECT count(*) AS n FROM resellers"), 1);
        succeeded(&ipls(&db, &["reseller", "block", "acme", "--reason", "unpaid", "--dry-run"]));
        assert_eq!(count("SELECT count(*) AS n FROM resellers WHERE blocked_reason IS NOT NULL"), 0);
        succeeded(&ipls(&db, &["price", "set", "1", "12.50", "--dry-run"]));
        assert_eq!(count("SELECT count(*) AS n FROM prices"), 0);
        // Through the pool, as `ipls serve` registers.
        let said = succeeded(&ipls(&db, &["license", "register", "--reseller", "acme",
            "--ip", "203.0.113.1", "--type", "1", "--dry-run"]));
        assert!(said.contains("acme holds 203.0.113.1 type 1"), "{said}");
        assert_eq!(count("SELECT count(*) AS n FROM ip_licenses"), 0);
        assert_eq!(count("SELECT count(*) AS n FROM license_events WHERE action NOT IN ('reseller_create', 'key_create')"), 0);
        // A dry run is refused where a real call would be, with the same words.
        fails_cleanly(
            &ipls(&db, &["license", "register", "--reseller", "acme", "--ip", "203.0.113.1",
                "--type", "16", "--dry-run"]),
            "not enabled for your account",
        );
        // And for real, afterwards: the same rules, now kept.
        succeeded(&ipls(&db, &["license", "register", "--reseller", "acme", "--ip", "203.0.113.1", "--type", "1"]));
        assert_eq!(count("SELECT count(*) AS n FROM ip_licenses"), 1);

        for (args, why) in [
            (&["webhook", "test", "1", "--dry-run"][..], "webhook test sends a message"),
            (&["serve", "--dry-run"][..], "serve starts a server"),
            (&["backup", "/tmp/x.db", "--dry-run"][..], "write files"),
        ] {
            fails_cleanly(&ipls(&db, args), why);
        }
    }
}

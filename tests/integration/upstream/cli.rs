//! `ipls upstream add | types | list | show | test | remove`: the secret never an argument and
//! sealed at rest, a type routed to one upstream, what `test` finds, a removal refused while
//! changes wait, and `rekey` re-sealing upstream secrets.

use super::Chain;
use crate::common::process::succeeded;
use crate::on_both_kinds;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

on_both_kinds! {
    fn upstreams_are_managed_from_the_command_line(kind) {
        let Some(chain) = Chain::start(kind) else { return };
        let a = &chain.a;
        // The secret: from the environment or standard input, never an argument.
        let no_secret = a.cli(&["upstream", "add", "other", "--url", "http://127.0.0.1:1",
            "--login", "x", "--types", "40"]);
        assert_eq!(no_secret.status.code(), Some(2), "{}", stderr(&no_secret));
        assert!(stderr(&no_secret).contains("IPLS_UPSTREAM_SECRET"));
        let as_argument = a.cli(&["upstream", "add", "other", "--url", "http://127.0.0.1:1",
            "--login", "x", "--types", "40", "--secret", "s3cr3t"]);
        assert_eq!(as_argument.status.code(), Some(2));
        assert_eq!(a.count("SELECT count(*) AS n FROM upstreams \
            WHERE secret LIKE '%secret-of-partner%'"), 0, "sealed at rest");
        // A type goes to one upstream.
        let twice = a.cli_with(&["upstream", "add", "other", "--url", "http://127.0.0.1:1",
            "--login", "x", "--types", "1"], &[("IPLS_UPSTREAM_SECRET", "s3cr3t-0123")]);
        assert_eq!(twice.status.code(), Some(1));
        assert!(stderr(&twice).contains("type 1 is already carried to upstream cln"), "{}", stderr(&twice));
        assert_eq!(a.count("SELECT count(*) AS n FROM upstreams"), 1, "nothing half-added");

        // test: the credentials work, and what the account holds.
        chain.acme.ok("register", "ip=11.4.0.1&type=1");
        chain.partner.ok("register", "ip=11.4.0.2&type=16");
        let tested = succeeded(&a.cli(&["upstream", "test", "cln"]));
        assert!(tested.contains("the credentials of partner are accepted; it holds 2 license(s) \
            (type 1: 1, type 16: 1); types routed here: 1,16,41,42"), "{tested}");
        let listed: serde_json::Value =
            serde_json::from_str(&succeeded(&a.cli(&["upstream", "list", "--format", "json"]))).unwrap();
        assert_eq!(listed[0]["name"], "cln");
        assert_eq!(listed[0]["types"], "1,16,41,42");
        assert_eq!(listed[0]["pending"], 0);
        succeeded(&a.cli(&["upstream", "types", "cln", "1,16,41,42,40"]));

        // rekey re-seals the upstream's secret: it still opens, under the new key only.
        let new_key = "f0".repeat(32);
        succeeded(&a.cli(&["rekey", "--new-key", &new_key]));
        let after = a.cli_with(&["upstream", "test", "cln"], &[("IPLS_MASTER_KEY", &new_key)]);
        assert!(succeeded(&after).contains("are accepted"));

        // A wrong secret is the upstream's refusal, said as such.
        let dead = a.cli_with(&["upstream", "add", "dead", "--url", "http://127.0.0.1:1",
            "--login", "partner", "--types", "2"], &[("IPLS_UPSTREAM_SECRET", "s3cr3t-0123"),
            ("IPLS_MASTER_KEY", &new_key)]);
        succeeded(&dead);
        let down = a.cli_with(&["upstream", "test", "dead"], &[("IPLS_MASTER_KEY", &new_key)]);
        assert_eq!(down.status.code(), Some(1));
        assert!(stderr(&down).contains("Upstream unavailable, try again (cannot connect to upstream dead)"),
            "{}", stderr(&down));
        // Removed only when nothing waits for it, unless forced.
        let busy = a.count("SELECT count(*) AS n FROM upstream_ops");
        assert_eq!(busy, 0);
        let removed = a.cli_with(&["upstream", "remove", "dead"], &[("IPLS_MASTER_KEY", &new_key)]);
        assert!(succeeded(&removed).contains("removed upstream dead; its types stay local"));
    }
}

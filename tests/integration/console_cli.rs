//! `ipls user ...` as an operator runs it: add (generated or given password), list,
//! passwd (ends sessions), remove, and clear refusals.

use crate::common::console::{log_in, try_log_in};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::{Kind, TestServer, TEST_MASTER_KEY};

fn user_commands_manage_console_users(kind: Kind) {
    let Some(srv) = TestServer::start(kind) else {
        return;
    };
    srv.add_reseller("acme", &[1]);
    let key = Some(TEST_MASTER_KEY);
    let out = succeeded(&ipls_cli(
        &srv.db,
        key,
        &["user", "add", "Ops@Acme.example", "--reseller", "acme"],
    ));
    assert!(
        out.contains("created ops@acme.example (full user of acme)"),
        "{out}"
    );
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password")
        .to_string();
    assert_eq!(password.len(), 24);
    let session = log_in(&srv, "ops@acme.example", &password);

    let out = succeeded(&ipls_cli(
        &srv.db,
        key,
        &["user", "add", "root@ipls.example", "--operator"],
    ));
    assert!(out.contains("(operator)"), "{out}");
    let listed = succeeded(&ipls_cli(&srv.db, key, &["user", "list"]));
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[1][..3],
        ["ops@acme.example", "full", "acme"],
        "{listed}"
    );
    assert_eq!(
        rows[2][..3],
        ["root@ipls.example", "operator", "-"],
        "{listed}"
    );

    let refused = ipls_cli(
        &srv.db,
        key,
        &["user", "add", "ops@acme.example", "--reseller", "acme"],
    );
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "error: user ops@acme.example already exists"
    );
    let refused = ipls_cli(
        &srv.db,
        key,
        &["user", "add", "x@acme.example", "--reseller", "nobody"],
    );
    assert!(!refused.status.success());
    let refused = ipls_cli(
        &srv.db,
        key,
        &["user", "add", "not-an-address", "--operator"],
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not an e-mail address"));

    // A new password ends the user's sessions; the old password stops working.
    let out = succeeded(&ipls_cli(
        &srv.db,
        key,
        &["user", "passwd", "ops@acme.example"],
    ));
    assert!(out.contains("their sessions have ended"), "{out}");
    let page = crate::common::console::get(&srv, &session.cookie, "/console/dashboard");
    assert_eq!(page.header("location"), Some("/console/login"));
    assert_eq!(
        try_log_in(&srv, "ops@acme.example", &password, &[])
            .0
            .status,
        401
    );

    succeeded(&ipls_cli(
        &srv.db,
        key,
        &["user", "remove", "ops@acme.example"],
    ));
    let listed = succeeded(&ipls_cli(&srv.db, key, &["user", "list"]));
    assert!(!listed.contains("ops@acme.example"), "{listed}");
}

#[test]
fn user_commands_sqlite() {
    user_commands_manage_console_users(Kind::Sqlite);
}

#[test]
fn user_commands_postgres() {
    user_commands_manage_console_users(Kind::Postgres);
}

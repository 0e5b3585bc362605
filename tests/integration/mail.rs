//! The mail sender against a real SMTP server (aiosmtpd): `ipls mail test` delivers a message
//! whose headers and text are read back from the server's Maildir; `ipls doctor` says whether
//! the server answers; settings that cannot work are refused with one clear line.

use std::process::Command;

use crate::common::smtp::SmtpSink;
use crate::common::{Kind, TestDatabase, TEST_MASTER_KEY};

/// `ipls ARGS` with the test database, the master key and these settings.
fn ipls(db: &TestDatabase, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ipls"));
    command
        .args(args)
        .env("DATABASE_URL", db.url_text())
        .env("IPLS_MASTER_KEY", TEST_MASTER_KEY)
        .env_remove("IPLS_SMTP_URL")
        .env_remove("IPLS_MAIL_FROM");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run ipls")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_test_message_arrives_with_its_headers() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let db = TestDatabase::create_migrated(Kind::Sqlite).expect("SQLite");
    let url = sink.url();
    let env = [
        ("IPLS_SMTP_URL", url.as_str()),
        ("IPLS_MAIL_FROM", "ipls licenses <licenses@ipls.example>"),
    ];
    let sent = ipls(&db, &env, &["mail", "test", "ops@acme.example"]);
    assert!(sent.status.success(), "{}", text(&sent.stderr));
    assert!(text(&sent.stdout).contains(&format!(
        "sent a test message to ops@acme.example through smtp (plain) {}",
        sink.addr
    )));
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        m.header("From"),
        "\"ipls licenses\" <licenses@ipls.example>"
    );
    assert_eq!(m.header("To"), "ops@acme.example");
    assert_eq!(m.header("Subject"), "ipls: test message");
    assert!(
        m.header("Content-Type")
            .starts_with("text/plain; charset=utf-8"),
        "{m:?}"
    );
    let id = m.header("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );
    let date = chrono::DateTime::parse_from_rfc2822(m.header("Date")).expect("an RFC 2822 date");
    assert!(
        (chrono::Utc::now() - date.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 60
    );
    assert!(
        m.body.starts_with("This is a test message from ipls."),
        "{}",
        m.body
    );

    // The doctor sees the server answer, and says where mail goes.
    let doctor = ipls(&db, &env, &["doctor"]);
    let report = text(&doctor.stdout);
    let line = report
        .lines()
        .find(|l| l.contains(" mail "))
        .expect("a mail line");
    assert!(
        line.starts_with("ok") && line.contains("answers"),
        "{report}"
    );
    // An address the server refuses is said as refused (aiosmtpd takes any; a bad one is ours).
    let bad = ipls(&db, &env, &["mail", "test", "not an address"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("refused"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn mail_that_cannot_go_says_why() {
    let db = TestDatabase::create_migrated(Kind::Sqlite).expect("SQLite");
    // Off: said by the doctor as fine, by `mail test` as what to set.
    let off = ipls(&db, &[], &["mail", "test", "ops@acme.example"]);
    assert!(
        text(&off.stderr).contains("mail is off: set IPLS_SMTP_URL and IPLS_MAIL_FROM"),
        "{}",
        text(&off.stderr)
    );
    let doctor = text(&ipls(&db, &[], &["doctor"]).stdout);
    assert!(
        doctor
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("mail") && l.contains("off")),
        "{doctor}"
    );
    // Settings that cannot work stop every command with one line.
    for (env, says) in [
        (
            vec![("IPLS_SMTP_URL", "smtp://mail.example.com")],
            "IPLS_MAIL_FROM is required",
        ),
        (
            vec![
                ("IPLS_SMTP_URL", "http://mail.example.com"),
                ("IPLS_MAIL_FROM", "a@b.example"),
            ],
            "the scheme is \"http\"",
        ),
        (
            vec![
                ("IPLS_SMTP_URL", "smtp://h.example?tls=maybe"),
                ("IPLS_MAIL_FROM", "a@b.example"),
            ],
            "tls=maybe is not understood",
        ),
        (
            vec![
                ("IPLS_SMTP_URL", "smtp://h.example"),
                ("IPLS_MAIL_FROM", "nobody"),
            ],
            "IPLS_MAIL_FROM: \"nobody\" is not a mail address",
        ),
    ] {
        let out = ipls(&db, &env, &["mail", "test", "ops@acme.example"]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains(says),
            "{env:?}: {}",
            text(&out.stderr)
        );
    }
    // Nothing listening: not sent, and the doctor fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}?tls=none&timeout=2");
    let env = [
        ("IPLS_SMTP_URL", url.as_str()),
        ("IPLS_MAIL_FROM", "a@b.example"),
    ];
    let out = ipls(&db, &env, &["mail", "test", "ops@acme.example"]);
    assert!(
        text(&out.stderr).contains("not sent"),
        "{}",
        text(&out.stderr)
    );
    let doctor = ipls(&db, &env, &["doctor"]);
    assert!(!doctor.status.success());
    assert!(
        text(&doctor.stdout)
            .lines()
            .any(|l| l.starts_with("fail") && l.contains("mail")),
        "{}",
        text(&doctor.stdout)
    );
}

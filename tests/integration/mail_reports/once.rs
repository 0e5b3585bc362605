//! Exactly once, through faults: two `ipls serve` processes on one database decide the day's
//! report and the last month's statements once between them; the SMTP server refuses everything
//! for a while (451), then holds its answers while one instance is SIGKILLed in the middle of
//! a message; every mail arrives once, with its queued Message-ID.

use std::collections::BTreeSet;

use super::*;
use crate::common::process::ServeProcess;

const RESELLERS: usize = 12;

crate::on_both_kinds! {
    fn every_report_arrives_once_through_refusals_and_a_kill(kind) {
        let Some(sink) = SmtpSink::start() else { return };
        // The test's own server mails nothing (no SMTP URL): only the processes do. Its clock
        // is 2026-11-28, so by real time the licenses are silent and were held all last month.
        let Some(srv) = TestServer::start(kind) else { return };
        for n in 1..=RESELLERS {
            let login = format!("r{n:02}");
            let reseller = srv.add_reseller(&login, &[1]);
            reseller.ok("register", &format!("ip=192.0.2.{n}&type=1"));
            reseller.ok("register", &format!("ip=198.51.100.{n}&type=1"));
            subscribe(&srv, &login, "cloudlinux", &[&format!("billing@{login}.example")]);
        }
        // Per reseller a "not checking in" and a statement; the operator's two digests.
        let expected = RESELLERS * 2 + 2;
        sink.refuse_all(true);
        let url = srv.db.url_text();
        let smtp = sink.url().replace("timeout=5", "timeout=2");
        let env = [
            ("IPLS_SMTP_URL", smtp.as_str()),
            ("IPLS_MAIL_FROM", "ipls <licenses@ipls.example>"),
            ("IPLS_OPERATOR_MAIL", "ops@operator.example"),
            ("IPLS_MAIL_POLL_MS", "100"),
            ("IPLS_MAIL_RETRY_SCHEDULE", "300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms"),
        ];
        let mut a = ServeProcess::start(&url, &env);
        let _b = ServeProcess::start(&url, &env);
        wait_until("every mail queued and refused at least once", || {
            srv.count("SELECT count(*) AS n FROM mail_outbox") == expected as i64
                && srv.count("SELECT count(*) AS n FROM mail_outbox WHERE attempts = 0") == 0
        });
        assert_eq!(sink.messages().len(), 0, "refused: nothing arrived");
        assert_eq!(srv.count("SELECT count(*) AS n FROM mail_reports"), 2, "one daily, one statement");

        // The server takes mail again, but holds its answers: kill A in the middle of one.
        sink.hold(true);
        sink.refuse_all(false);
        wait_until("messages held", || sink.held() >= 2);
        a.child.kill().expect("SIGKILL");
        let _ = a.child.wait();
        sink.hold(false);

        // B sends the rest, A's held message once A's lease runs out (2 s timeout: 25 s).
        wait_until("every mail sent", || {
            srv.count("SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL") == 0
        });
        std::thread::sleep(Duration::from_millis(500));
        let received = sink.messages();
        let ids: Vec<&str> = received.iter().map(|m| m.header("Message-ID")).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), expected, "each once: {ids:?}");
        assert_eq!(unique.len(), expected, "no Message-ID twice");
        let mut conn = srv.conn();
        let queued: BTreeSet<String> = ipls::domain::mail::outbox::list(
            &mut conn, ipls::domain::mail::outbox::Listing::All, None, 1_000)
            .unwrap()
            .into_iter()
            .map(|m| format!("<{}@ipls.example>", m.message_id))
            .collect();
        let arrived: BTreeSet<String> = unique.iter().map(|s| s.to_string()).collect();
        assert_eq!(arrived, queued, "the queued ids, none invented");
        let month = ipls::domain::month::Month::containing(chrono::Utc::now().date_naive()).previous();
        for n in 1..=RESELLERS {
            let to = format!("billing@r{n:02}.example");
            assert_eq!(with_subject(&received, &format!("Systems Not Checking In: r{n:02}"), &to).len(), 1);
            assert_eq!(with_subject(&received, &format!("Statement {month}: r{n:02}"), &to).len(), 1);
        }
        assert!(srv.count("SELECT count(*) AS n FROM mail_outbox WHERE attempts > 1") > 0, "retried");
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

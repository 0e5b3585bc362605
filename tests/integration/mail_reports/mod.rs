//! Reports by mail, received by a real SMTP server (aiosmtpd, `common::smtp`): what each says,
//! to whom, once; and the faces that set who receives them.

mod faces;
mod once;
mod reports;

use std::time::{Duration, Instant};

use ipls::domain::report_mailing::{self, ReportMailing};

use crate::common::smtp::{Received, SmtpSink};
use crate::common::{by_cli, Kind, Options, TestServer};

/// A server on a manual clock that mails through `sink`, looking every 50 ms, with the
/// operator's digest going to ops@operator.example and links to https://licenses.example.com.
fn mailing_server(kind: Kind, sink: &SmtpSink) -> Option<TestServer> {
    TestServer::start_with(
        kind,
        Options {
            trusted_proxies: "127.0.0.1",
            smtp_url: Some(sink.url()),
            configure: |c| {
                c.mail_reports.poll = Duration::from_millis(50);
                c.mail_reports.operator = vec!["ops@operator.example".into()];
                c.mail_reports.public_url = Some("https://licenses.example.com".into());
                c.mail_reports.retry_schedule = vec![Duration::from_millis(100); 3];
            },
            ..Options::default()
        },
    )
}

/// Turns on `family` reports of `login` to `to`.
fn subscribe(srv: &TestServer, login: &str, family: &str, to: &[&str]) {
    let mut conn = srv.conn();
    let reseller = ipls::domain::resellers::get(&mut conn, login).expect("the reseller");
    report_mailing::set(
        &mut conn,
        reseller.id,
        &ReportMailing {
            family: family.into(),
            active: true,
            addresses: to.iter().map(|a| a.to_string()).collect(),
        },
        &by_cli(),
    )
    .expect("report mailing set");
}

/// Waits until the sink holds `n` messages (at most 20 s) and returns them.
fn wait_for(sink: &SmtpSink, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let messages = sink.messages();
        if messages.len() >= n {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages arrived: {:?}",
            messages.len(),
            messages
                .iter()
                .map(|m| m.header("Subject"))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The messages whose subject starts with `prefix`, to `to`.
fn with_subject<'a>(messages: &'a [Received], prefix: &str, to: &str) -> Vec<&'a Received> {
    messages
        .iter()
        .filter(|m| m.header("Subject").starts_with(prefix) && m.header("To") == to)
        .collect()
}

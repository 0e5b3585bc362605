//! What a reseller who turned reports on receives, and the operator's digests, on a manual
//! clock from 2026-11-28 12:00: CLN's "Systems Not Checking In" once per silence, the trial
//! warning, and on 1 December the November statement with the figures of usage.json to the
//! cent, its CSV attached.

use chrono::Duration;

use super::*;
use crate::common::get_from;

crate::on_both_kinds! {
    fn a_subscribed_reseller_hears_of_silence_trials_and_the_month(kind) {
        let Some(sink) = SmtpSink::start() else { return };
        let Some(srv) = mailing_server(kind, &sink) else { return };
        let acme = srv.add_reseller("acme", &[1, 16]);
        let rival = srv.add_reseller("rival", &[1]);
        let trier = srv.add_reseller_with("trier", vec![(1, None)], true);
        subscribe(&srv, "acme", "cloudlinux", &["billing@acme.example", "ops@acme.example"]);
        subscribe(&srv, "trier", "cloudlinux", &["owner@trier.example"]);
        ipls::domain::prices::set(&mut srv.conn(), 1, 1_200, srv.now().naive_utc()).unwrap();
        acme.ok("register", "ip=192.0.2.10&type=1");
        acme.ok("register", "ip=192.0.2.2&type=1");
        acme.ok("register", "ip=192.0.2.30&type=16");
        rival.ok("register", "ip=198.51.100.1&type=1");
        trier.ok("register", "ip=203.0.113.5&type=1");
        assert_eq!(get_from(srv.addr, "192.0.2.2", "/api/server/checkin.json").json()["success"], true);
        let id_of = |ip: &str| srv.count(&format!("SELECT id AS n FROM ip_licenses WHERE ip = '{ip}'"));

        // 29 November, 13:00: every server has been silent 24 hours.
        srv.clock.advance(Duration::hours(25));
        let day1 = wait_for(&sink, 4);
        let to_billing = with_subject(&day1, "Systems Not Checking In: acme, cloudlinux", "billing@acme.example");
        assert_eq!(to_billing.len(), 1, "{day1:?}");
        let m = to_billing[0];
        assert_eq!(m.header("From"), "ipls <licenses@ipls.example>");
        let id = m.header("Message-ID");
        assert!(id.starts_with("<ipls.") && id.ends_with("@ipls.example>"), "{id}");
        chrono::DateTime::parse_from_rfc2822(m.header("Date")).expect("an RFC 2822 date");
        let text = m.text();
        documented(text);
        assert!(text.starts_with("Systems Not Checking In:\n-------------------------\n\
            The following systems recently stopped checking in with ipls:\n\n\
            System Id  System Name Last Checkin\n"), "{text:?}");
        assert!(text.contains(&format!("\n{:<10} 192.0.2.10  never\n", id_of("192.0.2.10"))), "{text:?}");
        assert!(text.contains(&format!("\n{:<10} 192.0.2.2   2026-11-28 12:00:00.0\n", id_of("192.0.2.2"))), "{text}");
        assert!(!text.contains("192.0.2.30") && !text.contains("198.51.100.1"), "kernelcare is not subscribed, rival is not acme: {text}");
        assert!(text.contains("https://licenses.example.com/console/stale"), "{text}");
        assert_eq!(with_subject(&day1, "Systems Not Checking In: acme", "ops@acme.example").len(), 1);
        assert_eq!(with_subject(&day1, "Systems Not Checking In: trier", "owner@trier.example").len(), 1);
        let digest = with_subject(&day1, "ipls daily digest 2026-11-29", "ops@operator.example");
        assert_eq!(digest.len(), 1, "{day1:?}");
        let digest = digest[0].text();
        documented(digest);
        let row = |login: &str, silent: usize, trials: usize| format!("\n{login:<8} {silent:>16} {trials:>14}\n");
        assert!(digest.starts_with("Daily digest for 2026-11-29\n---------------------------\n"), "{digest}");
        assert!(digest.contains(&row("acme", 3, 0)), "{digest}");
        assert!(digest.contains(&row("rival", 1, 0)), "{digest}");
        assert!(digest.contains(&row("trier", 1, 0)), "{digest}");
        assert!(digest.contains(&row("Total", 5, 0)), "{digest}");

        // 30 November: nobody new is silent; trier's trial ends within 3 days.
        diesel::RunQueryDsl::execute(
            diesel::sql_query("UPDATE ip_licenses SET trial_expires_at = '2026-12-01 12:00:00' \
                WHERE ip = '203.0.113.5'"),
            &mut srv.conn(),
        ).unwrap();
        srv.clock.advance(Duration::days(1));
        let day2 = wait_for(&sink, 6);
        assert_eq!(day2.len(), 6, "the silent servers are not reported again: {day2:?}");
        let trials = with_subject(&day2, "Trials ending in 3 days: trier, cloudlinux", "owner@trier.example");
        assert_eq!(trials.len(), 1, "{day2:?}");
        documented(trials[0].text());
        assert!(trials[0].text().contains("\n203.0.113.5 1     2026-12-01 12:00\n"), "{}", trials[0].text());
        let digest = with_subject(&day2, "ipls daily digest 2026-11-30", "ops@operator.example");
        assert!(digest[0].text().contains(&row("trier", 0, 1)), "{}", digest[0].text());

        // 1 December, 14:00: 192.0.2.2 checked in on the 30th and fell silent again; November
        // closed.
        assert_eq!(get_from(srv.addr, "192.0.2.2", "/api/server/checkin.json").json()["success"], true);
        srv.clock.advance(Duration::hours(25));
        let day3 = wait_for(&sink, 12);
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(sink.messages().len(), 12, "{:?}", sink.messages().iter().map(|m| m.header("Subject")).collect::<Vec<_>>());
        let again = with_subject(&day3, "Systems Not Checking In: acme", "billing@acme.example");
        assert_eq!(again.len(), 2);
        // Within one second the sink does not know the order: the new one is the one without .10.
        let new: Vec<&str> = again.iter().map(|m| m.text()).filter(|t| !t.contains("192.0.2.10")).collect();
        assert_eq!(new.len(), 1, "a new silence only: {again:?}");
        assert!(new[0].contains("\n2          192.0.2.2   2026-11-30 13:00:00.0\n"), "{}", new[0]);

        // The statement: the figures of usage.json, to the cent, and the CSV.
        let usage = acme.ok("/api/usage.json", "month=2026-11");
        let statements = with_subject(&day3, "Statement 2026-11: acme, cloudlinux", "billing@acme.example");
        assert_eq!(statements.len(), 1, "{day3:?}");
        let statement = statements[0];
        let cloudlinux = usage["usage"].as_array().unwrap().iter()
            .find(|u| u["type"] == 1).expect("type 1 in usage.json");
        assert_eq!(cloudlinux["license_days"], 6, "{usage}");
        let amount = cloudlinux["amount"].to_string().trim_matches('"').to_string();
        assert_eq!(statement.header("Subject"), format!("Statement 2026-11: acme, cloudlinux, {amount}"));
        let product = "CloudLinux OS Legacy (formerly Shared)";
        let csv = statement.attachment("statement-2026-11-acme-cloudlinux.csv").expect("the CSV");
        assert_eq!(csv.content_type, "text/csv");
        assert_eq!(csv.text, format!("line,ip_or_server,type,product,license_days,monthly_price,amount\n\
            type,,1,{product},6,12.00,{amount}\n\
            license,192.0.2.10,1,{product},3,,\n\
            license,192.0.2.2,1,{product},3,,\n"));
        let text = statement.text();
        documented(text);
        documented(&csv.text);
        assert!(text.contains(&format!("\n1     {product} {:>12} {:>14} {amount:>10}\n", 6, "12.00")), "{text}");
        assert!(!text.contains("192.0.2.30"), "{text}");
        assert!(with_subject(&day3, "Statement", "owner@trier.example").is_empty(), "a trial bills nothing");
        let monthly = with_subject(&day3, "ipls monthly digest 2026-11", "ops@operator.example");
        assert_eq!(monthly.len(), 1);
        documented(monthly[0].text());
        let all = monthly[0].attachment("usage-2026-11.csv").expect("the usage CSV");
        assert!(all.text.contains(&format!("acme,1,{product},6,2,0,{amount}\n")), "{}", all.text);
        assert!(all.text.contains("acme,16,"), "{}", all.text);
        assert!(all.text.contains(&format!("rival,1,{product},3,1,0,")), "{}", all.text);

        // Every period was decided once.
        assert_eq!(srv.count("SELECT count(*) AS n FROM mail_reports WHERE kind = 'daily'"), 4);
        assert_eq!(srv.count("SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NULL"), 0);
    }
}

/// docs/operations.md shows `text` as received (indented as a block).
fn documented(text: &str) {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .expect("docs/operations.md");
    let block: String = text
        .trim_end()
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    assert!(
        docs.contains(&block),
        "docs/operations.md lacks this mail:\n{block}"
    );
}

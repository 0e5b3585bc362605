//! A reseller's user at work: log in, add IPs, filter and search, export CSV, bulk remove a
//! filtered set after a confirmation that states the count, rotate the API secret.

use chrono::Duration;
use ipls::domain::users::Role;

use crate::common::console::{add_user, get, PASSWORD};
use crate::common::Options;
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

in_the_browser! {
    fn add_filter_search_and_export(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[1, 16, 41, 42]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        assert_eq!(b.path(), "/console/dashboard");
        assert!(b.body_text().contains("Dashboard: acme"));
        // Each product's box leads to its licenses (its keys, for a product sold by key).
        b.screenshots(&format!("dashboard-{kind:?}"));
        b.click("article.product a[href='/console/keys?product=kcare']");
        assert_eq!(b.path(), "/console/keys?product=kcare");
        b.goto("/console/dashboard");
        b.click("article.product a[href='/console/licenses?type=1']");
        assert_eq!(b.path(), "/console/licenses?type=1");
        assert_eq!(b.run("return document.getElementById('f-type').value"), "1");

        b.goto("/console/licenses");
        for (ip, type_id) in [("203.0.113.10", "1"), ("203.0.113.11", "16"), ("198.51.100.7", "1")] {
            b.fill("#add-ip", ip);
            b.select("#add-type", type_id);
            b.click("form.add button[type=submit]");
            assert_eq!(b.text(".notice"), "License added.");
        }
        assert_eq!(b.texts("td.ip"), ["198.51.100.7", "203.0.113.10", "203.0.113.11"]);
        b.screenshot(&format!("licenses-{kind:?}"));
        b.assert_accessible("IP Licenses");

        b.fill("#f-ip", "203.0.113.0/24");
        b.click("form.filter button[type=submit]");
        assert_eq!(b.texts("td.ip"), ["203.0.113.10", "203.0.113.11"]);
        b.goto("/console/licenses?type=1");
        assert_eq!(b.texts("td.ip"), ["198.51.100.7", "203.0.113.10"]);
        b.goto("/console/licenses");
        b.fill("#f-q", "198.51");
        b.click("form.filter button[type=submit]");
        assert_eq!(b.texts("td.ip"), ["198.51.100.7"]);

        // Sorting by IP, descending: the header link flips the order.
        b.goto("/console/licenses?sort=ip&dir=asc");
        b.click("thead a[href*='sort=ip']");
        assert_eq!(b.texts("td.ip"), ["203.0.113.11", "203.0.113.10", "198.51.100.7"]);

        // The CSV of the current filter, as the browser downloads it (same cookies).
        b.goto("/console/licenses?ip=203.0.113.0%2F24");
        let href = b.run("return document.querySelector('a[download]').getAttribute('href')");
        let csv = get(&srv, &b.cookie("ipls_session"), &href).text();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "ip,type,hostname,added,last_checkin,els_allowed,external_id,note");
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(lines[1].starts_with("203.0.113.10,1,,2026-11-28 12:00:00,,false"), "{csv}");
        assert!(lines[2].starts_with("203.0.113.11,16,"), "{csv}");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 3);
    }

    fn bulk_remove_states_the_count(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        for i in 1..=12 {
            acme.ok("register", &format!("ip=203.0.113.{i}&type=1"));
        }
        for i in 1..=5 {
            acme.ok("register", &format!("ip=198.51.100.{i}&type=1"));
        }
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);

        // Two ticked rows.
        b.goto("/console/licenses?ip=198.51.100.0%2F24");
        b.click("input[value='198.51.100.1|1']");
        b.click("input[value='198.51.100.2|1']");
        b.click("form#bulk button[type=submit]");
        assert_eq!(b.text(".notice"), "The selected licenses were removed.");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses WHERE ip LIKE '198.51.100.%'"), 3);

        // Every row matching a filter, after a confirmation that states the count.
        b.goto("/console/licenses?ip=203.0.113.0%2F24");
        b.click("a[href^='/console/licenses/remove-matching']");
        assert_eq!(b.text(".warning .count"), "12");
        b.screenshot(&format!("bulk-remove-confirm-{kind:?}"));
        b.assert_accessible("bulk remove confirmation");
        b.click("button.danger");
        assert_eq!(b.text(".notice .count"), "12");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 3);
        assert_eq!(
            srv.count("SELECT count(*) AS n FROM license_events WHERE action = 'remove' AND source = 'console:ops@acme.example'"),
            14
        );
    }

    fn rotating_the_secret_switches_the_api_key(kind) {
        let options = Options { auth_cache_secs: 2, ..Options::default() };
        let Some(srv) = console_server(kind, options) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        acme.ok("check", "ip=203.0.113.1");
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/account");
        b.assert_accessible("Account");
        b.fill("#reveal-password", PASSWORD);
        b.click("form[action='/console/account/reveal'] button");
        assert_eq!(b.text("#revealed"), acme.secret);
        assert!(!b.path().contains(&acme.secret), "no secret in a URL");

        b.click("#rotate-confirm");
        b.click("form[action='/console/account/rotate'] button");
        let new_secret = b.text("#revealed");
        assert_ne!(new_secret, acme.secret);
        b.screenshot(&format!("account-rotated-{kind:?}"));

        let mut renewed = acme.clone();
        renewed.secret = new_secret;
        renewed.ok("check", "ip=203.0.113.1");
        // The old secret may live on in the credentials cache for its bound, not longer.
        srv.clock.advance(Duration::seconds(3));
        assert_eq!(acme.refused("check", "ip=203.0.113.1"), "Authorization failed");
        renewed.ok("check", "ip=203.0.113.1");

        // A named secret beside it: shown once, listed by name, works, revoked.
        b.fill("#secret-name", "billing");
        b.click("form[action='/console/account/secrets'] button");
        let named = b.text("#revealed");
        let mut billing = acme.clone();
        billing.secret = named;
        billing.ok("check", "ip=203.0.113.1");
        b.goto("/console/account");
        b.run("document.getElementById('api-secrets').scrollIntoView(); return null;");
        assert_eq!(b.texts("#api-secrets tbody td:first-child"), ["default (the IP secret key)", "billing"]);
        b.screenshots(&format!("account-secrets-{kind:?}"));
        b.assert_accessible("Account, with a named secret");
        b.click("form[action='/console/account/secrets/revoke'] button");
        assert_eq!(b.text(".notice"), "The secret was revoked: tokens made with it are refused now.");
        srv.clock.advance(Duration::seconds(3));
        assert_eq!(billing.refused("check", "ip=203.0.113.1"), "Authorization failed");
    }
}

in_the_browser! {
    fn note_suspend_resume_and_move_a_license(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1, 16]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        acme.ok("register", "ip=203.0.113.20&type=1");
        acme.ok("register", "ip=203.0.113.21&type=16");
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/licenses");

        // Note and external id, from the row's "Actions".
        b.click("tr:nth-child(1) details.row-actions summary");
        b.fill("tr:nth-child(1) form.note textarea", "rack 12, customer Smith");
        b.fill("tr:nth-child(1) form.note input[name=external_id]", "svc-1001");
        b.click("tr:nth-child(1) form.note button[type=submit]");
        assert_eq!(b.text(".notice"), "Note and external id saved.");
        assert_eq!(b.text("td div.note"), "rack 12, customer Smith");

        // Suspend with a reason; the row says so and offers Resume.
        b.click("tr:nth-child(1) details.row-actions summary");
        b.fill("tr:nth-child(1) form.suspend input[name=reason]", "unpaid invoice 7");
        b.click("tr:nth-child(1) form.suspend button[type=submit]");
        assert_eq!(b.text(".notice"), "License suspended: it keeps its IP; its server is told.");
        assert_eq!(b.text(".badge.suspended"), "suspended: unpaid invoice 7");
        b.click("tr:nth-child(1) details.row-actions summary");
        b.screenshots(&format!("licenses-actions-{kind:?}"));
        b.assert_accessible("IP Licenses with a suspended license");
        b.click("form[action='/console/licenses/resume'] button[type=submit]");
        assert_eq!(b.text(".notice"), "License resumed.");
        assert_eq!(b.count(".badge.suspended"), 0);

        // Move to a new IP typed in the row: the same license, its note kept.
        b.click("tr:nth-child(1) details.row-actions summary");
        b.fill("tr:nth-child(1) form.move input[name=new_ip]", "198.51.100.20");
        b.click("tr:nth-child(1) form.move button[type=submit]");
        assert_eq!(b.text(".notice"), "License moved to its new IP.");
        assert_eq!(b.texts("td.ip"), ["198.51.100.20", "203.0.113.21"]);
        assert_eq!(b.text("td div.note"), "rack 12, customer Smith");
        // A refusal is said in the page, and nothing moves.
        srv.add_reseller("rival", &[1]).ok("register", "ip=198.51.100.99&type=1");
        b.click("tr:nth-child(1) details.row-actions summary");
        b.fill("tr:nth-child(1) form.move input[name=new_ip]", "198.51.100.99");
        b.click("tr:nth-child(1) form.move button[type=submit]");
        assert!(b.body_text().contains("held by another reseller"), "{}", b.body_text());
        assert_eq!(acme.ok("check", "ip=198.51.100.20"), serde_json::json!([1]));
    }

    fn a_list_a_reseller_can_work_with(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        for i in 1..=60 {
            acme.ok("register", &format!("ip=192.0.2.{i}&type=1"));
        }
        acme.ok("register", "ip=2001:db8::10&type=1");
        acme.ok("register", "ip=2001:db8::2&type=1");
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);

        // The total, the page, numeric order (192.0.2.2 before 192.0.2.10), IPv6 last.
        b.goto("/console/licenses");
        assert_eq!(b.text("#total"), "62");
        assert!(b.text("p.summary").contains("page 1 of 2"), "{}", b.text("p.summary"));
        assert_eq!(b.texts("td.ip")[..3], ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        b.click("a[rel=next]");
        assert!(b.text("p.summary").contains("page 2 of 2"));
        assert_eq!(b.texts("td.ip"), ["192.0.2.51", "192.0.2.52", "192.0.2.53", "192.0.2.54", "192.0.2.55", "192.0.2.56", "192.0.2.57", "192.0.2.58", "192.0.2.59", "192.0.2.60", "2001:db8::2", "2001:db8::10"]);
        b.click("a[rel=prev]");
        assert!(b.text("p.summary").contains("page 1 of 2"));
        assert_eq!(b.texts("td.ip").len(), 50);
        assert_eq!(b.texts("td.ip")[49], "192.0.2.50");
        b.click("nav.pages .rows a[href*='per=25']");
        assert!(b.text("p.summary").contains("page 1 of 3"));
        assert_eq!(b.count("td.ip"), 25);

        // A remove asks first; the filtered list comes back after it.
        b.goto("/console/licenses?ip=192.0.2.0%2F24");
        b.click("tr:nth-child(2) details.row-actions summary");
        b.click("tr:nth-child(2) a[href^='/console/licenses/remove?']");
        assert!(b.text(".warning").starts_with("This removes the CloudLinux OS"), "{}", b.text(".warning"));
        assert_eq!(b.text(".warning .ip"), "192.0.2.2");
        b.screenshots(&format!("license-remove-confirm-{kind:?}"));
        b.assert_accessible("Remove a license");
        b.click("form[action='/console/licenses/remove'] button");
        assert_eq!(b.text(".notice"), "License removed.");
        assert!(b.path().contains("ip=192.0.2.0%2F24"), "{}", b.path());
        assert_eq!(b.text("#total"), "59");
        assert_eq!(acme.ok("check", "ip=192.0.2.2"), serde_json::json!([]));

        // A refused add is said in the page, with what was typed still there.
        b.fill("#add-ip", "300.1.1.1");
        b.fill("#add-note", "for customer 77");
        b.click("form.add button[type=submit]");
        assert_eq!(b.text("p.error"), "Not done: \"300.1.1.1\" is not an IP address");
        assert_eq!(b.run("return document.getElementById('add-ip').value"), "300.1.1.1");
        assert_eq!(b.run("return document.getElementById('add-note').value"), "for customer 77");
        b.assert_accessible("IP Licenses with a refused add");

        // At a phone's width the page, its add form and an open row fit: nothing scrolls sideways.
        b.goto("/console/licenses");
        b.click("tr:nth-child(1) details.row-actions summary");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the licenses page is {page} px wide at a {viewport} px viewport");
        b.run("document.querySelector('table.licenses').scrollIntoView(); return null;");
        b.screenshots(&format!("licenses-list-{kind:?}"));
    }

    fn unused_licenses_are_removed_from_not_checking_in(kind) {
        let options = Options { trusted_proxies: "127.0.0.1", ..Options::default() };
        let Some(srv) = console_server(kind, options) else { return };
        let acme = srv.add_reseller("acme", &[1]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        for i in 1..=8 {
            acme.ok("register", &format!("ip=203.0.113.{i}&type=1"));
        }
        srv.clock.advance(Duration::days(30));
        for i in 1..=3 {
            let answer = crate::common::http::request(srv.addr, "GET", "/api/server/checkin.json", &[("x-forwarded-for", &format!("203.0.113.{i}"))], b"");
            assert_eq!(answer.json()["success"], true);
        }
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/dashboard");
        b.click("a[href='/console/stale?days=7']");
        assert_eq!(b.text("#total"), "5");
        b.fill("#days", "20");
        b.click("form.filter button[type=submit]");
        assert_eq!(b.texts("#stale td.ip"), ["203.0.113.4", "203.0.113.5", "203.0.113.6", "203.0.113.7", "203.0.113.8"]);
        b.screenshots(&format!("stale-{kind:?}"));
        b.assert_accessible("Not checking in");
        b.click("a[href^='/console/stale/remove']");
        assert_eq!(b.text(".warning .count"), "5");
        assert!(b.text(".warning").contains("whose servers have not checked in for 20 days"));
        b.screenshots(&format!("stale-remove-confirm-{kind:?}"));
        b.assert_accessible("Remove unused licenses");
        b.click("button.danger");
        assert_eq!(b.text(".notice .count"), "5");
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 3);
        b.click("main a");
        assert_eq!(b.text("#total"), "0");
    }

    fn usage_over_the_year_as_a_chart_and_a_table(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        let acme = srv.add_reseller("acme", &[1, 16]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        // From 2026-11-28: two licenses of type 1; in January one of type 16; in February one of
        // type 1 goes.
        acme.ok("register", "ip=203.0.113.1&type=1");
        acme.ok("register", "ip=203.0.113.2&type=1");
        srv.clock.advance(Duration::days(40));
        acme.ok("register", "ip=203.0.113.3&type=16");
        srv.clock.advance(Duration::days(30));
        acme.ok("remove", "ip=203.0.113.2&type=1");
        srv.clock.advance(Duration::days(20));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);
        b.goto("/console/usage");
        assert_eq!(b.count("table.usage-trend tbody tr"), 12);
        assert!(b.count("figure.usage-chart svg rect") >= 6, "bars for Nov to Feb");
        // The table beside the chart says what usage.json says, month by month.
        let months = b.texts("table.usage-trend tbody th");
        let all = b.texts("table.usage-trend tbody td:last-child");
        for (month, shown) in months.iter().zip(&all) {
            let usage = acme.ok("/api/usage.json", &format!("month={month}"));
            let days: i64 = usage["usage"].as_array().unwrap().iter().map(|u| u["license_days"].as_i64().unwrap()).sum();
            assert_eq!(shown, &days.to_string(), "{month}");
        }
        assert_eq!(months.last().map(String::as_str), Some("2027-02"));
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the usage page is {page} px wide at a {viewport} px viewport");
        b.assert_accessible("Usage with its chart");
        b.run("document.querySelector('figure.usage-chart').scrollIntoView(); return null;");
        b.screenshots(&format!("usage-chart-{kind:?}"));
    }
}

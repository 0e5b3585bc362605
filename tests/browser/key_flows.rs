//! The Keys pages in a real browser: a reseller's user creates a KernelCare key, sees the
//! server that registered with it and the full key in CLN's words, sets IP ranges, removes
//! the server and deletes the key; the operator sees every reseller's keys.

use ipls::domain::users::Role;

use crate::common::console::{add_user, PASSWORD};
use crate::common::{http, Options};
use crate::driver::Browser;
use crate::{console_server, in_the_browser};

in_the_browser! {
    fn reseller_and_operator_manage_keys(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[16, 41]);
        srv.add_reseller("globex", &[16]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        add_user(&srv, "root@ipls.example", Role::Operator, None);
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);

        b.goto("/console/keys");
        assert_eq!(b.count("#keys tbody tr"), 1, "the default key");
        b.fill("#key-limit", "1");
        b.fill("#key-note", "customer 42");
        b.click("form.create button[type=submit]");
        assert_eq!(b.text(".notice"), "Key created.");
        assert_eq!(b.count("#keys tbody tr"), 2);
        let key = b.texts("#keys tbody tr:nth-child(2) td:first-child code")[0].clone();
        assert_eq!(key.len(), 16, "{key}");

        // A server registers with the key; the page shows it, and the key as full.
        let registered = http::request(srv.addr, "GET", &format!("/api/kcare/register_server.json?key={key}&hostname=web1.acme.example"), &[], b"").json();
        let server_id = registered["data"]["server_id"].as_str().unwrap().to_string();
        b.goto("/console/keys");
        assert!(b.text("#keys tbody tr:nth-child(2) td:nth-child(3)").contains("Maximum usage count of 1 reached"));
        b.assert_accessible("Keys");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the keys page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("keys-{kind:?}"));
        b.click("#keys tbody tr:nth-child(2) a.key");
        assert_eq!(b.texts("#servers td:first-child"), [server_id]);
        assert_eq!(b.texts("#servers td:nth-child(3)"), ["web1.acme.example"]);
        b.fill("#key-ranges", "203.0.113.0/24, 127.0.0.0/8");
        b.click("form[action$='/ranges'] button");
        assert_eq!(b.text(".notice"), "IP ranges saved.");
        assert!(b.body_text().contains("203.0.113.0/24 127.0.0.0/8"));
        b.assert_accessible("Key");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "a key's page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("key-{kind:?}"));
        b.click("#servers form button");
        assert_eq!(b.text(".notice"), "Server removed; its slot is free.");
        assert_eq!(b.count("#servers"), 0);
        // Deleting asks first, naming what goes with the key.
        b.click("a[href$='/delete']");
        assert!(b.text(".warning").starts_with("Deleting this key removes its 0 server(s)"), "{}", b.text(".warning"));
        assert!(b.body_text().contains("Product\nKernelCare"), "the product's name: {}", b.body_text());
        b.screenshots(&format!("key-delete-confirm-{kind:?}"));
        b.assert_accessible("Key delete confirmation");
        b.click("form[action$='/delete'] button");
        assert_eq!(b.text(".notice"), "Key deleted with its servers.");
        assert_eq!(b.count("#keys tbody tr"), 1);

        // The Imunify tab: one default key per enabled Imunify type.
        b.goto("/console/keys?product=imunify");
        assert_eq!(b.texts("#keys td:nth-child(2)"), ["Imunify360 single user"]);

        // The operator sees every reseller's keys (one browser at a time in this process).
        drop(b);
        let op = Browser::open(srv.addr);
        op.log_in("root@ipls.example", PASSWORD);
        op.goto("/console/operator/keys");
        assert_eq!(op.texts("#keys td:nth-child(2)"), ["acme", "globex"]);
        op.assert_accessible("Operator keys");
        op.screenshot(&format!("operator-keys-{kind:?}"));
        op.click("#keys tbody tr:nth-child(2) a.key");
        assert!(op.body_text().contains("Reseller: globex"));
        assert!(op.body_text().contains("No server has registered with this key."));
    }
}

in_the_browser! {
    fn key_products_sticky_tags_groups_and_monitoring(kind) {
        let Some(srv) = console_server(kind, Options::default()) else { return };
        srv.add_reseller("acme", &[16, 1002, 3]);
        add_user(&srv, "ops@acme.example", Role::Full, Some("acme"));
        let b = Browser::open(srv.addr);
        b.log_in("ops@acme.example", PASSWORD);

        // A KernelCare server that reports its kernel, behind on patches.
        b.goto("/console/keys?product=kcare");
        let key = b.texts("#keys tbody tr:first-child td:first-child code")[0].clone();
        let registered = http::request(srv.addr, "GET", &format!("/api/kcare/register_server.json?key={key}&hostname=web1.acme.example"), &[], b"").json();
        let server_id = registered["data"]["server_id"].as_str().unwrap().to_string();
        let target = format!("/api/server/checkin.json?server_id={server_id}&kernel_id=4d1f0c&patch_level=9&latest_patch_level=12&kernel_supported=1");
        assert_eq!(http::request(srv.addr, "GET", &target, &[], b"").json()["success"], true);

        // A server group, and the server put in it from the key's page.
        b.fill("#group-name", "front");
        b.fill("#group-description", "Front-end servers");
        b.click("form[action='/console/key-groups'] button");
        assert_eq!(b.text(".notice"), "Group created.");
        b.click("#keys tbody tr:first-child a.key");
        assert_eq!(b.texts("#servers td[data-label='Status']"), ["out of date"]);
        assert_eq!(b.texts("#servers td[data-label='Patch level']"), ["9 of 12"]);
        b.select("#servers select[name=group]", "front");
        b.click("#servers form[action='/console/key-groups/servers'] button");
        assert_eq!(b.text(".notice"), "The server's group is saved.");
        // The sticky tag, through the date field.
        b.run("document.querySelector('#key-sticky').value = '2024-05-01'; return ''");
        b.click("form[action$='/sticky'] button");
        assert_eq!(b.text(".notice"), "Sticky tag saved.");
        assert!(b.body_text().contains("Sticky tag\n2024-05-01"), "{}", b.body_text());
        b.assert_accessible("Key with kernel reports and groups");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "a KernelCare key's page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("key-kernelcare-{kind:?}"));

        b.goto("/console/keys?product=kcare");
        assert_eq!(b.texts("#server-groups td[data-label='Servers']"), ["1"]);
        assert_eq!(b.texts("#keys td[data-label='Sticky tag']"), ["2024-05-01"]);
        b.assert_accessible("KernelCare keys with groups");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the keys page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("keys-groups-{kind:?}"));

        // CloudLinux OS and ELS keys have their tabs; a key is made from the form.
        b.goto("/console/keys?product=cloudlinux");
        assert_eq!(b.texts("#keys td:nth-child(2)"), ["CloudLinux OS Shared Pro"]);
        b.fill("#key-limit", "1");
        b.click("form.create[action='/console/keys'] button");
        assert_eq!(b.text(".notice"), "Key created.");
        let made = b.texts("#keys tbody tr:nth-child(2) td:first-child code")[0].clone();
        assert!(made.split_once('-').is_some_and(|(_, hex)| hex.len() == 32), "{made}");
        let full = http::request(srv.addr, "GET", &format!("/api/v2/cl/register_server.json?key={made}"), &[], b"").json();
        assert_eq!(full["data"]["code"], 0, "{full}");
        b.goto("/console/keys?product=cloudlinux");
        assert!(b.text("#keys tbody tr:nth-child(2) td:nth-child(3)").contains("Maximum usage count of 1 reached"));
        b.assert_accessible("CloudLinux OS keys");
        b.screenshots(&format!("keys-cloudlinux-{kind:?}"));
        b.goto("/console/keys?product=els");
        assert_eq!(b.texts("#keys td:nth-child(2)"), ["ELS for CentOS 6"]);

        // The Account page's monitoring token: made, shown once, and it reads.
        b.goto("/console/account");
        assert_eq!(b.text("#monitoring-state"), "No monitoring token yet.");
        b.click("form[action='/console/account/monitoring'] button");
        let token = b.text("#revealed");
        let nagios = http::request(srv.addr, "GET", &format!("/clweb/api/kcare/nagios-res/acme/{token}"), &[], b"").text();
        assert!(nagios.starts_with("1 machine is OUTOFDATE!|"), "{nagios}");
        b.assert_accessible("Account with a monitoring token");
        let (page, viewport) = b.widths_at_phone_size();
        assert!(page <= viewport, "the account page is {page} px wide at a {viewport} px viewport");
        b.screenshots(&format!("account-monitoring-{kind:?}"));
    }
}

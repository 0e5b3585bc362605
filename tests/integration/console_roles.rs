//! CLN's sub-login roles over HTTP on both backends: for every role, each page opens or is
//! refused as its permissions say (`roles::PERMISSIONS`), a page shows only the forms the
//! role may use, the server refuses (403) a form the page did not offer, and the navigation
//! lists only what opens. The roles also come from the CLI.

use ipls::domain::roles::{Permission, Role, PERMISSIONS};

use crate::common::console::{add_user, get, log_in, post, PASSWORD};
use crate::common::process::{ipls_cli, succeeded};
use crate::common::{http, TestServer, TEST_MASTER_KEY};
use crate::on_both_backends;

/// A page of the reseller's console, the permission it needs (None: any login) and what its
/// navigation link says.
const PAGES: [(&str, Option<Permission>, &str); 7] = [
    ("/console/dashboard", None, "Dashboard"),
    (
        "/console/licenses",
        Some(Permission::ViewLicenses),
        "IP Licenses",
    ),
    ("/console/keys", Some(Permission::ViewLicenses), "Keys"),
    (
        "/console/stale",
        Some(Permission::ViewLicenses),
        "Not checking in",
    ),
    (
        "/console/history",
        Some(Permission::ViewLicenses),
        "History",
    ),
    ("/console/usage", Some(Permission::ViewBilling), "Usage"),
    ("/console/account", None, "Account"),
];

/// The reseller's default KernelCare key, with a server registered on it.
fn key_with_a_server(srv: &TestServer) -> String {
    use diesel::prelude::*;
    use ipls::db::schema::activation_keys;
    let key: String = activation_keys::table
        .filter(activation_keys::type_id.eq(16))
        .select(activation_keys::key_text)
        .order(activation_keys::id)
        .first(&mut srv.conn())
        .expect("the default key");
    let target = format!("/api/kcare/register_server.json?key={key}&hostname=web9");
    let registered = http::request(srv.addr, "GET", &target, &[], b"").json();
    assert_eq!(registered["success"], true, "{registered}");
    key
}

on_both_backends! {
    fn each_role_sees_and_does_what_its_permissions_say(srv) {
        let acme = srv.add_reseller("acme", &[1, 16]);
        acme.ok("register", "ip=203.0.113.1&type=1");
        let key = key_with_a_server(&srv);
        for (n, (role, granted)) in PERMISSIONS.iter().enumerate() {
            let email = format!("{}@acme.example", role.as_str());
            add_user(&srv, &email, *role, Some("acme"));
            let s = log_in(&srv, &email, PASSWORD);
            let may = |p: Permission| granted.contains(&p);

            let dashboard = get(&srv, &s.cookie, "/console/dashboard").text();
            for (path, needs, link) in PAGES {
                let opens = needs.is_none_or(may);
                let answer = get(&srv, &s.cookie, path);
                assert_eq!(answer.status, if opens { 200 } else { 403 }, "{role:?} {path}");
                assert_eq!(dashboard.contains(&format!(">{link}</a>")), opens, "{role:?}: the link to {path}");
            }
            assert!(dashboard.contains(role.title()), "{role:?} named in the header");

            if may(Permission::ViewLicenses) {
                let list = get(&srv, &s.cookie, "/console/licenses").text();
                assert_eq!(list.contains("action=\"/console/licenses/add\""), may(Permission::ManageLicenses), "{role:?}: add");
                assert_eq!(list.contains("/console/licenses/remove?"), may(Permission::ManageLicenses), "{role:?}: remove");
                assert_eq!(list.contains("action=\"/console/licenses/move\""), may(Permission::ManageServers), "{role:?}: move");
                assert_eq!(list.contains("details class=\"row-actions\""), may(Permission::ManageLicenses) || may(Permission::ManageServers), "{role:?}: actions");
                let keys = get(&srv, &s.cookie, "/console/keys").text();
                assert_eq!(keys.contains("action=\"/console/keys\""), may(Permission::ManageLicenses), "{role:?}: key create");
                let page = get(&srv, &s.cookie, &format!("/console/keys/{key}")).text();
                assert_eq!(page.contains("/update\""), may(Permission::ManageLicenses), "{role:?}: key limit");
                assert_eq!(page.contains("/servers/remove\""), may(Permission::ManageServers), "{role:?}: server remove");
            }
            let account = get(&srv, &s.cookie, "/console/account").text();
            assert_eq!(account.contains("action=\"/console/account/users\""), may(Permission::ManageAccount), "{role:?}: logins");
            assert!(account.contains("action=\"/console/account/password\""), "{role:?}: own password");

            // The server's answer to each change, whatever the page offered.
            let ip = format!("203.0.113.{}", 100 + n);
            let add = post(&srv, &s.cookie, "/console/licenses/add", &[("csrf", &s.csrf), ("ip", &ip), ("type", "1")]);
            assert_eq!(add.status, if may(Permission::ManageLicenses) { 303 } else { 403 }, "{role:?}: add");
            let moved = post(&srv, &s.cookie, "/console/licenses/note", &[("csrf", &s.csrf), ("ip", "203.0.113.1"), ("type", "1"), ("note", role.as_str())]);
            assert_eq!(moved.status, if may(Permission::ManageServers) { 303 } else { 403 }, "{role:?}: note");
            let login = format!("new-{}@acme.example", role.as_str());
            let user = post(&srv, &s.cookie, "/console/account/users", &[("csrf", &s.csrf), ("email", &login), ("role", "read-only")]);
            assert_eq!(user.status, if may(Permission::ManageAccount) { 200 } else { 403 }, "{role:?}: add a login");
            if !may(Permission::ManageAccount) {
                assert!(user.text().contains("may not change the account"), "{}", user.text());
            }
        }
        // Only the roles allowed to add did.
        let added = PERMISSIONS.iter().filter(|(_, g)| g.contains(&Permission::ManageLicenses)).count() as i64;
        assert_eq!(srv.count("SELECT count(*) AS n FROM ip_licenses"), 1 + added);
    }

    fn the_cli_gives_every_role(srv) {
        srv.add_reseller("acme", &[1]);
        for (role, _) in PERMISSIONS {
            let email = format!("{}@acme.example", role.as_str());
            let out = succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "add", &email, "--reseller", "acme", "--role", role.as_str()]));
            assert!(out.contains(&format!("created {email} ({} user of acme)", role.as_str())), "{out}");
        }
        let listed = succeeded(&ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "list", "--format", "csv"]));
        for (role, _) in PERMISSIONS {
            assert!(listed.contains(&format!("{}@acme.example,{},acme,", role.as_str(), role.as_str())), "{listed}");
        }
        assert!(!ipls_cli(&srv.db, Some(TEST_MASTER_KEY), &["user", "add", "x@acme.example", "--reseller", "acme", "--role", "operator"]).status.success());
        assert_eq!(Role::parse("billing-read-only"), Some(Role::BillingReadOnly));
    }
}

//! The docs name what the code reads and sends: every setting `config` reads is in the README's
//! table and in `.env.sample`, every relay setting in docs/upstream.md, and every webhook event
//! in docs/integrations.md's catalogue.

use ipls::domain::webhooks::event_types::EventType;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `IPLS_*` names quoted in a Rust source file.
fn settings_in(source: &str) -> Vec<String> {
    let mut names: Vec<String> = source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("IPLS_") && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_setting_is_documented_and_sampled() {
    let settings = settings_in(&read("src/config.rs"));
    assert!(settings.len() > 30, "found {settings:?}");
    let (readme, sample, upstream) = (
        read("README.md"),
        read(".env.sample"),
        read("docs/upstream.md"),
    );
    for name in &settings {
        let quoted = format!("`{name}`");
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with('|') && l.contains(&quoted)),
            "README's configuration table lacks {name}"
        );
        assert!(
            sample.lines().any(|l| l.starts_with(&format!("{name}="))),
            ".env.sample lacks {name}"
        );
        if name.starts_with("IPLS_UPSTREAM_") {
            assert!(
                upstream.contains(&format!("| `{name}`")),
                "docs/upstream.md lacks {name}"
            );
        }
    }
}

#[test]
fn every_webhook_event_is_in_the_catalogue() {
    let doc = read("docs/integrations.md");
    for event in EventType::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", event.as_str())),
            "docs/integrations.md's events table lacks {event}"
        );
    }
}

/// docs/console.md's roles table says what `roles::PERMISSIONS` grants, role by role.
#[test]
fn the_roles_table_is_the_code() {
    use ipls::domain::roles::{Permission, Role, PERMISSIONS};
    let doc = read("docs/console.md");
    let columns = [
        Permission::ViewLicenses,
        Permission::ManageLicenses,
        Permission::ManageServers,
        Permission::ViewBilling,
        Permission::ManageAccount,
    ];
    let mut rows = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(role) = Role::parse(cells[0].trim_matches('`')) else {
            continue;
        };
        assert!(cells[1].ends_with(role.title()), "{line}");
        let (_, granted) = PERMISSIONS
            .iter()
            .find(|(r, _)| *r == role)
            .expect("a reseller role");
        for (cell, permission) in cells[2..].iter().zip(columns) {
            let yes = granted.contains(&permission);
            assert_eq!(
                *cell,
                if yes { "yes" } else { "no" },
                "{role:?} {permission:?}"
            );
        }
        rows += 1;
    }
    assert_eq!(rows, PERMISSIONS.len(), "every role has its row");
}

//! Who may do what in the console: the operator, and a reseller's logins with one of CLN's
//! sub-login roles (Full access; Billing; Server and license management; Server management
//! only; Read only, billing; Read only, server management) or ipls's older "Read only". Each
//! role is a set of permissions (`PERMISSIONS`, the one table docs/console.md copies and a
//! test compares); the server checks the permission of every page and form, and pages show
//! only what the role may use.

/// A console user's role, as stored in `console_users.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs ipls: every reseller, prices, the audit log.
    Operator,
    /// CLN's "Full access": everything the reseller itself may do.
    Full,
    /// CLN's "Billing": the usage figures and what they count.
    Billing,
    /// CLN's "Server and license management".
    Licenses,
    /// CLN's "Server management only".
    Servers,
    /// CLN's "Read only, billing".
    BillingReadOnly,
    /// CLN's "Read only, server management".
    ServersReadOnly,
    /// Sees what the reseller sees (licenses and usage), changes nothing (ipls's first
    /// read-only role, kept for the logins that have it).
    ReadOnly,
}

/// What a reseller's login may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The dashboard, IP licenses (and their CSV), keys and their servers, not checking in,
    /// the history.
    ViewLicenses,
    /// Add, remove, convert IP licenses and set ELS, remove many at once; create, change and
    /// delete keys.
    ManageLicenses,
    /// Move a license to a new IP, suspend and resume it, its note and external id; remove a
    /// server from a key.
    ManageServers,
    /// The usage page and its CSV.
    ViewBilling,
    /// Logins, API secrets, allowed sources, legacy tokens and report mailing of the account.
    ManageAccount,
}

use Permission::*;

/// Every reseller role with its permissions, in the order the console offers them.
pub const PERMISSIONS: [(Role, &[Permission]); 7] = [
    (
        Role::Full,
        &[
            ViewLicenses,
            ManageLicenses,
            ManageServers,
            ViewBilling,
            ManageAccount,
        ],
    ),
    (Role::Billing, &[ViewLicenses, ViewBilling]),
    (
        Role::Licenses,
        &[ViewLicenses, ManageLicenses, ManageServers],
    ),
    (Role::Servers, &[ViewLicenses, ManageServers]),
    (Role::BillingReadOnly, &[ViewBilling]),
    (Role::ServersReadOnly, &[ViewLicenses]),
    (Role::ReadOnly, &[ViewLicenses, ViewBilling]),
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Full => "full",
            Role::Billing => "billing",
            Role::Licenses => "licenses",
            Role::Servers => "servers",
            Role::BillingReadOnly => "billing-read-only",
            Role::ServersReadOnly => "servers-read-only",
            Role::ReadOnly => "read-only",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        std::iter::once(Role::Operator)
            .chain(PERMISSIONS.iter().map(|(role, _)| *role))
            .find(|role| role.as_str() == text)
    }

    /// CLN's name for it, as the console shows it.
    pub fn title(self) -> &'static str {
        match self {
            Role::Operator => "Operator",
            Role::Full => "Full access",
            Role::Billing => "Billing",
            Role::Licenses => "Server and license management",
            Role::Servers => "Server management only",
            Role::BillingReadOnly => "Read only, billing",
            Role::ServersReadOnly => "Read only, server management",
            Role::ReadOnly => "Read only",
        }
    }

    /// Whether a login with this role may do `permission` (an operator has none of a
    /// reseller's: it works on its own pages).
    pub fn may(self, permission: Permission) -> bool {
        PERMISSIONS
            .iter()
            .find(|(role, _)| *role == self)
            .is_some_and(|(_, granted)| granted.contains(&permission))
    }

    /// Whether the role may change anything at all.
    pub fn writes(self) -> bool {
        [ManageLicenses, ManageServers, ManageAccount]
            .into_iter()
            .any(|p| self.may(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_and_the_old_ones_keep_their_rights() {
        for (role, _) in PERMISSIONS {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("operator"), Some(Role::Operator));
        assert_eq!(Role::parse("root"), None);
        // "full" and "read-only" users from before the roles mean what they meant.
        assert!([
            ViewLicenses,
            ManageLicenses,
            ManageServers,
            ViewBilling,
            ManageAccount
        ]
        .into_iter()
        .all(|p| Role::Full.may(p)));
        assert!(Role::ReadOnly.may(ViewLicenses) && Role::ReadOnly.may(ViewBilling));
        assert!(!Role::ReadOnly.writes());
        assert!(!Role::Operator.may(ViewLicenses));
    }
}

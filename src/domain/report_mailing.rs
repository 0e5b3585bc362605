//! Report mailing, as CLN's partner UI has it: per reseller and product family, whether its
//! reports are mailed (an active toggle) and to whom (up to `MAX_ADDRESSES` addresses). The
//! console's Account page, the admin API and `ipls reseller reports` set it through here,
//! each change audited with who made it.

use diesel::prelude::*;

use super::resellers::audit::{self, AccountAction};
use super::resellers::ChangedBy;
use super::users::normalize_email;
use crate::db::schema::{license_families, report_mailing};
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// Addresses per reseller and family, as CLN allows.
pub const MAX_ADDRESSES: usize = 10;

/// One family's report mailing for a reseller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportMailing {
    pub family: String,
    pub active: bool,
    pub addresses: Vec<String>,
}

impl ReportMailing {
    /// Whether mail for this family goes anywhere.
    pub fn sends(&self) -> bool {
        self.active && !self.addresses.is_empty()
    }
}

fn split(stored: &str) -> Vec<String> {
    stored
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The product families, in name order.
pub fn families(conn: &mut DbConnection) -> Result<Vec<String>, DomainError> {
    Ok(license_families::table
        .select(license_families::name)
        .order(license_families::name)
        .load(conn)?)
}

/// Every family's setting for the reseller; a family never set is off with no addresses.
pub fn for_reseller(
    conn: &mut DbConnection,
    reseller_id: i64,
) -> Result<Vec<ReportMailing>, DomainError> {
    let set: Vec<(String, bool, String)> = report_mailing::table
        .filter(report_mailing::reseller_id.eq(reseller_id))
        .select((
            report_mailing::family,
            report_mailing::active,
            report_mailing::addresses,
        ))
        .load(conn)?;
    Ok(families(conn)?
        .into_iter()
        .map(|family| match set.iter().find(|(f, _, _)| *f == family) {
            Some((_, active, addresses)) => ReportMailing {
                family,
                active: *active,
                addresses: split(addresses),
            },
            None => ReportMailing {
                family,
                active: false,
                addresses: Vec::new(),
            },
        })
        .collect())
}

/// Every reseller's active settings: (reseller, setting), for the reports.
pub fn all_active(conn: &mut DbConnection) -> Result<Vec<(i64, ReportMailing)>, DomainError> {
    let rows: Vec<(i64, String, String)> = report_mailing::table
        .filter(report_mailing::active.eq(true))
        .select((
            report_mailing::reseller_id,
            report_mailing::family,
            report_mailing::addresses,
        ))
        .order((report_mailing::reseller_id, report_mailing::family))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(reseller_id, family, addresses)| {
            (
                reseller_id,
                ReportMailing {
                    family,
                    active: true,
                    addresses: split(&addresses),
                },
            )
        })
        .filter(|(_, setting)| setting.sends())
        .collect())
}

/// The addresses as typed (separated by commas, spaces or lines), checked with the one e-mail
/// rule, lower-cased, each once, in the order given.
pub fn parse_addresses(text: &str) -> Result<Vec<String>, DomainError> {
    let mut addresses: Vec<String> = Vec::new();
    for part in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let address = normalize_email(part)?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.len() > MAX_ADDRESSES {
        return Err(DomainError::invalid(format!(
            "at most {MAX_ADDRESSES} addresses per product family ({} given)",
            addresses.len()
        )));
    }
    Ok(addresses)
}

/// Sets one family's mailing for the reseller; active needs at least one address.
pub fn set(
    conn: &mut DbConnection,
    reseller_id: i64,
    setting: &ReportMailing,
    by: &ChangedBy<'_>,
) -> Result<(), DomainError> {
    if setting.active && setting.addresses.is_empty() {
        return Err(DomainError::refused(format!(
            "{} reports need at least one address to be turned on",
            setting.family
        )));
    }
    let checked = parse_addresses(&setting.addresses.join(","))?;
    write_transaction(conn, |c| {
        if !families(c)?.contains(&setting.family) {
            return Err(DomainError::NotFound(format!(
                "no product family {} (cloudlinux, els, imunify, kernelcare)",
                crate::wire::shorten(&setting.family)
            )));
        }
        let stored = checked.join("\n");
        diesel::delete(
            report_mailing::table
                .filter(report_mailing::reseller_id.eq(reseller_id))
                .filter(report_mailing::family.eq(&setting.family)),
        )
        .execute(c)?;
        diesel::insert_into(report_mailing::table)
            .values((
                report_mailing::reseller_id.eq(reseller_id),
                report_mailing::family.eq(&setting.family),
                report_mailing::active.eq(setting.active),
                report_mailing::addresses.eq(&stored),
            ))
            .execute(c)?;
        let detail = format!(
            "family={} active={} to={}",
            setting.family,
            if setting.active { "on" } else { "off" },
            checked.join(",")
        );
        audit::record(
            c,
            Some(reseller_id),
            AccountAction::ReportMailing,
            Some(detail),
            by,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_email_rule_and_the_limit() {
        assert_eq!(
            parse_addresses(" Ops@Example.com, billing@example.com\nops@example.com ").unwrap(),
            ["ops@example.com", "billing@example.com"]
        );
        assert!(parse_addresses("not-an-address").is_err());
        let eleven: Vec<String> = (0..11).map(|n| format!("a{n}@example.com")).collect();
        assert!(parse_addresses(&eleven.join(",")).is_err());
        assert_eq!(parse_addresses(&eleven[..10].join(" ")).unwrap().len(), 10);
        assert_eq!(parse_addresses("").unwrap(), Vec::<String>::new());
    }
}

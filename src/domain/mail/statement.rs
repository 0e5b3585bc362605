//! The monthly statement of one reseller and product family: per type the license-days, the
//! operator's monthly price and the amount (the lines of `usage::report`, so the figures of
//! usage.json and `ipls report usage` to the cent), then per license its days, as a table and
//! as the attached CSV.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::composed::{column_width, heading, Composed};
use super::outbox;
use crate::domain::catalogue::LicenseType;
use crate::domain::month::Month;
use crate::domain::prices::format_cents;
use crate::domain::usage::{LicenseDays, UsageLine};
use crate::domain::usage_history::KEY_UNIT;
use crate::wire::csv_cell;

/// What one statement shows.
pub struct StatementLines<'a> {
    pub month: &'a Month,
    pub login: &'a str,
    pub family: &'a str,
    pub types: &'a BTreeMap<i32, LicenseType>,
    /// The usage report's lines of this reseller and family.
    pub usage: Vec<&'a UsageLine>,
    /// Their licenses' days.
    pub licenses: Vec<&'a LicenseDays>,
}

/// A key server's unit as people read it: `server S` instead of the tally's `key:S`.
fn unit_name(unit: &str) -> String {
    match unit.strip_prefix(KEY_UNIT) {
        Some(server) => format!("server {server}"),
        None => unit.to_string(),
    }
}

pub fn statement(lines: &StatementLines<'_>) -> Composed {
    let (month, login, family) = (lines.month, lines.login, lines.family);
    let product = |type_id: i32| {
        lines
            .types
            .get(&type_id)
            .map_or_else(String::new, |t| t.name.clone())
    };
    let mut body = heading(&format!(
        "Statement for {month}: account {login}, {family} licenses"
    ));
    let _ = write!(
        body,
        "License-days from {} to {} (UTC days): a license counts every day it was held. \
         Trials are free and not counted.\n\n",
        month.first_day(),
        month.last_day()
    );
    let products: Vec<String> = lines
        .usage
        .iter()
        .map(|l| product(l.usage.type_id))
        .collect();
    let width = column_width(products.iter().map(String::as_str), "Product");
    let _ = writeln!(
        body,
        "{:<5} {:<width$} {:>12} {:>14} {:>10}",
        "Type", "Product", "License-days", "Monthly price", "Amount"
    );
    let mut total = 0;
    let mut unpriced = false;
    let mut csv =
        String::from("line,ip_or_server,type,product,license_days,monthly_price,amount\n");
    for line in &lines.usage {
        let usage = &line.usage;
        let price = line.monthly_cents.map(format_cents);
        let amount = line.amount_cents.map(format_cents);
        match line.amount_cents {
            Some(cents) => total += cents,
            None => unpriced = true,
        }
        let _ = writeln!(
            body,
            "{:<5} {:<width$} {:>12} {:>14} {:>10}",
            usage.type_id,
            product(usage.type_id),
            usage.license_days,
            price.clone().unwrap_or_else(|| "-".into()),
            amount.clone().unwrap_or_else(|| "not priced".into())
        );
        let _ = writeln!(
            csv,
            "type,,{},{},{},{},{}",
            usage.type_id,
            csv_cell(&product(usage.type_id)),
            usage.license_days,
            price.unwrap_or_default(),
            amount.unwrap_or_default()
        );
    }
    let _ = writeln!(
        body,
        "{:<5} {:<width$} {:>12} {:>14} {:>10}",
        "Total",
        "",
        lines
            .usage
            .iter()
            .map(|l| l.usage.license_days)
            .sum::<i64>(),
        "",
        format_cents(total)
    );
    if unpriced {
        body.push_str("\nA type with no price is not in the total: ask your provider.\n");
    }
    let units: Vec<String> = lines.licenses.iter().map(|l| unit_name(&l.unit)).collect();
    let unit_width = column_width(units.iter().map(String::as_str), "IP or server");
    let _ = write!(
        body,
        "\nLicenses\n\n{:<unit_width$} {:<5} License-days\n",
        "IP or server", "Type"
    );
    for (license, unit) in lines.licenses.iter().zip(&units) {
        let _ = writeln!(
            body,
            "{unit:<unit_width$} {:<5} {}",
            license.type_id, license.license_days
        );
        let _ = writeln!(
            csv,
            "license,{},{},{},{},,",
            csv_cell(unit),
            license.type_id,
            csv_cell(&product(license.type_id)),
            license.license_days
        );
    }
    let name = format!("statement-{month}-{login}-{family}.csv");
    let _ = write!(body, "\nThe same lines are attached as {name}.\n");
    Composed {
        kind: outbox::STATEMENT,
        subject: format!(
            "Statement {month}: {login}, {family}, {}",
            format_cents(total)
        ),
        body,
        attachment: Some((name, csv)),
    }
}

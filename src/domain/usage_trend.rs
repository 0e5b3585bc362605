//! License-days per product over the months up to one: the figures of the usage report
//! (`usage::report`, the same replay), summed per type, for the usage pages' chart.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::month::Month;
use super::usage;
use crate::db::DbConnection;
use crate::error::DomainError;

/// One month's license-days per type.
pub struct MonthDays {
    pub month: Month,
    pub days: BTreeMap<i32, i64>,
}

/// The `count` months ending with `last`, oldest first, for one reseller (or all).
pub fn license_days(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    last: Month,
    count: usize,
    today: NaiveDate,
) -> Result<Vec<MonthDays>, DomainError> {
    let mut months = Vec::with_capacity(count);
    let mut month = last;
    for _ in 0..count {
        let mut days = BTreeMap::new();
        for line in usage::report(conn, reseller_id, &month, today)? {
            *days.entry(line.usage.type_id).or_insert(0) += line.usage.license_days;
        }
        months.push(MonthDays { month, days });
        month = month.previous();
    }
    months.reverse();
    Ok(months)
}

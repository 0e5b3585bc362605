//! License-days per product over the months up to one: the figures of the usage report
//! (`usage::compute` and `with_steady`, the same replay), summed per type, for the usage
//! pages' chart.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};

use super::month::Month;
use super::{usage, usage_history};
use crate::db::DbConnection;
use crate::error::DomainError;

/// One month's license-days per type.
pub struct MonthDays {
    pub month: Month,
    pub days: BTreeMap<i32, i64>,
}

/// The `count` months ending with `last`, oldest first, for one reseller (or all): one read
/// of the history (what was open when the first month began, and every change since), then
/// each month replayed in memory as `usage::report` replays it alone.
pub fn license_days(
    conn: &mut DbConnection,
    reseller_id: Option<i64>,
    last: Month,
    count: usize,
    today: NaiveDate,
) -> Result<Vec<MonthDays>, DomainError> {
    let mut months = vec![last];
    while months.len() < count {
        let earlier = months[months.len() - 1].previous();
        months.push(earlier);
    }
    months.reverse();
    let start = months[0].first_day().and_time(NaiveTime::MIN);
    let opening = usage_history::open_at(conn, reseller_id, start, last.end(), false)?;
    let mut events = opening.changing;
    events.extend(usage_history::changes_between(
        conn,
        reseller_id,
        start,
        last.end(),
    )?);
    Ok(months
        .into_iter()
        .map(|month| {
            // `compute` takes the events before the month's end, in the history's order.
            let end = month.end();
            let replayed = usage::compute(events.iter().filter(|e| e.at < end), &month, today);
            let mut days = BTreeMap::new();
            for u in usage::with_steady(replayed, &opening.steady, &month, today) {
                *days.entry(u.type_id).or_insert(0) += u.license_days;
            }
            MonthDays { month, days }
        })
        .collect())
}

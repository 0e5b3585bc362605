//! Monthly prices per license type, for the amounts in usage reports.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::catalogue::find_type;
use crate::db::schema::prices;
use crate::db::{write_transaction, DbConnection};
use crate::error::DomainError;

/// Parses an amount like `12`, `12.5` or `12.50` into cents.
pub fn parse_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 2 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

pub fn format_cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

pub fn set(
    conn: &mut DbConnection,
    type_id: i32,
    cents: i64,
    now: NaiveDateTime,
) -> Result<(), DomainError> {
    if find_type(conn, type_id)?.is_none() {
        return Err(DomainError::not_found(format!(
            "unknown license type {type_id}"
        )));
    }
    write_transaction(conn, |c| {
        diesel::delete(prices::table.find(type_id)).execute(c)?;
        diesel::insert_into(prices::table)
            .values((
                prices::type_id.eq(type_id),
                prices::monthly_cents.eq(cents),
                prices::updated_at.eq(now),
            ))
            .execute(c)?;
        Ok(())
    })
}

pub fn all(conn: &mut DbConnection) -> Result<HashMap<i32, i64>, DomainError> {
    let rows: Vec<(i32, i64)> = prices::table
        .select((prices::type_id, prices::monthly_cents))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents() {
        assert_eq!(parse_cents("12"), Some(1200));
        assert_eq!(parse_cents("12.5"), Some(1250));
        assert_eq!(parse_cents("0.07"), Some(7));
        for bad in ["", "-1", "1.234", "abc", "1.x", ".5"] {
            assert_eq!(parse_cents(bad), None, "{bad}");
        }
        assert_eq!(format_cents(1205), "12.05");
    }
}

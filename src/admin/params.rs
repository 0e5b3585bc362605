//! Reading the admin API's query parameters: everything arrives as text and is parsed here,
//! so that a bad value gets a problem answer that names it.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::error::AdminError;
use crate::db;
use crate::domain::resellers;
use crate::state::AppState;

/// Default and largest page.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1_000;

/// A parameter that was sent, as given; an empty value counts as not sent for text
/// filters, but not for numbers and booleans (an empty number is not a number).
pub fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|t| !t.is_empty())
}

pub fn limit(text: Option<&str>) -> Result<i64, AdminError> {
    match text {
        None => Ok(DEFAULT_LIMIT),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AdminError::invalid(format!("limit is a whole number from 1 to {MAX_LIMIT}"))
            }),
    }
}

/// A date (`2026-11-01`) or a date and time (`2026-11-01T12:00:00Z`), UTC.
pub fn timestamp(name: &str, text: &str) -> Result<NaiveDateTime, AdminError> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            AdminError::invalid(format!("{name} is a date (YYYY-MM-DD) or an ISO 8601 time"))
        })
}

pub fn id_cursor(text: Option<&str>) -> Result<Option<i64>, AdminError> {
    match text {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AdminError::invalid("cursor is not one this API gave out")),
    }
}

/// Reseller logins by id, to name them in answers and to find one by login.
pub async fn logins(state: &AppState) -> Result<HashMap<i64, String>, AdminError> {
    Ok(db::run(&state.pool, resellers::logins_by_id).await?)
}

pub fn reseller_id(
    names: &HashMap<i64, String>,
    login: Option<&str>,
) -> Result<Option<i64>, AdminError> {
    match login.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(login) => names
            .iter()
            .find(|(_, l)| l.as_str() == login)
            .map(|(id, _)| Some(*id))
            .ok_or_else(|| AdminError::not_found("no such reseller")),
    }
}

//! The console's one way of writing a moment and a day (UTC, as every page says): the
//! day as `2026-12-07`, a moment as `2026-12-07 08:04`.

use chrono::NaiveDateTime;

/// A moment, to the minute.
pub fn time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// A moment that may not have happened: `none` then.
pub fn time_or(at: Option<NaiveDateTime>, none: &str) -> String {
    at.map_or_else(|| none.to_string(), time)
}

/// The day of a moment.
pub fn day(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

//! A calendar month in UTC, as usage reports take it (`YYYY-MM`).

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        Some(Self { first })
    }

    pub fn containing(day: NaiveDate) -> Self {
        Self {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    /// The month before.
    pub fn previous(&self) -> Self {
        Self::containing(self.first.pred_opt().unwrap_or(self.first))
    }

    pub fn first_day(&self) -> NaiveDate {
        self.first
    }

    pub fn last_day(&self) -> NaiveDate {
        self.next_first().pred_opt().unwrap_or(self.first)
    }

    pub fn days(&self) -> u32 {
        self.last_day().day()
    }

    /// Midnight UTC at the start of the next month: the exclusive end of this one.
    pub fn end(&self) -> NaiveDateTime {
        self.next_first().and_time(chrono::NaiveTime::MIN)
    }

    fn next_first(&self) -> NaiveDate {
        let (y, m) = match self.first.month() {
            12 => (self.first.year() + 1, 1),
            m => (self.first.year(), m + 1),
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_before() {
        assert_eq!(
            Month::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        assert_eq!(
            Month::parse("2026-03").unwrap().previous().to_string(),
            "2026-02"
        );
    }

    #[test]
    fn lengths_including_leap_years() {
        assert_eq!(Month::parse("2026-11").unwrap().days(), 30);
        assert_eq!(Month::parse("2026-12").unwrap().days(), 31);
        assert_eq!(Month::parse("2028-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2100-02").unwrap().days(), 28);
        assert_eq!(
            Month::parse("2026-12").unwrap().end().to_string(),
            "2027-01-01 00:00:00"
        );
    }

    #[test]
    fn strict_format() {
        for bad in [
            "2026-13", "2026-1", "26-01", "2026/01", "", "2026-00", "abcd-ef",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(Month::parse("2026-01").unwrap().to_string(), "2026-01");
    }
}

//! How values are written on the wire and echoed back, a leaf every face uses: CLN's dates,
//! ISO 8601 times, the boolean spellings the contract accepts, and the one bounded way a
//! message quotes what a client sent.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// The most characters of client input a message quotes.
pub const ECHO_CHARS: usize = 64;

/// CLN's date format: minutes precision with a numeric offset, e.g. `2026-11-28T21:05+0000`.
/// Stored times are UTC, so the offset is always +0000.
pub fn format_date(at: NaiveDateTime) -> String {
    // Written field by field: chrono's strftime re-parses its pattern on every call, which
    // shows in list.json at 100,000 rows.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}+0000",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// ISO 8601 in UTC to the second, e.g. `2026-11-28T12:00:00Z` (the admin API, webhooks).
pub fn iso(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The boolean spellings accepted in settings and in API parameters (contract: true/false/1/0).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Client input quoted in a message: at most `ECHO_CHARS` characters, `...` when cut, in
/// double quotes with control characters escaped (so a message stays one readable line).
pub fn shorten(text: &str) -> String {
    let mut short = cut(text, ECHO_CHARS);
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

/// The first `max` characters of `text` (never splitting a character).
pub fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn date_format_is_minutes_with_offset() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 59)
            .unwrap();
        assert_eq!(format_date(at), "2026-01-02T03:04+0000");
        assert_eq!(iso(at), "2026-01-02T03:04:59Z");
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn echoes_are_bounded_and_quoted() {
        assert_eq!(shorten("abc"), "\"abc\"");
        let long = "é".repeat(100);
        let echoed = shorten(&long);
        assert_eq!(echoed.chars().count(), ECHO_CHARS + 5, "{echoed}");
        assert!(echoed.ends_with("...\""));
        assert_eq!(shorten("a\nb"), "\"a\\nb\"");
        assert_eq!(cut("héllo", 2), "hé");
    }
}

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

/// Regular expressions (ECMA 262, as OpenAPI documents use them) for the values both APIs'
/// documents describe, matching exactly what the parsers accept.
pub mod patterns {
    /// A dotted-quad IPv4 address (no leading zeros, as Rust's parser requires).
    pub const IPV4: &str = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}";
    /// An IPv6 address in hex groups, compressed or not (no embedded IPv4, no zone).
    pub const IPV6: &str = r"(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))";
    /// An IPv4 prefix length.
    pub const PREFIX4: &str = r"(3[0-2]|[12]?[0-9])";
    /// An IPv6 prefix length.
    pub const PREFIX6: &str = r"(12[0-8]|1[01][0-9]|[1-9]?[0-9])";
    /// A reseller login.
    pub const LOGIN: &str = r"^[A-Za-z0-9._@-]{1,64}$";
    /// An e-mail address as the login form's `type="email"` field accepts it (the HTML
    /// standard's "valid e-mail address"), with a dot in the domain (`domain::users`).
    pub const EMAIL: &str = concat!(
        r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@",
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    );
    /// `YYYY-MM`.
    pub const MONTH: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])$";
    /// Text without a NUL character (Postgres cannot store one).
    pub const NO_NUL: &str = r"^[^\u0000]*$";
    /// Text with something besides ASCII spaces (` \t\n\v\f\r`) and no NUL: a block
    /// reason, an upstream's secret.
    pub const NOT_BLANK: &str = BLOCK_REASON;
    pub const BLOCK_REASON: &str = r"^[^\u0000]*[^\u0000\t\n\u000b\u000c\r ][^\u0000]*$";

    /// The whitespace a block reason may not consist of only: ASCII's, as `BLOCK_REASON`
    /// spells it out (ECMA's, Python's and Rust's `\s` each differ beyond ASCII).
    pub fn is_ascii_space(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
    }

    /// A webhook URL: http(s), a host name (whose last label is letters, as URL parsing
    /// requires of a name) or an address, an optional port and a path.
    pub fn webhook_url() -> String {
        format!(
            r"^https?://(([a-z0-9]+\.)*[a-z]+|{IPV4}|\[{IPV6}\])(:([1-9][0-9]{{0,3}}|[1-5][0-9]{{4}}|6[0-4][0-9]{{3}}|65[0-4][0-9]{{2}}|655[0-2][0-9]|6553[0-5]))?(/[A-Za-z0-9._~-]*)*$"
        )
    }

    /// An upstream's base URL: the same shape as a webhook URL.
    pub fn upstream_url() -> String {
        webhook_url()
    }

    /// An IPv4 or IPv6 address, anchored.
    pub fn ip() -> String {
        format!("^({IPV4}|{IPV6})$")
    }

    /// An address or a CIDR block, anchored.
    pub fn ip_or_block() -> String {
        format!("^({IPV4}(/{PREFIX4})?|{IPV6}(/{PREFIX6})?)$")
    }
}

/// `90s`, `30m`, `36h`, `7d`, `2w`.
pub fn duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?}: expected a number and a unit (s, m, h, d, w), e.g. 7d");
    let text = text.trim();
    // The unit is the last character, whatever its width (`7€` must not split inside it).
    let split = text.char_indices().last().map(|(i, _)| i).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok().filter(|n| *n >= 0).ok_or_else(bad)?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(bad)
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break.
pub fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
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

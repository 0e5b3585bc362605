//! The shapes of CLN's answers the relay and `ipls import cln` read.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

/// Addresses per server.json call (the contract's maximum).
pub const SERVER_BATCH: usize = 100;

/// A row of list.json. `els_allowed` is not in CLN's rows; ipls's v2 rows carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct ListRow {
    pub ip: String,
    #[serde(rename = "type")]
    pub type_id: i32,
    pub created: String,
    pub registered: bool,
    #[serde(default)]
    pub els_allowed: Option<bool>,
}

/// A row of server.json (and of ipls's `/api/v2/ip-license/licenses`).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerRow {
    pub ip: String,
    #[serde(rename = "type")]
    pub type_id: i32,
    #[serde(default)]
    pub registered: bool,
    pub server_info: Option<String>,
    pub last_checkin: Option<String>,
    #[serde(default)]
    pub els_allowed: Option<bool>,
}

/// CLN's date form: `2026-11-28T21:05+0000`.
pub fn cln_date(text: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%z")
        .ok()
        .map(|d| d.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_clns_dates() {
        let at = cln_date("2026-11-28T21:05+0000").map(|d| d.to_string());
        assert_eq!(at.as_deref(), Some("2026-11-28 21:05:00"));
        assert_eq!(cln_date("2026-11-28"), None);
    }
}

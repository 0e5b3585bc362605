//! What a report mail is once composed, and what composing one needs from the settings.

/// A mail as queued: the same text goes to each address.
pub struct Composed {
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    /// A file name and its text.
    pub attachment: Option<(String, String)>,
}

/// A title underlined, as the reports start.
pub fn heading(title: &str) -> String {
    format!("{title}\n{}\n", "-".repeat(title.chars().count()))
}

/// The width of a text column: its widest cell, or its header if that is wider.
pub fn column_width<'a>(cells: impl Iterator<Item = &'a str>, header: &str) -> usize {
    cells.map(str::len).max().unwrap_or(0).max(header.len())
}

/// What the reports need from the server's settings.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// A server silent this long is not checking in (`IPLS_STALE_AFTER`).
    pub stale_after: chrono::Duration,
    /// The operator's addresses for the digests (`IPLS_OPERATOR_MAIL`); none: no digest.
    pub operator: Vec<String>,
    /// The console's address as people reach it (`IPLS_PUBLIC_URL`), for links in mail.
    pub public_url: Option<String>,
}

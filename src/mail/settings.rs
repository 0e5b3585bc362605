//! What the mail worker takes from the configuration besides the SMTP server: who gets the
//! operator's digests, the console's address for links, and the worker's timing.

use std::time::Duration;

/// The default retry schedule of a message that failed for now: seven retries over about
/// 45 hours, then the message is given up and its address marked failing.
pub const DEFAULT_RETRY_SCHEDULE: &str = "1m,5m,30m,2h,6h,12h,24h";

#[derive(Debug, Clone)]
pub struct MailReportSettings {
    /// `IPLS_OPERATOR_MAIL`: the operator's addresses for the daily and monthly digests.
    pub operator: Vec<String>,
    /// `IPLS_PUBLIC_URL`: the console's address as people reach it (links in mail, and the
    /// self-service password reset, which needs one).
    pub public_url: Option<String>,
    /// `IPLS_MAIL_POLL_MS`: how often the worker looks for due reports and mail.
    pub poll: Duration,
    /// `IPLS_MAIL_RETRY_SCHEDULE`: the delay before each retry of a message that failed for
    /// now (the webhook schedule's form).
    pub retry_schedule: Vec<Duration>,
}

/// `IPLS_PUBLIC_URL`: an http(s) address with no query, kept without its trailing slash.
pub fn public_url(text: Option<String>) -> Result<Option<String>, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        format!("IPLS_PUBLIC_URL={text:?}: expected the console's address, e.g. https://licenses.example.com")
    };
    let url = url::Url::parse(text.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
    {
        return Err(bad());
    }
    Ok(Some(url.as_str().trim_end_matches('/').to_string()))
}

/// `IPLS_OPERATOR_MAIL`: addresses separated by commas.
pub fn operator(text: Option<String>) -> Result<Vec<String>, String> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    crate::domain::report_mailing::parse_addresses(&text)
        .map_err(|e| format!("IPLS_OPERATOR_MAIL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(
            public_url(Some("https://licenses.example.com/".into())).unwrap(),
            Some("https://licenses.example.com".into())
        );
        assert_eq!(public_url(None).unwrap(), None);
        for bad in ["licenses.example.com", "ftp://x", "https://x/?a=b"] {
            assert!(public_url(Some(bad.into())).is_err(), "{bad}");
        }
        assert_eq!(
            operator(Some("Ops@Example.com, billing@example.com".into())).unwrap(),
            ["ops@example.com", "billing@example.com"]
        );
        assert!(operator(Some("nobody".into())).is_err());
        assert!(crate::retry_schedule::parse(DEFAULT_RETRY_SCHEDULE).is_ok());
    }
}

//! The events a webhook endpoint can subscribe to, and subscriptions (a list or `*`).

use std::fmt;

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    LicenseRegistered,
    LicenseRemoved,
    LicenseConverted,
    LicenseUpdated,
    LicenseExpired,
    LicenseCheckedIn,
    LicenseMoved,
    LicenseSuspended,
    LicenseResumed,
    ResellerBlocked,
    ResellerUnblocked,
    ResellerSecretRotated,
    ResellerSecretAdded,
    ResellerSecretRevoked,
    KeyCreated,
    KeyDeleted,
    KeyUpdated,
    KeyServerRegistered,
    KeyServerRemoved,
    /// A license's server has not checked in for IPLS_STALE_AFTER (once per silence).
    LicenseStale,
    /// A trial license ends within three days (once per trial).
    TrialExpiring,
    /// An upstream has been failing longer than IPLS_UPSTREAM_ALERT_AFTER (operator only).
    UpstreamFailing,
    /// It confirmed changes again after such an alert.
    UpstreamRecovered,
}

impl EventType {
    pub const ALL: [EventType; 23] = [
        EventType::LicenseRegistered,
        EventType::LicenseRemoved,
        EventType::LicenseConverted,
        EventType::LicenseUpdated,
        EventType::LicenseExpired,
        EventType::LicenseCheckedIn,
        EventType::LicenseMoved,
        EventType::LicenseSuspended,
        EventType::LicenseResumed,
        EventType::LicenseStale,
        EventType::TrialExpiring,
        EventType::ResellerBlocked,
        EventType::ResellerUnblocked,
        EventType::ResellerSecretRotated,
        EventType::ResellerSecretAdded,
        EventType::ResellerSecretRevoked,
        EventType::KeyCreated,
        EventType::KeyDeleted,
        EventType::KeyUpdated,
        EventType::KeyServerRegistered,
        EventType::KeyServerRemoved,
        EventType::UpstreamFailing,
        EventType::UpstreamRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LicenseRegistered => "license.registered",
            EventType::LicenseRemoved => "license.removed",
            EventType::LicenseConverted => "license.converted",
            EventType::LicenseUpdated => "license.updated",
            EventType::LicenseExpired => "license.expired",
            EventType::LicenseCheckedIn => "license.checked_in",
            EventType::LicenseMoved => "license.moved",
            EventType::LicenseSuspended => "license.suspended",
            EventType::LicenseResumed => "license.resumed",
            EventType::LicenseStale => "license.stale",
            EventType::TrialExpiring => "trial.expiring",
            EventType::ResellerBlocked => "reseller.blocked",
            EventType::ResellerUnblocked => "reseller.unblocked",
            EventType::ResellerSecretRotated => "reseller.secret_rotated",
            EventType::ResellerSecretAdded => "reseller.secret_added",
            EventType::ResellerSecretRevoked => "reseller.secret_revoked",
            EventType::KeyCreated => "key.created",
            EventType::KeyDeleted => "key.deleted",
            EventType::KeyUpdated => "key.updated",
            EventType::KeyServerRegistered => "key.server_registered",
            EventType::KeyServerRemoved => "key.server_removed",
            EventType::UpstreamFailing => "upstream.failing",
            EventType::UpstreamRecovered => "upstream.recovered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an endpoint receives: every event, or the listed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    All,
    Only(Vec<EventType>),
}

impl Subscription {
    /// `*`, or event names separated by commas (spaces around them are ignored); `*` among
    /// names means every event too.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.split(',').any(|name| name.trim() == "*") {
            return Ok(Subscription::All);
        }
        let mut types = Vec::new();
        for name in text.split(',').map(str::trim) {
            let Some(event) = EventType::parse(name) else {
                return Err(DomainError::invalid(format!(
                    "unknown webhook event {name:?}: expected * or a list of {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                )));
            };
            if !types.contains(&event) {
                types.push(event);
            }
        }
        types.sort();
        Ok(Subscription::Only(types))
    }

    /// As stored: `*`, or the names wrapped in commas (`,a,b,`) so that one LIKE finds a name.
    pub fn stored(&self) -> String {
        match self {
            Subscription::All => "*".to_string(),
            Subscription::Only(types) => {
                let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
                format!(",{},", names.join(","))
            }
        }
    }

    /// The stored form read back (unknown names, from a newer binary, are skipped).
    pub fn from_stored(text: &str) -> Self {
        if text == "*" {
            return Subscription::All;
        }
        Subscription::Only(text.split(',').filter_map(EventType::parse).collect())
    }

    /// As people read it: `*` or `a,b`.
    pub fn display(&self) -> String {
        match self {
            Subscription::All => "*".to_string(),
            Subscription::Only(types) => types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    pub fn names(&self) -> Vec<String> {
        match self {
            Subscription::All => vec!["*".to_string()],
            Subscription::Only(types) => types.iter().map(|t| t.as_str().to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_round_trip_and_refuse_unknown_names() {
        let only = Subscription::parse(" reseller.blocked , license.registered,license.registered")
            .expect("valid list");
        assert_eq!(only.stored(), ",license.registered,reseller.blocked,");
        assert_eq!(Subscription::from_stored(&only.stored()), only);
        assert_eq!(Subscription::parse("*").expect("all"), Subscription::All);
        assert!(Subscription::parse("license.*").is_err());
        assert!(Subscription::parse("").is_err());
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }
}

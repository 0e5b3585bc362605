//! When each API secret last verified a token, to the minute (`ipls reseller secret list`):
//! written at most once a minute per secret, so that a busy integration costs one small
//! write a minute, not one per call. Across instances each writes its own minutes; the
//! latest wins, which is what "last used" means.
//!
//! Bound: one entry per secret that verified since start (at most 5 per account); cleared
//! when it reaches `MAX_ENTRIES`, which only costs one early write per secret.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{NaiveDateTime, Timelike};

const MAX_ENTRIES: usize = 50_000;

/// (reseller, named secret id or None for the first one) → the minute last written.
#[derive(Default)]
pub struct SecretUse {
    written: Mutex<HashMap<(i64, Option<i64>), NaiveDateTime>>,
}

impl SecretUse {
    /// Whether this use should be written: the first in its minute for this secret (in this
    /// process). Returns the minute to write.
    pub fn due(
        &self,
        reseller_id: i64,
        secret: Option<i64>,
        now: NaiveDateTime,
    ) -> Option<NaiveDateTime> {
        let minute = now.with_second(0)?.with_nanosecond(0)?;
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if written.get(&(reseller_id, secret)) == Some(&minute) {
            return None;
        }
        if written.len() >= MAX_ENTRIES {
            written.clear();
        }
        written.insert((reseller_id, secret), minute);
        Some(minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_minute_per_secret() {
        let uses = SecretUse::default();
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert!(uses.due(1, None, at("2026-12-07 10:00:05")).is_some());
        assert!(uses.due(1, None, at("2026-12-07 10:00:59")).is_none());
        assert!(uses.due(1, Some(3), at("2026-12-07 10:00:59")).is_some());
        assert_eq!(
            uses.due(1, None, at("2026-12-07 10:01:00")),
            Some(at("2026-12-07 10:01:00"))
        );
    }
}

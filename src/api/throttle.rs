//! Failed-authentication throttling, per source address and per login.
//!
//! Each failure spends one cell of a GCRA budget (governor): `burst` failures at once, then
//! `per_minute` more each minute. When a failure finds the budget spent, the address or login
//! is blocked until a cell is free again; while blocked, calls are refused at once with HTTP
//! 429 and the token is not even verified. Successful calls spend nothing, and other
//! addresses and logins have budgets of their own.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Above this many tracked keys, stale state is pruned (bounded memory under a flood of
/// random logins or addresses).
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Login(String),
}

pub struct AuthThrottle {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_login: DefaultKeyedRateLimiter<String>,
    blocked: Mutex<HashMap<Key, Instant>>,
    clock: DefaultClock,
}

impl AuthThrottle {
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            by_address: RateLimiter::keyed(quota),
            by_login: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    fn keys(address: Option<IpAddr>, login: Option<&str>) -> Vec<Key> {
        let mut keys = Vec::with_capacity(2);
        keys.extend(address.map(Key::Address));
        keys.extend(login.map(|l| Key::Login(l.to_string())));
        keys
    }

    /// How long to wait, when the address or the login is blocked now.
    pub fn retry_after(&self, address: Option<IpAddr>, login: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        Self::keys(address, login)
            .into_iter()
            .filter_map(|key| match blocked.get(&key) {
                Some(until) if *until > now => Some(*until - now),
                Some(_) => {
                    blocked.remove(&key);
                    None
                }
                None => None,
            })
            .max()
    }

    /// Spends one failure from each budget; blocks whichever has none left.
    pub fn record_failure(&self, address: Option<IpAddr>, login: Option<&str>) {
        let mut waits = Vec::new();
        if let Some(address) = address {
            waits.push((
                Key::Address(address),
                self.spend(&self.by_address, &address),
            ));
        }
        if let Some(login) = login {
            let login = login.to_string();
            waits.push((
                Key::Login(login.clone()),
                self.spend(&self.by_login, &login),
            ));
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        for (key, wait) in waits {
            if let Some(wait) = wait {
                blocked.insert(key, now + wait);
            }
        }
        if blocked.len() > PRUNE_ABOVE {
            blocked.retain(|_, until| *until > now);
        }
    }

    fn spend<K: Clone + Hash + Eq>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Option<Duration> {
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter
            .check_key(key)
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(burst: u32) -> AuthThrottle {
        AuthThrottle::new(NonZeroU32::new(1).unwrap(), NonZeroU32::new(burst).unwrap())
    }

    #[test]
    fn blocks_after_the_burst_and_only_that_key() {
        let t = throttle(3);
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.retry_after(Some(a), Some("x")), None);
            t.record_failure(Some(a), Some("x"));
        }
        assert_eq!(
            t.retry_after(Some(a), None),
            None,
            "the burst itself is allowed"
        );
        t.record_failure(Some(a), None);
        let wait = t.retry_after(Some(a), None).expect("blocked");
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert_eq!(
            t.retry_after(Some(b), Some("y")),
            None,
            "other keys are unaffected"
        );
    }

    #[test]
    fn logins_have_their_own_budget() {
        let t = throttle(2);
        for i in 0..3 {
            let from: IpAddr = format!("198.51.100.{i}").parse().unwrap();
            t.record_failure(Some(from), Some("acme"));
        }
        assert!(t.retry_after(None, Some("acme")).is_some());
        assert!(t
            .retry_after(Some("198.51.100.0".parse().unwrap()), Some("other"))
            .is_none());
    }
}

//! Token-bucket arithmetic shared by the in-memory and the database-held budgets: `burst`
//! attempts at once, refilled at `per_minute`. Buckets keep fractional tokens and the time
//! they were last touched, so refilling needs no timer.
//!
//! In memory, an attempt whose outcome is not known yet holds a reservation on a token: it
//! is given back if the attempt turns out well and spent if it fails. Reservations never
//! exceed the tokens, so attempts in flight can never spend more than the bucket holds.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;

/// Above this many tracked keys, full (idle) buckets are dropped: memory stays bounded under a
/// flood of random logins or addresses, and a full bucket is the same as no bucket.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub burst: f64,
    pub per_second: f64,
}

impl Quota {
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute.max(1)) / 60.0,
        }
    }

    /// Tokens in a bucket that held `tokens` at `at`, by `now` (never above the burst; a
    /// clock that went back refills nothing).
    pub fn refilled(&self, tokens: f64, at: NaiveDateTime, now: NaiveDateTime) -> f64 {
        let elapsed = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
        (tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Whole seconds until a bucket holding `tokens` has one to give (at least 1).
    pub fn retry_after(&self, tokens: f64) -> u64 {
        let seconds = ((1.0 - tokens) / self.per_second).ceil();
        if seconds.is_finite() && seconds >= 1.0 {
            seconds as u64
        } else {
            1
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: NaiveDateTime,
    /// Tokens reserved by attempts in flight.
    reserved: u32,
}

/// What a reservation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Granted,
    /// Every free token is reserved by attempts in flight: try again once they are settled.
    Wait,
    /// No token, nothing in flight: refused for this many seconds.
    Refused(u64),
}

/// Buckets kept in this process's memory.
pub struct MemoryBuckets {
    quota: Quota,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl MemoryBuckets {
    pub fn new(quota: Quota) -> Self {
        Self {
            quota,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Bucket>) -> T) -> T {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut buckets)
    }

    fn current(&self, buckets: &HashMap<String, Bucket>, key: &str, now: NaiveDateTime) -> f64 {
        buckets.get(key).map_or(self.quota.burst, |b| {
            self.quota.refilled(b.tokens, b.at, now)
        })
    }

    fn reserved(buckets: &HashMap<String, Bucket>, key: &str) -> u32 {
        buckets.get(key).map_or(0, |b| b.reserved)
    }

    fn store(
        buckets: &mut HashMap<String, Bucket>,
        key: &str,
        tokens: f64,
        now: NaiveDateTime,
        reserved: u32,
    ) {
        let bucket = Bucket {
            tokens,
            at: now,
            reserved,
        };
        buckets.insert(key.to_string(), bucket);
    }

    fn prune(&self, buckets: &mut HashMap<String, Bucket>, now: NaiveDateTime) {
        if buckets.len() > PRUNE_ABOVE {
            let quota = self.quota;
            buckets
                .retain(|_, b| b.reserved > 0 || quota.refilled(b.tokens, b.at, now) < quota.burst);
        }
    }

    /// Reserves one token of every key, or none: `Granted`, else what stopped it (a refusal
    /// wins over a wait).
    pub fn reserve_all(&self, keys: &[String], now: NaiveDateTime) -> Reservation {
        self.with(|buckets| {
            self.prune(buckets, now);
            let mut outcome = Reservation::Granted;
            for key in keys {
                let in_flight = Self::reserved(buckets, key);
                let free = self.current(buckets, key, now) - f64::from(in_flight);
                if free >= 1.0 {
                    continue;
                }
                outcome = match (outcome, in_flight) {
                    (Reservation::Refused(a), 0) => {
                        Reservation::Refused(a.max(self.quota.retry_after(free)))
                    }
                    (_, 0) => Reservation::Refused(self.quota.retry_after(free)),
                    (Reservation::Refused(a), _) => Reservation::Refused(a),
                    _ => Reservation::Wait,
                };
            }
            if outcome == Reservation::Granted {
                for key in keys {
                    let tokens = self.current(buckets, key, now);
                    let reserved = Self::reserved(buckets, key) + 1;
                    Self::store(buckets, key, tokens, now, reserved);
                }
            }
            outcome
        })
    }

    /// Settles reservations: `spent` takes their tokens, otherwise they are given back.
    pub fn settle(&self, keys: &[String], spent: bool, now: NaiveDateTime) {
        self.with(|buckets| {
            for key in keys {
                let cost = if spent { 1.0 } else { 0.0 };
                let tokens = self.current(buckets, key, now) - cost;
                let reserved = Self::reserved(buckets, key).saturating_sub(1);
                Self::store(buckets, key, tokens, now, reserved);
            }
        })
    }

    /// Takes one token: Ok, or Err(seconds to wait) when the bucket is empty (an attempt
    /// that is refused takes nothing).
    pub fn take(&self, key: &str, now: NaiveDateTime) -> Result<(), u64> {
        self.with(|buckets| {
            self.prune(buckets, now);
            let tokens = self.current(buckets, key, now);
            if tokens < 1.0 {
                return Err(self.quota.retry_after(tokens));
            }
            let reserved = Self::reserved(buckets, key);
            Self::store(buckets, key, tokens - 1.0, now, reserved);
            Ok(())
        })
    }

    /// Lowers the bucket to what the shared budget says is left (never raises it).
    pub fn lower_to(&self, key: &str, tokens: f64, now: NaiveDateTime) {
        self.with(|buckets| {
            let tokens = self.current(buckets, key, now).min(tokens);
            let reserved = Self::reserved(buckets, key);
            Self::store(buckets, key, tokens, now, reserved);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + seconds, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn burst_then_refill() {
        let buckets = MemoryBuckets::new(Quota::new(3, 10));
        for _ in 0..3 {
            assert_eq!(buckets.take("k", at(0)), Ok(()));
        }
        assert_eq!(
            buckets.take("k", at(0)),
            Err(6),
            "10 a minute: one every 6 s"
        );
        assert_eq!(buckets.take("other", at(0)), Ok(()), "keys are apart");
        assert_eq!(buckets.take("k", at(6)), Ok(()), "refilled one");
        assert_eq!(buckets.take("k", at(6)), Err(6));
        buckets.lower_to("fresh", 0.0, at(6));
        assert!(buckets.take("fresh", at(6)).is_err());
    }

    #[test]
    fn reservations_wait_for_attempts_in_flight() {
        let buckets = MemoryBuckets::new(Quota::new(2, 10));
        let keys = ["a".to_string(), "b".to_string()];
        assert_eq!(buckets.reserve_all(&keys, at(0)), Reservation::Granted);
        assert_eq!(buckets.reserve_all(&keys, at(0)), Reservation::Granted);
        // Both tokens are in flight: a third attempt waits for their outcome.
        assert_eq!(buckets.reserve_all(&keys, at(0)), Reservation::Wait);
        buckets.settle(&keys, false, at(0));
        assert_eq!(
            buckets.reserve_all(&keys, at(0)),
            Reservation::Granted,
            "given back"
        );
        buckets.settle(&keys, true, at(0));
        buckets.settle(&keys, true, at(0));
        assert_eq!(
            buckets.reserve_all(&keys, at(0)),
            Reservation::Refused(6),
            "spent"
        );
        assert_eq!(
            buckets.reserve_all(&["c".to_string()], at(0)),
            Reservation::Granted,
            "other keys are apart"
        );
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let quota = Quota::new(5, 60);
        assert_eq!(quota.refilled(1.0, at(10), at(0)), 1.0);
        assert_eq!(quota.refilled(1.0, at(0), at(100)), 5.0);
        assert_eq!(quota.retry_after(0.5), 1);
    }
}

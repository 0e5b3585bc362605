//! Token-bucket arithmetic shared by the in-memory and the database-held budgets: `burst`
//! attempts at once, refilled at `per_minute`. Buckets keep fractional tokens and the time
//! they were last touched, so refilling needs no timer.

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

    /// Takes one token: Ok, or Err(seconds to wait) when the bucket is empty (an attempt
    /// that is refused takes nothing).
    pub fn take(&self, key: &str, now: NaiveDateTime) -> Result<(), u64> {
        self.with(|buckets| {
            if buckets.len() > PRUNE_ABOVE {
                let quota = self.quota;
                buckets.retain(|_, b| quota.refilled(b.tokens, b.at, now) < quota.burst);
            }
            let tokens = self.current(buckets, key, now);
            if tokens < 1.0 {
                return Err(self.quota.retry_after(tokens));
            }
            buckets.insert(
                key.to_string(),
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
            Ok(())
        })
    }

    /// Gives back a token taken for an attempt that turned out well.
    pub fn refund(&self, key: &str, now: NaiveDateTime) {
        self.with(|buckets| {
            let tokens = (self.current(buckets, key, now) + 1.0).min(self.quota.burst);
            buckets.insert(key.to_string(), Bucket { tokens, at: now });
        })
    }

    /// Lowers the bucket to what the shared budget says is left (never raises it).
    pub fn lower_to(&self, key: &str, tokens: f64, now: NaiveDateTime) {
        self.with(|buckets| {
            let tokens = self.current(buckets, key, now).min(tokens);
            buckets.insert(key.to_string(), Bucket { tokens, at: now });
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
    fn burst_then_refill_then_refund() {
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
        buckets.refund("k", at(6));
        assert_eq!(buckets.take("k", at(6)), Ok(()));
        buckets.lower_to("fresh", 0.0, at(6));
        assert!(buckets.take("fresh", at(6)).is_err());
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let quota = Quota::new(5, 60);
        assert_eq!(quota.refilled(1.0, at(10), at(0)), 1.0);
        assert_eq!(quota.refilled(1.0, at(0), at(100)), 5.0);
        assert_eq!(quota.retry_after(0.5), 1);
    }
}

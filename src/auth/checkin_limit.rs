//! Server check-ins per source network (an IPv4 address, an IPv6 /64): `per_minute` at
//! once and per minute, kept in this process's memory. Check-ins need no token, so this is
//! what stops one source from making a flood of them cost database work.

use chrono::NaiveDateTime;

use crate::auth::bucket::{MemoryBuckets, Quota};
use crate::net::network_of;

pub struct CheckinLimit {
    buckets: MemoryBuckets,
}

impl CheckinLimit {
    pub fn new(per_minute: u32) -> Self {
        Self {
            buckets: MemoryBuckets::new(Quota::new(per_minute, per_minute)),
        }
    }

    /// Ok, or the seconds to wait before this source may check in again.
    pub fn admit(&self, source: std::net::IpAddr, now: NaiveDateTime) -> Result<(), u64> {
        self.buckets.take(&network_of(source), now)
    }
}

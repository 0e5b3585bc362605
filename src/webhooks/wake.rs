//! Waking the delivery worker of this process when a transaction commits deliveries, so a
//! delivery starts at once instead of at the worker's next poll (other instances' commits
//! are found by polling).

use std::sync::LazyLock;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

pub fn nudge() {
    WAKE.notify_waiters();
}

/// A wake-up to wait for; create it (and `enable` it) before looking for work, so that a
/// nudge arriving between the look and the wait is not missed.
pub fn notified() -> Notified<'static> {
    WAKE.notified()
}

//! Waking this process's workers when a transaction commits work for them. A layer that
//! writes an outbox row declares a `Signal` and calls `on_commit` inside the write
//! transaction; its worker waits on `notified`. `write_transaction` fires the signals of a
//! transaction that committed and drops those of one that rolled back, so a worker is never
//! woken for rows that do not exist. Other instances' commits are found by polling.

use std::cell::RefCell;
use std::sync::LazyLock;

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

pub struct Signal {
    notify: LazyLock<Notify>,
}

thread_local! {
    /// The signals the transaction open on this thread asked for.
    static PENDING: RefCell<Vec<&'static Signal>> = const { RefCell::new(Vec::new()) };
}

impl Signal {
    pub const fn new() -> Self {
        Self {
            notify: LazyLock::new(Notify::new),
        }
    }

    /// Inside a write transaction: wake this signal's waiters once it commits.
    pub fn on_commit(&'static self) {
        PENDING.with(|p| {
            let mut pending = p.borrow_mut();
            if !pending.iter().any(|s| std::ptr::eq(*s, self)) {
                pending.push(self);
            }
        });
    }

    /// Wakes the waiters now (work that was committed without `write_transaction`).
    pub fn raise(&self) {
        self.notify.notify_waiters();
    }

    /// A wake-up to wait for; create it (and `enable` it) before looking for work, so that a
    /// signal raised between the look and the wait is not missed.
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

impl Default for Signal {
    fn default() -> Self {
        Self::new()
    }
}

/// Called by `write_transaction` when its transaction ends.
pub(super) fn transaction_ended(committed: bool) {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if committed {
        for signal in pending {
            signal.raise();
        }
    }
}

//! SQLite's writers take turns in ipls, first come first served, instead of in SQLite's busy
//! handler. The busy handler polls with growing sleeps (up to 100 ms each), so under many
//! concurrent writers a writer that just missed the lock sleeps while others go ahead: the
//! write tail grows with the number of writers. A ticket queue hands the lock to the next
//! waiter the moment it is released. It orders this process's writers only; another process
//! (an `ipls` command) still meets SQLite's own locking.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tickets {
    /// The next ticket handed out.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
    /// Tickets whose holders stopped waiting; their turns are skipped.
    abandoned: BTreeSet<u64>,
}

#[derive(Default)]
pub struct WriteGate {
    tickets: Mutex<Tickets>,
    turn_changed: Condvar,
}

/// A writer's turn; the next writer's begins when it is dropped.
pub struct Turn<'a> {
    gate: &'a WriteGate,
}

impl WriteGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tickets> {
        self.tickets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this writer's turn, at most `patience`; None when it did not come (the
    /// caller answers busy, as SQLite's busy timeout would have).
    pub fn wait_turn(&self, patience: Duration) -> Option<Turn<'_>> {
        let deadline = Instant::now() + patience;
        let mut tickets = self.lock();
        let mine = tickets.next;
        tickets.next += 1;
        while tickets.serving != mine {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tickets.abandoned.insert(mine);
                return None;
            }
            tickets = self
                .turn_changed
                .wait_timeout(tickets, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        Some(Turn { gate: self })
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut tickets = self.gate.lock();
        tickets.serving += 1;
        loop {
            let serving = tickets.serving;
            if !tickets.abandoned.remove(&serving) {
                break;
            }
            tickets.serving += 1;
        }
        drop(tickets);
        self.gate.turn_changed.notify_all();
    }
}

thread_local! {
    /// The gate of the pool whose connection this thread is using (set by `db::run`).
    static CURRENT: RefCell<Option<Arc<WriteGate>>> = const { RefCell::new(None) };
}

/// Makes `gate` the current thread's gate until the returned guard is dropped.
pub fn enter(gate: Option<Arc<WriteGate>>) -> Entered {
    let previous = CURRENT.with(|c| c.replace(gate));
    Entered { previous }
}

pub struct Entered {
    previous: Option<Arc<WriteGate>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The current thread's gate, if its connection came from a pool that has one.
pub fn current() -> Option<Arc<WriteGate>> {
    CURRENT.with(|c| c.borrow().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let gate = Arc::new(WriteGate::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = gate.wait_turn(Duration::from_secs(5)).expect("free gate");
        let mut threads = Vec::new();
        for n in 0..4 {
            let (waiter, order) = (gate.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _turn = waiter.wait_turn(Duration::from_secs(5)).expect("a turn");
                order.lock().expect("order").push(n);
            }));
            // Each takes its ticket before the next starts.
            while gate.lock().next < n + 2 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(*order.lock().expect("order"), [0, 1, 2, 3]);
    }

    #[test]
    fn a_writer_that_gives_up_does_not_block_the_next() {
        let gate = WriteGate::default();
        let held = gate.wait_turn(Duration::from_secs(1)).expect("free gate");
        assert!(gate.wait_turn(Duration::from_millis(20)).is_none(), "busy");
        drop(held);
        // The abandoned ticket is skipped: the next writer gets its turn at once.
        assert!(gate.wait_turn(Duration::from_millis(20)).is_some());
    }
}

//! Coalesced reads: the lookups of calls in flight at the same moment answered by one
//! statement (`WHERE ip = ANY($1)`), instead of one blocking-pool hop, one pool checkout and
//! one round trip per call.
//!
//! No timer: a call that finds a lane free starts a batch at once, so a lone call pays
//! nothing for the coalescing. While every lane's statement runs, arriving calls queue; the
//! first lane to finish takes all of them (up to `MAX_BATCH`) as its next batch. A batch is
//! taken from the queue before its statement starts, so a call's lookup always runs after
//! the call began: a write acknowledged before a read starts is seen by that read, exactly
//! as with one statement per call.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{run, DbConnection, Pool};
use crate::error::DomainError;

/// The most lookups one statement carries; more waiting calls go to the next batch.
pub const MAX_BATCH: usize = 256;

/// Answers a batch of requests with one connection: one answer per request, in order.
pub type BatchFn<Q, A> = fn(&mut DbConnection, &[Q]) -> Result<Vec<A>, DomainError>;

struct Waiting<Q, A> {
    request: Q,
    reply: oneshot::Sender<Result<A, DomainError>>,
}

struct Queue<Q, A> {
    waiting: VecDeque<Waiting<Q, A>>,
    /// Lanes with a batch in flight.
    running: usize,
}

struct Shared<Q, A> {
    queue: Mutex<Queue<Q, A>>,
    pool: Pool,
    lanes: usize,
    answer: BatchFn<Q, A>,
    calls: AtomicU64,
    batches: AtomicU64,
}

/// One kind of coalesced lookup (check.json's, availability.json's).
pub struct Coalescer<Q, A> {
    shared: Arc<Shared<Q, A>>,
}

impl<Q, A> Clone for Coalescer<Q, A> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Calls and the statements that answered them, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoalesceStats {
    pub calls: u64,
    pub batches: u64,
}

impl<Q: Send + 'static, A: Send + 'static> Coalescer<Q, A> {
    /// At most `lanes` statements of this kind run at once (at least one).
    pub fn new(pool: Pool, lanes: usize, answer: BatchFn<Q, A>) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    waiting: VecDeque::new(),
                    running: 0,
                }),
                pool,
                lanes: lanes.max(1),
                answer,
                calls: AtomicU64::new(0),
                batches: AtomicU64::new(0),
            }),
        }
    }

    pub fn stats(&self) -> CoalesceStats {
        CoalesceStats {
            calls: self.shared.calls.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
        }
    }

    /// Queues the lookup and waits for its answer, at most the pool's call timeout, as a call
    /// of its own would (`db::run`): a call queued behind a batch stuck on a dead connection is
    /// answered 503 in time, and its batch, when it comes, answers nobody.
    pub async fn call(&self, request: Q) -> Result<A, DomainError> {
        let (reply, answer) = oneshot::channel();
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
        let start_lane = {
            let mut queue = self.shared.lock();
            queue.waiting.push_back(Waiting { request, reply });
            let free = queue.running < self.shared.lanes;
            if free {
                queue.running += 1;
            }
            free
        };
        if start_lane {
            // A task of its own, not this call's future: a client that hangs up must not
            // stop a batch that answers other calls too.
            actix_web::rt::spawn(drive(self.shared.clone()));
        }
        let patience = self.shared.pool.call_timeout();
        match super::within(patience, answer).await {
            Ok(Ok(answered)) => answered,
            Ok(Err(_)) => Err(DomainError::Internal(
                "a coalesced lookup was dropped unanswered".into(),
            )),
            Err(limit) => Err(DomainError::Unavailable(format!(
                "the database did not answer within {} ms",
                limit.as_millis()
            ))),
        }
    }
}

impl<Q, A> Shared<Q, A> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<Q, A>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next batch, or None (and this lane stops) when nobody is waiting.
    fn next_batch(&self) -> Option<Vec<Waiting<Q, A>>> {
        let mut queue = self.lock();
        if queue.waiting.is_empty() {
            queue.running -= 1;
            return None;
        }
        let take = queue.waiting.len().min(MAX_BATCH);
        Some(queue.waiting.drain(..take).collect())
    }
}

/// One lane: batches until the queue is empty.
async fn drive<Q: Send + 'static, A: Send + 'static>(shared: Arc<Shared<Q, A>>) {
    while let Some(batch) = shared.next_batch() {
        shared.batches.fetch_add(1, Ordering::Relaxed);
        let (requests, replies): (Vec<Q>, Vec<_>) =
            batch.into_iter().map(|w| (w.request, w.reply)).unzip();
        let answer = shared.answer;
        let expected = requests.len();
        let result = run(&shared.pool, move |c| answer(c, &requests)).await;
        match result {
            Ok(answers) if answers.len() == expected => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A caller that hung up no longer wants its answer.
                    let _ = reply.send(Ok(answer));
                }
            }
            Ok(answers) => {
                let error = DomainError::Internal(format!(
                    "a batch of {expected} lookups got {} answers",
                    answers.len()
                ));
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

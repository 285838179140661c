//! Rate-limited work queues keyed by object (client-go's workqueue semantics): a key is queued
//! at most once, is never processed by two workers at once, and a key added while it is being
//! processed is processed again after `done`.

mod ratelimit;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use ratelimit::RateLimiter;

use crate::metrics::{QueueMetrics, registry};

/// A work queue of keys (`namespace/name` or `name`).
#[derive(Clone)]
pub struct WorkQueue {
    inner: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    limiter: RateLimiter,
    metrics: Arc<QueueMetrics>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    /// Keys waiting to be processed (queued, or added again while processing).
    dirty: HashSet<String>,
    processing: HashSet<String>,
    /// When each queued key was added, for the queue-duration histogram.
    added: HashMap<String, Instant>,
    /// When each processed key was taken, for the work-duration histogram.
    started: HashMap<String, Instant>,
    /// Keys with a delayed add pending, with the earliest time it is due.
    waiting: HashMap<String, Instant>,
    shutting_down: bool,
}

impl WorkQueue {
    /// A queue named `name` (the controller's name, as upstream's metrics label it) with
    /// client-go's default controller rate limiter.
    pub fn new(name: &str) -> WorkQueue {
        WorkQueue::with_limiter(name, RateLimiter::default_controller())
    }

    pub fn with_limiter(name: &str, limiter: RateLimiter) -> WorkQueue {
        WorkQueue {
            inner: Arc::new(Shared {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
                limiter,
                metrics: registry().queue(name),
            }),
        }
    }

    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut st = self.inner.state.lock();
        if st.shutting_down || st.dirty.contains(&key) {
            return;
        }
        self.inner.metrics.adds.fetch_add(1, Ordering::Relaxed);
        st.dirty.insert(key.clone());
        if st.processing.contains(&key) {
            return;
        }
        st.added.insert(key.clone(), Instant::now());
        st.queue.push_back(key);
        self.inner.metrics.depth.fetch_add(1, Ordering::Relaxed);
        drop(st);
        self.inner.notify.notify_one();
    }

    /// Adds `key` after `delay`; of several pending delayed adds of one key, the earliest wins.
    pub fn add_after(&self, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let due = Instant::now() + delay;
        {
            let mut st = self.inner.state.lock();
            if st.shutting_down {
                return;
            }
            match st.waiting.get(&key) {
                Some(existing) if *existing <= due => return,
                _ => {
                    st.waiting.insert(key.clone(), due);
                }
            }
        }
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let fire = {
                let mut st = queue.inner.state.lock();
                // A later, earlier-due add_after replaced this one: that one fires instead.
                if st.waiting.get(&key) == Some(&due) {
                    st.waiting.remove(&key);
                    true
                } else {
                    false
                }
            };
            if fire {
                queue.add(key);
            }
        });
    }

    /// Adds `key` after its rate limiter's delay (a failed sync's retry).
    pub fn add_rate_limited(&self, key: &str) {
        self.inner.metrics.retries.fetch_add(1, Ordering::Relaxed);
        let delay = self.inner.limiter.when(key);
        self.add_after(key.to_string(), delay);
    }

    /// Clears `key`'s failure history (its sync succeeded).
    pub fn forget(&self, key: &str) {
        self.inner.limiter.forget(key);
    }

    pub fn num_requeues(&self, key: &str) -> u32 {
        self.inner.limiter.num_requeues(key)
    }

    /// The next key to process, waiting for one; `None` once the queue is shut down.
    pub async fn get(&self) -> Option<String> {
        loop {
            let notified = self.inner.notify.notified();
            {
                let mut st = self.inner.state.lock();
                if let Some(key) = st.queue.pop_front() {
                    self.inner.metrics.depth.fetch_sub(1, Ordering::Relaxed);
                    if let Some(added) = st.added.remove(&key) {
                        self.inner.metrics.queue_duration.observe(added.elapsed());
                    }
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    st.started.insert(key.clone(), Instant::now());
                    return Some(key);
                }
                if st.shutting_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Marks `key` processed; requeues it if it was added meanwhile.
    pub fn done(&self, key: &str) {
        let mut st = self.inner.state.lock();
        st.processing.remove(key);
        if let Some(started) = st.started.remove(key) {
            self.inner.metrics.work_duration.observe(started.elapsed());
        }
        if st.dirty.contains(key) && !st.shutting_down {
            st.added.insert(key.to_string(), Instant::now());
            st.queue.push_back(key.to_string());
            self.inner.metrics.depth.fetch_add(1, Ordering::Relaxed);
            drop(st);
            self.inner.notify.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.inner.state.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys: waiting workers return `None`.
    pub fn shut_down(&self) {
        let mut st = self.inner.state.lock();
        st.shutting_down = true;
        let queued = st.queue.len() as i64;
        st.queue.clear();
        self.inner.metrics.depth.fetch_sub(queued, Ordering::Relaxed);
        drop(st);
        self.inner.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_added_while_processing_is_processed_again_after_done() {
        let q = WorkQueue::new("test-reprocess");
        q.add("ns/a");
        q.add("ns/a");
        assert_eq!(q.len(), 1);
        let key = q.get().await;
        assert_eq!(key.as_deref(), Some("ns/a"));
        q.add("ns/a");
        assert_eq!(q.len(), 0, "not handed to a second worker while processing");
        q.done("ns/a");
        assert_eq!(q.len(), 1);
    }

    #[tokio::test]
    async fn add_after_delivers_once_at_the_earliest_time() {
        let q = WorkQueue::new("test-delay");
        q.add_after("k", Duration::from_millis(200));
        q.add_after("k", Duration::from_millis(20));
        let start = Instant::now();
        let key = tokio::time::timeout(Duration::from_secs(2), q.get()).await;
        assert_eq!(key.ok().flatten().as_deref(), Some("k"));
        assert!(start.elapsed() < Duration::from_millis(150));
        q.done("k");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(q.len(), 0, "the superseded delayed add does not fire");
    }

    #[tokio::test]
    async fn shut_down_releases_waiting_workers() {
        let q = WorkQueue::new("test-shutdown");
        let waiter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.shut_down();
        let got = tokio::time::timeout(Duration::from_secs(2), waiter).await;
        assert!(matches!(got, Ok(Ok(None))));
    }
}

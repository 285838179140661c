//! A timer queue for the simulated pods: one task sleeps until the earliest deadline instead of
//! one sleeping task per pod.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What to do for a pod when its deadline comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Report Pending with containers being created.
    Pending,
    /// Report Running and ready.
    Run,
    /// The containers exit (a Job pod, or a pod told to run for a while).
    Exit,
    /// The pod was deleted: report it terminal, then delete it for good.
    Terminate,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: Instant,
    seq: u64,
    action: Action,
    uid: Arc<str>,
}

#[derive(Default)]
pub struct Timers {
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    wake: Notify,
}

impl Timers {
    pub fn schedule(&self, at: Instant, uid: Arc<str>, action: Action) {
        let mut h = self.heap.lock();
        let seq = h.1;
        h.1 += 1;
        let earliest = h.0.peek().is_none_or(|Reverse(e)| at < e.at);
        h.0.push(Reverse(Entry { at, seq, action, uid }));
        drop(h);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Waits for the next due entries and returns all of them (in deadline order).
    pub async fn next_due(&self) -> Vec<(Arc<str>, Action)> {
        loop {
            let next = {
                let mut h = self.heap.lock();
                let now = Instant::now();
                let mut due = Vec::new();
                while h.0.peek().is_some_and(|Reverse(e)| e.at <= now) {
                    if let Some(Reverse(e)) = h.0.pop() {
                        due.push((e.uid, e.action));
                    }
                }
                if !due.is_empty() {
                    return due;
                }
                h.0.peek().map(|Reverse(e)| e.at)
            };
            match next {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadlines_in_order() {
        let t = Timers::default();
        let now = Instant::now();
        t.schedule(now + Duration::from_secs(2), "b".into(), Action::Run);
        t.schedule(now + Duration::from_secs(1), "a".into(), Action::Pending);
        t.schedule(now + Duration::from_secs(1), "c".into(), Action::Exit);
        let first = t.next_due().await;
        assert_eq!(first, vec![("a".into(), Action::Pending), ("c".into(), Action::Exit)]);
        assert!(Instant::now() >= now + Duration::from_secs(1));
        let second = t.next_due().await;
        assert_eq!(second, vec![("b".into(), Action::Run)]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_entry_wakes_the_waiter() {
        let t = Arc::new(Timers::default());
        let now = Instant::now();
        t.schedule(now + Duration::from_secs(100), "late".into(), Action::Run);
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.next_due().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        t.schedule(Instant::now(), "now".into(), Action::Run);
        let due = waiter.await.unwrap_or_default();
        assert_eq!(due, vec![("now".into(), Action::Run)]);
        assert!(Instant::now() < now + Duration::from_secs(100));
    }
}

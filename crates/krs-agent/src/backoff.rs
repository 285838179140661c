//! Exponential back-off per key (upstream's flowcontrol.Backoff), for container restarts
//! (CrashLoopBackOff: 10 s doubling to 5 min) and image pulls.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub struct Backoff {
    initial: Duration,
    max: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    backoff: Duration,
    last_update: Instant,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff { initial, max, entries: Mutex::new(HashMap::new()) }
    }

    /// Records a failure at `at`: the next back-off is the initial one for a new key or one
    /// that has been quiet for twice the maximum, else double the last (up to the maximum).
    pub fn next(&self, key: &str, at: Instant) {
        let mut e = self.entries.lock();
        let entry = match e.get(key) {
            Some(old) if at.saturating_duration_since(old.last_update) <= self.max * 2 => {
                Entry { backoff: (old.backoff * 2).min(self.max), last_update: at }
            }
            _ => Entry { backoff: self.initial, last_update: at },
        };
        e.insert(key.to_owned(), entry);
    }

    /// Whether `key` is still backing off from a failure at `since`; returns the time left.
    pub fn remaining(&self, key: &str, since: Instant, now: Instant) -> Option<Duration> {
        let e = self.entries.lock();
        let entry = e.get(key)?;
        let elapsed = now.saturating_duration_since(since);
        (elapsed < entry.backoff).then(|| entry.backoff - elapsed)
    }

    /// Whether `key` is still backing off from its last recorded failure; returns the time left.
    pub fn remaining_since_last(&self, key: &str, now: Instant) -> Option<Duration> {
        let since = self.entries.lock().get(key)?.last_update;
        self.remaining(key, since, now)
    }

    /// The back-off currently applied to `key`.
    pub fn current(&self, key: &str) -> Option<Duration> {
        self.entries.lock().get(key).map(|e| e.backoff)
    }

    pub fn reset(&self, key: &str) {
        self.entries.lock().remove(key);
    }

    /// Forgets every key starting with `prefix` (a pod's keys once it is gone).
    pub fn forget_prefix(&self, prefix: &str) {
        self.entries.lock().retain(|k, _| !k.starts_with(prefix));
    }
}

/// Go's duration formatting for the messages users see ("back-off 20s", "back-off 1m20s",
/// "back-off 5m0s").
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 { format!("{}m{}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_maximum_and_resets_after_quiet() {
        let b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(b.remaining("k", t0, t0), None, "unknown keys are not backing off");
        b.next("k", t0);
        assert_eq!(b.remaining("k", t0, t0 + Duration::from_secs(4)), Some(Duration::from_secs(6)));
        assert_eq!(b.remaining("k", t0, t0 + Duration::from_secs(10)), None);
        let mut t = t0;
        for expected in [20, 40, 80, 160, 300, 300] {
            t += Duration::from_secs(1);
            b.next("k", t);
            assert_eq!(b.current("k"), Some(Duration::from_secs(expected)));
        }
        // Quiet for more than twice the maximum: back to the initial back-off.
        b.next("k", t + Duration::from_secs(601));
        assert_eq!(b.current("k"), Some(Duration::from_secs(10)));
        b.forget_prefix("k");
        assert_eq!(b.current("k"), None);
        assert_eq!(go_duration(Duration::from_secs(80)), "1m20s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(go_duration(Duration::from_secs(20)), "20s");
    }
}

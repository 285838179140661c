//! Controller expectations (upstream's ControllerExpectations and
//! UIDTrackingControllerExpectations): after issuing creates or deletes, a controller does not
//! act on a key again until its informer has observed them (or five minutes pass), so a stale
//! cache never causes double creates or deletes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long unobserved expectations hold a controller back (upstream's ExpectationsTimeout).
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expectation {
    add: i64,
    del: i64,
    at: Instant,
}

#[derive(Default)]
pub struct Expectations {
    map: Mutex<HashMap<String, Expectation>>,
    /// Keys of pods whose deletion this controller awaits, per controller key.
    uids: Mutex<HashMap<String, HashSet<String>>>,
}

impl Expectations {
    /// Whether the controller `key` may sync: all expectations met, expired, or none recorded.
    pub fn satisfied(&self, key: &str) -> bool {
        match self.map.lock().get(key) {
            Some(e) => (e.add <= 0 && e.del <= 0) || e.at.elapsed() > EXPECTATIONS_TIMEOUT,
            None => true,
        }
    }

    pub fn expect_creations(&self, key: &str, adds: usize) {
        self.set(key, adds as i64, 0);
    }

    /// Expects the deletion of the pods with `pod_keys` (namespace/name).
    pub fn expect_deletions(&self, key: &str, pod_keys: Vec<String>) {
        let n = pod_keys.len() as i64;
        self.uids.lock().insert(key.to_string(), pod_keys.into_iter().collect());
        self.set(key, 0, n);
    }

    /// Expects `adds` creations and the deletion of `pod_keys` at once.
    pub fn expect(&self, key: &str, adds: usize, pod_keys: Vec<String>) {
        let n = pod_keys.len() as i64;
        self.uids.lock().insert(key.to_string(), pod_keys.into_iter().collect());
        self.set(key, adds as i64, n);
    }

    fn set(&self, key: &str, add: i64, del: i64) {
        self.map.lock().insert(key.to_string(), Expectation { add, del, at: Instant::now() });
    }

    pub fn raise(&self, key: &str, add: i64, del: i64) {
        let mut map = self.map.lock();
        if let Some(e) = map.get_mut(key) {
            e.add += add;
            e.del += del;
        }
    }

    pub fn creation_observed(&self, key: &str) {
        self.lower(key, 1, 0);
    }

    /// A pod the controller `key` owns went away (or is going): counts once per pod.
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        let was_expected = match self.uids.lock().get_mut(key) {
            Some(set) => set.remove(pod_key),
            None => false,
        };
        if was_expected {
            self.lower(key, 0, 1);
        }
    }

    pub fn lower(&self, key: &str, add: i64, del: i64) {
        let mut map = self.map.lock();
        if let Some(e) = map.get_mut(key) {
            e.add -= add;
            e.del -= del;
        }
    }

    pub fn delete(&self, key: &str) {
        self.map.lock().remove(key);
        self.uids.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_hold_the_controller_back_until_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn a_deletion_counts_once_per_pod() {
        let e = Expectations::default();
        e.expect_deletions("ns/rs", vec!["ns/a".into(), "ns/b".into()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }
}

//! client-go's DefaultControllerRateLimiter: the maximum of a per-item exponential backoff
//! (5 ms doubling to 1000 s) and an overall token bucket (10 qps, burst 100).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub struct RateLimiter {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
    bucket: Option<Mutex<Bucket>>,
}

struct Bucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Reserves one token; returns how long the caller must wait for it.
    fn reserve(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst) - 1.0;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.qps) }
    }
}

impl RateLimiter {
    pub fn default_controller() -> RateLimiter {
        RateLimiter::new(Duration::from_millis(5), Duration::from_secs(1000), Some((10.0, 100)))
    }

    /// Per-item exponential backoff from `base` to `max`, and a token bucket of `qps` and
    /// `burst` when given.
    pub fn new(base: Duration, max: Duration, bucket: Option<(f64, u32)>) -> RateLimiter {
        RateLimiter {
            base,
            max,
            failures: Mutex::new(HashMap::new()),
            bucket: bucket.map(|(qps, burst)| {
                Mutex::new(Bucket { qps, burst: f64::from(burst), tokens: f64::from(burst), last: Instant::now() })
            }),
        }
    }

    pub fn when(&self, key: &str) -> Duration {
        let exp = {
            let mut failures = self.failures.lock();
            let n = failures.entry(key.to_string()).or_insert(0);
            let exp = *n;
            *n = n.saturating_add(1);
            exp
        };
        // 2^exp overflows long before it matters: anything past 2^30 is past the maximum.
        let backoff = if exp >= 30 { self.max } else { self.base.saturating_mul(1u32 << exp).min(self.max) };
        let bucket = self.bucket.as_ref().map(|b| b.lock().reserve()).unwrap_or_default();
        backoff.max(bucket)
    }

    pub fn forget(&self, key: &str) {
        self.failures.lock().remove(key);
    }

    pub fn num_requeues(&self, key: &str) -> u32 {
        self.failures.lock().get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_item_backoff_doubles_up_to_the_maximum_and_forget_resets_it() {
        let l = RateLimiter::new(Duration::from_millis(5), Duration::from_secs(1000), None);
        assert_eq!(l.when("a"), Duration::from_millis(5));
        assert_eq!(l.when("a"), Duration::from_millis(10));
        assert_eq!(l.when("a"), Duration::from_millis(20));
        assert_eq!(l.when("b"), Duration::from_millis(5));
        for _ in 0..40 {
            l.when("a");
        }
        assert_eq!(l.when("a"), Duration::from_secs(1000));
        l.forget("a");
        assert_eq!(l.num_requeues("a"), 0);
        assert_eq!(l.when("a"), Duration::from_millis(5));
    }

    #[test]
    fn the_bucket_delays_once_the_burst_is_spent() {
        let l = RateLimiter::new(Duration::ZERO, Duration::ZERO, Some((10.0, 2)));
        assert_eq!(l.when("a"), Duration::ZERO);
        assert_eq!(l.when("b"), Duration::ZERO);
        assert!(l.when("c") > Duration::from_millis(50));
    }
}

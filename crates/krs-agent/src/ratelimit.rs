//! Client-side rate limiting of API requests: a token bucket, as client-go's (QPS and burst).

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A token bucket refilled at `qps` tokens a second, holding at most `burst`.
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<State>,
}

struct State {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// A limiter that starts full. A non-positive `qps` disables limiting.
    pub fn new(qps: f64, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter { qps, burst, state: Mutex::new(State { tokens: burst, last: Instant::now() }) }
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        if self.qps <= 0.0 {
            return;
        }
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token (possibly going into debt) and returns how long the caller must wait for it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut s = self.state.lock();
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.qps).min(self.burst);
        s.last = now;
        s.tokens -= 1.0;
        if s.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-s.tokens / self.qps) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let rl = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(rl.reserve(t0), Duration::ZERO);
        }
        // The fourth request waits one token's time (100 ms), the fifth two.
        let w4 = rl.reserve(t0);
        let w5 = rl.reserve(t0);
        assert!((w4.as_secs_f64() - 0.1).abs() < 1e-6, "{w4:?}");
        assert!((w5.as_secs_f64() - 0.2).abs() < 1e-6, "{w5:?}");
        // After a second of quiet, the bucket has refilled (up to burst) and paid its debt.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(rl.reserve(t1), Duration::ZERO);
    }
}

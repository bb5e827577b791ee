//! A token bucket with time passed in.

use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(50, 100, t0);
        let burst = (0..150).filter(|_| b.try_take(t0)).count();
        assert_eq!(burst, 100);
        // One second later, 50 more.
        let t1 = t0 + Duration::from_secs(1);
        let refill = (0..150).filter(|_| b.try_take(t1)).count();
        assert_eq!(refill, 50);
        // 20 ms gives exactly one.
        let t2 = t1 + Duration::from_millis(20);
        assert!(b.try_take(t2));
        assert!(!b.try_take(t2));
    }

    #[test]
    fn never_exceeds_burst_after_long_idle() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(50, 100, t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!((0..1000).filter(|_| b.try_take(later)).count(), 100);
    }

    #[test]
    fn time_going_backwards_does_not_add_tokens() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::new(50, 1, t0);
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0 - Duration::from_secs(5)));
    }
}

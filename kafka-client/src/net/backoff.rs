//! Exponential backoff with jitter, as the Java client's `ExponentialBackoff`: the n-th wait is
//! `base * 2^n`, capped at `max`, then spread by ±20% so that many clients that lost the same
//! broker do not reconnect in lockstep (KIP-144 for reconnects, KIP-580 for retries).

use std::time::Duration;

/// Relative spread of each wait.
const JITTER: f64 = 0.2;

/// Backoff state for one target (a broker, a request).
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// A backoff starting at `base`, never above `max` (before jitter).
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: 0,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait after the failures so far, spread by `unit`, a random number in `[0, 1)`.
    pub fn delay_with(&self, unit: f64) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let exp = self.failures.saturating_sub(1).min(31);
        let raw = self.base.as_secs_f64() * f64::from(1u32 << exp);
        let capped = raw.min(self.max.as_secs_f64());
        let spread = 1.0 - JITTER + 2.0 * JITTER * unit.clamp(0.0, 1.0);
        Duration::from_secs_f64(capped * spread)
    }

    /// The wait after the failures so far, with random jitter.
    pub fn delay(&self) -> Duration {
        self.delay_with(fastrand::f64())
    }

    /// Records a failure.
    pub fn fail(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// Records a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_jitters() {
        let mut b = Backoff::new(Duration::from_millis(50), Duration::from_millis(1000));
        assert_eq!(b.delay(), Duration::ZERO);
        b.fail();
        assert_eq!(b.delay_with(0.5), Duration::from_millis(50));
        b.fail();
        assert_eq!(b.delay_with(0.5), Duration::from_millis(100));
        for _ in 0..10 {
            b.fail();
        }
        assert_eq!(b.delay_with(0.5), Duration::from_millis(1000));
        assert_eq!(b.delay_with(0.0), Duration::from_millis(800));
        assert_eq!(b.delay_with(1.0), Duration::from_millis(1200));
        for _ in 0..100 {
            let d = b.delay();
            assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200));
        }
        b.reset();
        assert_eq!(b.delay(), Duration::ZERO);
    }
}

//! How often, and how patiently, transient failures are retried.

use std::time::Duration;

/// Retries of transient failures: errcodes of class
/// [`Retry`](crate::ErrorClass::Retry) (`-1` system busy) and connections
/// that could not be made. Never applied to a request whose delivery is
/// unknown.
///
/// The delay before retry `n` (from 0) is `initial * 2^n`, capped at `max`,
/// of which a random half is kept (jitter), so that many clients do not
/// retry in step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, backoff from 200 ms up to 3 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(3),
        }
    }
}

impl RetryPolicy {
    /// Up to `max_retries` retries, the backoff starting at `initial` and
    /// doubling up to `max`.
    pub fn new(max_retries: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_retries,
            initial_backoff: initial,
            max_backoff: max.max(initial),
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The number of retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The delay before retry `retry` (counted from 0), with jitter.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.min(16);
        let full = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = full / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=jitter_nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds() {
        let policy = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..50 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = policy.backoff(1);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let capped = policy.backoff(10);
            assert!(capped >= Duration::from_millis(175) && capped <= Duration::from_millis(350));
        }
        assert_eq!(RetryPolicy::none().backoff(3), Duration::ZERO);
    }
}

//! How often, and how patiently, transient failures are retried. A leaf:
//! it imports no other module of the client.

use std::time::Duration;

/// Retries of transient failures: errcodes of class
/// [`Retry`](crate::ErrorClass::Retry) (`-1` system busy) and connections
/// that could not be made. Never applied to a request whose delivery is
/// unknown.
///
/// The delay before retry `n` (from 0) is `initial * 2^n`, capped at `max`,
/// of which a random half is kept (jitter), so that many clients do not
/// retry in step.
///
/// A call also has a total deadline (default 30 s, counted from its first
/// attempt): no new attempt starts at or past it (a retry whose backoff
/// would end past it is not made), and the error says the deadline was
/// reached. An
/// attempt under way is never cut short by the deadline (that would leave
/// its delivery unknown); the client's `timeout` bounds each attempt.
///
/// ```
/// use std::time::Duration;
/// use wechat_msg::client::RetryPolicy;
///
/// let policy = RetryPolicy::new(5, Duration::from_millis(100), Duration::from_secs(2))
///     .with_deadline(Duration::from_secs(10));
/// assert_eq!(policy.deadline(), Duration::from_secs(10));
/// assert_eq!(RetryPolicy::default().deadline(), Duration::from_secs(30));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
}

/// The total deadline of a call unless set otherwise.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);

impl Default for RetryPolicy {
    /// 3 retries, backoff from 200 ms up to 3 s, within 30 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(3),
            deadline: DEFAULT_DEADLINE,
        }
    }
}

impl RetryPolicy {
    /// Up to `max_retries` retries, the backoff starting at `initial` and
    /// doubling up to `max`.
    /// The deadline is the default 30 s; see [`with_deadline`](Self::with_deadline).
    pub fn new(max_retries: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_retries,
            initial_backoff: initial,
            max_backoff: max.max(initial),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// The same policy with a total deadline of `deadline` per call: no
    /// attempt starts after it.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy::new(0, Duration::ZERO, Duration::ZERO)
    }

    /// The number of retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The total deadline of a call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Whether an attempt starting `wait` from now, `elapsed` into the
    /// call, would start at or past the deadline.
    pub(crate) fn past_deadline(&self, elapsed: Duration, wait: Duration) -> bool {
        elapsed.saturating_add(wait) >= self.deadline
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

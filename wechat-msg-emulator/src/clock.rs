//! The emulator's clock limit and deadlines that may lie beyond what
//! [`Instant`] can represent.
//!
//! Every duration that comes from outside (configured lifetimes and
//! timeouts, clock advances, lifetimes of registered media) is at most
//! [`MAX_DURATION`]; the clock itself is never moved further ahead than that.
//! Deadlines are computed with checked arithmetic: one beyond the range of
//! `Instant` never comes.

use std::time::{Duration, Instant};

/// The longest duration the emulator accepts anywhere, and how far ahead of
/// real time its clock can be moved in total: 100 years (of 365 days).
pub const MAX_DURATION: Duration = Duration::from_secs(MAX_SECS);

/// [`MAX_DURATION`] in seconds.
pub(crate) const MAX_SECS: u64 = 100 * 365 * 24 * 3600;

/// Why a number of seconds from outside is refused, as a phrase that
/// follows the name of the field: `lifetime_secs: ...`.
pub(crate) fn check_secs(secs: f64) -> Result<Duration, String> {
    if secs.is_nan() || secs < 0.0 {
        return Err(format!(
            "{secs} is not a number of seconds from 0 to {MAX_SECS}"
        ));
    }
    if secs > MAX_SECS as f64 {
        return Err(format!(
            "{secs} is past the limit of {MAX_SECS} s (100 years)"
        ));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{secs}: {e}"))
}

/// A point in time that never comes when it lies beyond what `Instant` can
/// represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Deadline {
    /// At this instant.
    At(Instant),
    /// Never.
    Never,
}

impl Deadline {
    /// `by` after `now`.
    pub fn after(now: Instant, by: Duration) -> Deadline {
        now.checked_add(by).map_or(Deadline::Never, Deadline::At)
    }

    /// `by` after this deadline.
    pub fn plus(self, by: Duration) -> Deadline {
        match self {
            Deadline::At(at) => Deadline::after(at, by),
            Deadline::Never => Deadline::Never,
        }
    }

    /// Whether it has come at `now`.
    pub fn passed(self, now: Instant) -> bool {
        match self {
            Deadline::At(at) => at <= now,
            Deadline::Never => false,
        }
    }

    /// The time left from `now`, `None` when it never comes.
    pub fn left(self, now: Instant) -> Option<Duration> {
        match self {
            Deadline::At(at) => Some(at.saturating_duration_since(now)),
            Deadline::Never => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_beyond_the_range_never_come() {
        let now = Instant::now();
        assert_eq!(Deadline::after(now, Duration::MAX), Deadline::Never);
        assert!(!Deadline::Never.passed(now));
        let soon = Deadline::after(now, Duration::from_secs(1));
        assert!(soon < Deadline::Never);
        assert!(soon.passed(now + Duration::from_secs(1)));
        assert!(!soon.passed(now));
        assert_eq!(soon.plus(Duration::MAX), Deadline::Never);
        assert_eq!(soon.left(now), Some(Duration::from_secs(1)));
    }

    #[test]
    fn seconds_from_outside_are_bounded() {
        assert_eq!(check_secs(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(check_secs(MAX_SECS as f64), Ok(MAX_DURATION));
        for bad in [-1.0, f64::NAN, 1e19, f64::INFINITY, f64::MAX] {
            assert!(check_secs(bad).is_err(), "{bad}");
        }
        assert!(check_secs(1e19).unwrap_err().contains("limit"));
    }
}

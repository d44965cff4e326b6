//! Access tokens: the classic and the stable kind, rotation with a grace
//! period, natural expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::clock::Deadline;

/// Why a token is refused, as WeChat's errcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// 40001: unknown, or replaced and past its grace period.
    Invalid,
    /// 42001: past its lifetime.
    Expired,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    expires_at: Deadline,
    /// Set when a newer token replaced this one: the end of its grace period.
    revoked_at: Option<Deadline>,
}

impl Record {
    fn dead_at(&self) -> Deadline {
        self.revoked_at
            .map_or(self.expires_at, |r| r.min(self.expires_at))
    }
}

/// Every token issued and which is current, per kind.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    records: HashMap<String, Record>,
    classic: Option<String>,
    stable: Option<String>,
}

/// A token just issued or returned.
#[derive(Debug)]
pub(crate) struct Issued {
    pub token: String,
    pub expires_in: u64,
}

/// How long a dead token is still remembered, so that it answers 42001 or
/// 40001 for the right reason rather than "unknown".
const MEMORY: Duration = Duration::from_secs(24 * 3600);

impl TokenStore {
    /// Whether `token` may be used at `now`.
    pub fn check(&self, token: &str, now: Instant) -> Result<(), TokenProblem> {
        let record = self.records.get(token).ok_or(TokenProblem::Invalid)?;
        if record.revoked_at.is_some_and(|r| r.passed(now)) {
            return Err(TokenProblem::Invalid);
        }
        if record.expires_at.passed(now) {
            return Err(TokenProblem::Expired);
        }
        Ok(())
    }

    /// `GET /cgi-bin/token`: a new token every time; the previous classic
    /// token keeps working for `grace`.
    pub fn fetch_classic(&mut self, now: Instant, lifetime: Duration, grace: Duration) -> Issued {
        let token = self.issue(now, lifetime);
        if let Some(old) = self.classic.replace(token.clone()) {
            self.revoke(&old, Deadline::after(now, grace));
        }
        Issued {
            token,
            expires_in: whole_secs(lifetime),
        }
    }

    /// `POST /cgi-bin/stable_token`: the current stable token while it is
    /// valid, unless `force_refresh` asks for a new one.
    pub fn fetch_stable(
        &mut self,
        now: Instant,
        lifetime: Duration,
        grace: Duration,
        force_refresh: bool,
    ) -> Issued {
        if !force_refresh
            && let Some(current) = &self.stable
            && self.check(current, now).is_ok()
        {
            let left = self
                .records
                .get(current)
                .and_then(|r| r.expires_at.left(now))
                .unwrap_or(lifetime);
            return Issued {
                token: current.clone(),
                expires_in: whole_secs(left),
            };
        }
        let token = self.issue(now, lifetime);
        if let Some(old) = self.stable.replace(token.clone()) {
            self.revoke(&old, Deadline::after(now, grace));
        }
        Issued {
            token,
            expires_in: whole_secs(lifetime),
        }
    }

    /// Makes every token issued so far expire at `now` (42001 from then on).
    pub fn expire_all(&mut self, now: Instant) {
        for record in self.records.values_mut() {
            record.expires_at = record.expires_at.min(Deadline::At(now));
        }
    }

    fn issue(&mut self, now: Instant, lifetime: Duration) -> String {
        self.records
            .retain(|_, r| !r.dead_at().plus(MEMORY).passed(now));
        let token = new_token();
        self.records.insert(
            token.clone(),
            Record {
                expires_at: Deadline::after(now, lifetime),
                revoked_at: None,
            },
        );
        token
    }

    fn revoke(&mut self, token: &str, at: Deadline) {
        if let Some(record) = self.records.get_mut(token) {
            record.revoked_at = Some(record.revoked_at.map_or(at, |r| r.min(at)));
        }
    }
}

/// Seconds, rounded up so that a short test lifetime never reads as 0.
fn whole_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// A token shaped like WeChat's: URL-safe characters, long.
fn new_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..96)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Duration = Duration::from_secs(7200);
    const GRACE: Duration = Duration::from_secs(300);

    #[test]
    fn a_classic_fetch_retires_the_previous_token_after_the_grace_period() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let first = store.fetch_classic(t0, LIFE, GRACE).token;
        let second = store.fetch_classic(t0, LIFE, GRACE).token;
        assert_ne!(first, second);
        assert_eq!(store.check(&first, t0 + GRACE / 2), Ok(()));
        assert_eq!(store.check(&first, t0 + GRACE), Err(TokenProblem::Invalid));
        assert_eq!(store.check(&second, t0 + GRACE), Ok(()));
        assert_eq!(store.check(&second, t0 + LIFE), Err(TokenProblem::Expired));
        assert_eq!(store.check("nope", t0), Err(TokenProblem::Invalid));
    }

    #[test]
    fn the_stable_token_stays_until_forced() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let a = store.fetch_stable(t0, LIFE, GRACE, false);
        let b = store.fetch_stable(t0 + Duration::from_secs(100), LIFE, GRACE, false);
        assert_eq!(a.token, b.token);
        assert_eq!(b.expires_in, 7100);
        let c = store.fetch_stable(t0 + Duration::from_secs(100), LIFE, GRACE, true);
        assert_ne!(c.token, a.token);
        assert_eq!(c.expires_in, 7200);
        // Expired: a normal fetch issues a new one.
        let d = store.fetch_stable(t0 + Duration::from_secs(100) + LIFE, LIFE, GRACE, false);
        assert_ne!(d.token, c.token);
    }

    #[test]
    fn the_classic_and_stable_tokens_are_separate() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let stable = store.fetch_stable(t0, LIFE, GRACE, false).token;
        store.fetch_classic(t0, LIFE, GRACE);
        store.fetch_classic(t0, LIFE, GRACE);
        assert_eq!(store.check(&stable, t0 + GRACE * 2), Ok(()));
    }

    #[test]
    fn lifetimes_beyond_the_clock_never_end() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let first = store.fetch_classic(t0, Duration::MAX, Duration::MAX);
        assert_eq!(first.expires_in, u64::MAX);
        let second = store.fetch_classic(t0, Duration::MAX, Duration::MAX);
        let later = t0 + Duration::from_secs(1 << 32);
        assert_eq!(store.check(&first.token, later), Ok(()));
        assert_eq!(store.check(&second.token, later), Ok(()));
        let stable = store.fetch_stable(t0, Duration::MAX, Duration::MAX, false);
        let again = store.fetch_stable(later, Duration::MAX, Duration::MAX, false);
        assert_eq!(again.token, stable.token);
        store.expire_all(later);
        assert_eq!(
            store.check(&second.token, later),
            Err(TokenProblem::Expired)
        );
    }

    #[test]
    fn expire_all_makes_tokens_answer_expired() {
        let mut store = TokenStore::default();
        let t0 = Instant::now();
        let t = store.fetch_classic(t0, LIFE, GRACE).token;
        store.expire_all(t0);
        assert_eq!(store.check(&t, t0), Err(TokenProblem::Expired));
    }
}

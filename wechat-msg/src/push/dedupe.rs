//! What a receiver remembers between pushes: which pushes were handled (so
//! WeChat's retries are not handled twice) and which signed nonces were seen
//! with which body (so a captured signature cannot carry another body).
//!
//! [`MemoryDedupe`] keeps both in the process; a store shared by every
//! instance behind one URL (Redis, feature `redis`) keeps them for all.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The future a [`Dedupe`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The shared store could not be reached or answered nonsense. The push is
/// answered 503, so WeChat tries again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the push store is unavailable: {0}")]
pub struct StoreError(String);

impl StoreError {
    /// A store error saying `what` went wrong (never a secret).
    pub fn new(what: impl Into<String>) -> Self {
        StoreError(what.into())
    }
}

/// Remembers which pushes were handled and which nonces were seen.
///
/// The key of a push is [`crate::push::PushMessage::dedupe_key`]; a store
/// shared by several apps puts the appid in front of it itself.
pub trait Dedupe: Send + Sync + 'static {
    /// Records `key`; true the first time it is seen within the window.
    fn first_time<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool>;

    /// Forgets `key`, so the next delivery of that push is handled (its
    /// handler failed, and WeChat is asked to retry).
    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;

    /// Records that the signed `nonce` (with its timestamp) came with a body
    /// of this `digest`, for `keep`; true when the nonce is new or was seen
    /// with the same digest (a retry of the same bytes), false when it was
    /// seen with another body.
    fn nonce<'a>(
        &'a self,
        nonce: &'a str,
        digest: &'a str,
        keep: Duration,
    ) -> StoreFuture<'a, bool>;
}

/// In-memory deduplication and nonce memory: keys are kept for a while
/// (WeChat retries within seconds), at most `capacity` of each.
#[derive(Debug)]
pub struct MemoryDedupe {
    seen: Mutex<Expiring<()>>,
    nonces: Mutex<Expiring<String>>,
    keep: Duration,
}

impl MemoryDedupe {
    /// Keeps each push key for `keep`, at most `capacity` keys (and as many
    /// nonces, each for its own window).
    pub fn new(keep: Duration, capacity: usize) -> Self {
        MemoryDedupe {
            seen: Mutex::new(Expiring::new(capacity)),
            nonces: Mutex::new(Expiring::new(capacity)),
            keep,
        }
    }
}

impl Default for MemoryDedupe {
    /// Ten minutes, 100,000 keys.
    fn default() -> Self {
        MemoryDedupe::new(Duration::from_secs(600), 100_000)
    }
}

impl Dedupe for MemoryDedupe {
    fn first_time<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let first = seen.get(key).is_none();
        if first {
            seen.insert(key, (), self.keep);
        }
        Box::pin(std::future::ready(Ok(first)))
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.remove(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn nonce<'a>(
        &'a self,
        nonce: &'a str,
        digest: &'a str,
        keep: Duration,
    ) -> StoreFuture<'a, bool> {
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        let fits = match nonces.get(nonce) {
            Some(seen) => seen == digest,
            None => {
                nonces.insert(nonce, digest.to_owned(), keep);
                true
            }
        };
        Box::pin(std::future::ready(Ok(fits)))
    }
}

/// A map whose entries expire, bounded: when full of live entries, the
/// oldest is forgotten. Entries are also queued in insertion order, so
/// making room costs O(1) amortised rather than a scan of the map.
#[derive(Debug)]
struct Expiring<V> {
    entries: HashMap<String, (V, Instant)>,
    order: VecDeque<(String, Instant)>,
    capacity: usize,
}

impl<V> Expiring<V> {
    fn new(capacity: usize) -> Self {
        Expiring {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .get(key)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(v, _)| v)
    }

    fn insert(&mut self, key: &str, value: V, keep: Duration) {
        let now = Instant::now();
        // Forget what expired, then the oldest while full. A queued key
        // whose entry was replaced or removed since is skipped.
        while let Some((oldest, until)) = self.order.front() {
            let current = self.entries.get(oldest).map(|(_, u)| *u) == Some(*until);
            if current && *until > now && self.entries.len() < self.capacity {
                break;
            }
            if current {
                self.entries.remove(oldest);
            }
            self.order.pop_front();
        }
        let until = now + keep;
        self.entries.insert(key.to_owned(), (value, until));
        self.order.push_back((key.to_owned(), until));
        if self.order.len() > 2 * self.capacity {
            // Releases and replacements left stale queue entries: rebuild.
            let entries = &self.entries;
            self.order
                .retain(|(k, u)| entries.get(k).map(|(_, at)| *at) == Some(*u));
        }
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now<T>(future: StoreFuture<'_, T>) -> T {
        // Memory futures are ready at once.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut future = future;
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result.unwrap(),
            std::task::Poll::Pending => panic!("a memory store future is pending"),
        }
    }

    #[test]
    fn keys_are_first_once_until_released() {
        let d = MemoryDedupe::default();
        assert!(now(d.first_time("k")));
        assert!(!now(d.first_time("k")));
        now(d.release("k"));
        assert!(now(d.first_time("k")));
    }

    #[test]
    fn a_nonce_fits_its_own_body_only() {
        let d = MemoryDedupe::default();
        let keep = Duration::from_secs(60);
        assert!(now(d.nonce("1:n", "aa", keep)));
        assert!(now(d.nonce("1:n", "aa", keep)));
        assert!(!now(d.nonce("1:n", "bb", keep)));
        assert!(now(d.nonce("2:n", "bb", keep)));
    }

    #[test]
    fn capacity_bounds_memory() {
        let d = MemoryDedupe::new(Duration::from_secs(60), 2);
        for k in ["a", "b", "c"] {
            assert!(now(d.first_time(k)));
        }
        assert_eq!(d.seen.lock().unwrap().entries.len(), 2);
        // The newest are kept.
        assert!(!now(d.first_time("c")));
    }

    #[test]
    fn the_queue_stays_bounded_under_releases() {
        let d = MemoryDedupe::new(Duration::from_secs(60), 100);
        for i in 0..10_000 {
            let key = format!("k{}", i % 150);
            now(d.first_time(&key));
            now(d.release(&key));
        }
        let seen = d.seen.lock().unwrap();
        assert!(seen.entries.len() <= 100);
        assert!(seen.order.len() <= 200, "{}", seen.order.len());
    }
}
